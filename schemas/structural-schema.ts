/**
 * The OpenAPI v3 schemas of CustomResourceDefinitions (`JSONSchemaProps`) as kube-apiserver uses
 * them: the structural rules a CRD's schema must follow (apiextensions-apiserver's
 * `ValidateStructural`, with its words), and what a custom resource goes through against its
 * version's schema — unknown fields pruned, defaults applied, values validated with the wording of
 * kube-openapi's validator (`spec.replicas in body must be of type integer: "string"`).
 */
import { child, type FieldCause, forbidden, index, invalid, key, renderValue, required } from './field-errors.ts';

/** The subset of OpenAPI v3 that CustomResourceDefinitions use. */
export interface JsonSchemaProps {
  readonly type?: string;
  readonly format?: string;
  readonly description?: string;
  readonly title?: string;
  readonly default?: unknown;
  readonly nullable?: boolean;
  readonly enum?: readonly unknown[];
  readonly pattern?: string;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly exclusiveMinimum?: boolean;
  readonly exclusiveMaximum?: boolean;
  readonly multipleOf?: number;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly uniqueItems?: boolean;
  readonly minProperties?: number;
  readonly maxProperties?: number;
  readonly required?: readonly string[];
  readonly properties?: Readonly<Record<string, JsonSchemaProps>>;
  readonly additionalProperties?: JsonSchemaProps | boolean;
  readonly items?: JsonSchemaProps;
  readonly allOf?: readonly JsonSchemaProps[];
  readonly anyOf?: readonly JsonSchemaProps[];
  readonly oneOf?: readonly JsonSchemaProps[];
  readonly not?: JsonSchemaProps;
  readonly $ref?: string;
  readonly 'x-kubernetes-preserve-unknown-fields'?: boolean;
  readonly 'x-kubernetes-int-or-string'?: boolean;
  readonly 'x-kubernetes-embedded-resource'?: boolean;
  readonly 'x-kubernetes-list-type'?: string;
  readonly 'x-kubernetes-list-map-keys'?: readonly string[];
  readonly 'x-kubernetes-map-type'?: string;
}

type Level = 'root' | 'item' | 'field';

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function propertiesOf(schema: JsonSchemaProps): Readonly<Record<string, JsonSchemaProps>> {
  return isObject(schema.properties) ? (schema.properties as Record<string, JsonSchemaProps>) : {};
}

function additionalSchema(schema: JsonSchemaProps): JsonSchemaProps | undefined {
  return isObject(schema.additionalProperties) ? (schema.additionalProperties as JsonSchemaProps) : undefined;
}

function sortedCauses(causes: FieldCause[]): FieldCause[] {
  const text = (cause: FieldCause) => `${cause.field}: ${cause.message}`;
  return causes.sort((a, b) => (text(a) < text(b) ? -1 : text(a) > text(b) ? 1 : 0));
}

// --- the CRD's schema: structural rules ------------------------------------------------------

/**
 * Why a CRD's `openAPIV3Schema` is refused, as kube-apiserver words it: the OpenAPI checks of
 * `ValidateCustomResourceDefinitionOpenAPISchema` and the structural rules of `ValidateStructural`.
 */
export function validateCrdSchema(schema: JsonSchemaProps, path: string): FieldCause[] {
  return [...openApiRules(schema, path), ...sortedCauses(structuralRules(schema, 'root', path))];
}

function openApiRules(schema: JsonSchemaProps, path: string): FieldCause[] {
  const causes: FieldCause[] = [];
  if (schema.$ref !== undefined) causes.push(forbidden(child(path, '$ref'), '$ref is not supported'));
  if (schema.uniqueItems === true)
    causes.push(forbidden(child(path, 'uniqueItems'), 'uniqueItems cannot be set to true since the runtime complexity becomes quadratic'));
  const properties = propertiesOf(schema);
  if (
    schema.additionalProperties !== undefined &&
    Object.keys(properties).length > 0 &&
    (schema.additionalProperties === false || isObject(schema.additionalProperties))
  ) {
    causes.push(forbidden(child(path, 'additionalProperties'), 'additionalProperties and properties are mutual exclusive'));
  }
  const additional = additionalSchema(schema);
  if (additional) causes.push(...openApiRules(additional, child(path, 'additionalProperties')));
  for (const [name, property] of Object.entries(properties)) causes.push(...openApiRules(property, key(child(path, 'properties'), name)));
  if (isObject(schema.items)) causes.push(...openApiRules(schema.items, child(path, 'items')));
  for (const junctor of ['allOf', 'anyOf', 'oneOf'] as const) {
    (schema[junctor] ?? []).forEach((nested, i) => {
      causes.push(...openApiRules(nested, index(child(path, junctor), i)));
    });
  }
  if (schema.not) causes.push(...openApiRules(schema.not, child(path, 'not')));
  if (schema['x-kubernetes-int-or-string'] && schema.type) {
    causes.push(invalid(child(path, 'type'), schema.type, 'must be empty if x-kubernetes-int-or-string is true'));
  }
  if (schema.pattern !== undefined) {
    try {
      new RegExp(schema.pattern, 'u');
    } catch (error) {
      causes.push(invalid(child(path, 'pattern'), schema.pattern, `must be a valid regular expression, but isn't: ${(error as Error).message}`));
    }
  }
  if (schema.default !== undefined && path.endsWith('properties[metadata]')) {
    causes.push(forbidden(child(path, 'default'), 'must not be set for metadata'));
  }
  return causes;
}

function structuralRules(schema: JsonSchemaProps, level: Level, path: string): FieldCause[] {
  const causes: FieldCause[] = [];
  const type = schema.type ?? '';
  if (type === 'array' && !isObject(schema.items)) causes.push(required(child(path, 'items'), 'must be specified'));
  if (isObject(schema.items)) causes.push(...structuralRules(schema.items, 'item', child(path, 'items')));
  const properties = propertiesOf(schema);
  for (const [name, property] of Object.entries(properties)) causes.push(...structuralRules(property, 'field', key(child(path, 'properties'), name)));
  const additional = additionalSchema(schema);
  if (schema.additionalProperties !== undefined) {
    if (level === 'root') causes.push(forbidden(child(path, 'additionalProperties'), 'must not be used at the root'));
    if (additional) causes.push(...structuralRules(additional, 'field', child(path, 'additionalProperties')));
  }
  const intOrString = schema['x-kubernetes-int-or-string'] === true;
  const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
  const embedded = schema['x-kubernetes-embedded-resource'] === true;
  if (intOrString && preserve)
    causes.push(invalid(child(path, 'x-kubernetes-preserve-unknown-fields'), true, 'must be false if x-kubernetes-int-or-string is true'));
  if (intOrString && embedded) causes.push(invalid(child(path, 'x-kubernetes-embedded-resource'), true, 'must be false if x-kubernetes-int-or-string is true'));
  const skipAnyOf = intOrString && isIntOrStringAnyOf(schema.anyOf);
  const skipFirstAllOfAnyOf = intOrString && isIntOrStringAnyOf(schema.allOf?.[0]?.anyOf);
  causes.push(...valueValidationRules(schema, skipAnyOf, skipFirstAllOfAnyOf, path));
  if (embedded && type !== 'object') {
    causes.push(
      type === ''
        ? required(child(path, 'type'), 'must be object if x-kubernetes-embedded-resource is true')
        : invalid(child(path, 'type'), type, 'must be object if x-kubernetes-embedded-resource is true'),
    );
  } else if (type === '' && !intOrString && !preserve) {
    const detail =
      level === 'root'
        ? 'must not be empty at the root'
        : level === 'item'
          ? 'must not be empty for specified array items'
          : 'must not be empty for specified object fields';
    causes.push(required(child(path, 'type'), detail));
  }
  if (embedded && schema.additionalProperties !== undefined) {
    causes.push(forbidden(child(path, 'additionalProperties'), 'must not be used if x-kubernetes-embedded-resource is set'));
  }
  if (level === 'root' && type !== '' && type !== 'object') causes.push(invalid(child(path, 'type'), type, 'must be object at the root'));
  const checkMetadata = level === 'root' || embedded;
  if (checkMetadata) {
    const kind = properties.kind;
    if (kind && kind.type !== 'string') causes.push(invalid(child(key(child(path, 'properties'), 'kind'), 'type'), kind.type ?? '', 'must be string'));
    const apiVersion = properties.apiVersion;
    if (apiVersion && apiVersion.type !== 'string') {
      causes.push(invalid(child(key(child(path, 'properties'), 'apiVersion'), 'type'), apiVersion.type ?? '', 'must be string'));
    }
    const metadata = properties.metadata;
    if (metadata && metadata.type !== 'object')
      causes.push(invalid(child(key(child(path, 'properties'), 'metadata'), 'type'), metadata.type ?? '', 'must be object'));
  }
  const metadata = properties.metadata;
  if (metadata && level === 'root' && !onlyNameRestrictions(metadata)) {
    causes.push(
      forbidden(key(child(path, 'properties'), 'metadata'), 'must not specify anything other than name and generateName, but metadata is implicitly specified'),
    );
  }
  if (embedded && !preserve && Object.keys(properties).length === 0) {
    causes.push(
      required(child(path, 'properties'), 'must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields'),
    );
  }
  return causes;
}

/** Root metadata may say it is an object and restrict `name` and `generateName`, nothing else. */
function onlyNameRestrictions(metadata: JsonSchemaProps): boolean {
  const { type: _type, default: _default, properties, ...rest } = metadata;
  const names = Object.keys(properties ?? {});
  if (names.some((name) => name !== 'name' && name !== 'generateName')) return false;
  return Object.keys(rest).length === 0;
}

function isIntOrStringAnyOf(anyOf: readonly JsonSchemaProps[] | undefined): boolean {
  return (
    anyOf?.length === 2 &&
    anyOf[0]?.type === 'integer' &&
    anyOf[1]?.type === 'string' &&
    Object.keys(anyOf[0]).length === 1 &&
    Object.keys(anyOf[1]).length === 1
  );
}

function valueValidationRules(schema: JsonSchemaProps, skipAnyOf: boolean, skipFirstAllOfAnyOf: boolean, path: string): FieldCause[] {
  const causes: FieldCause[] = [];
  if (!skipAnyOf)
    (schema.anyOf ?? []).forEach((nested, i) => {
      causes.push(...nestedRules(nested, false, index(child(path, 'anyOf'), i)));
    });
  (schema.allOf ?? []).forEach((nested, i) => {
    causes.push(...nestedRules(nested, skipFirstAllOfAnyOf && i === 0, index(child(path, 'allOf'), i)));
  });
  (schema.oneOf ?? []).forEach((nested, i) => {
    causes.push(...nestedRules(nested, false, index(child(path, 'oneOf'), i)));
  });
  if (schema.not) causes.push(...nestedRules(schema.not, false, child(path, 'not')));
  return causes;
}

/** Under allOf/anyOf/oneOf/not a schema may only constrain values, never declare their shape. */
function nestedRules(schema: JsonSchemaProps, skipAnyOf: boolean, path: string): FieldCause[] {
  const causes = valueValidationRules(schema, skipAnyOf, false, path);
  if (isObject(schema.items)) causes.push(...nestedRules(schema.items, false, child(path, 'items')));
  for (const [name, property] of Object.entries(propertiesOf(schema))) causes.push(...nestedRules(property, false, key(child(path, 'properties'), name)));
  if (schema.type) causes.push(forbidden(child(path, 'type'), 'must be empty to be structural'));
  if (schema.additionalProperties !== undefined) causes.push(forbidden(child(path, 'additionalProperties'), 'must be undefined to be structural'));
  if (schema.default !== undefined) causes.push(forbidden(child(path, 'default'), 'must be undefined to be structural'));
  if (schema.title) causes.push(forbidden(child(path, 'title'), 'must be empty to be structural'));
  if (schema.description) causes.push(forbidden(child(path, 'description'), 'must be empty to be structural'));
  if (schema.nullable) causes.push(forbidden(child(path, 'nullable'), 'must be false to be structural'));
  if (schema['x-kubernetes-preserve-unknown-fields'])
    causes.push(forbidden(child(path, 'x-kubernetes-preserve-unknown-fields'), 'must be false to be structural'));
  if (schema['x-kubernetes-embedded-resource']) causes.push(forbidden(child(path, 'x-kubernetes-embedded-resource'), 'must be false to be structural'));
  if (schema['x-kubernetes-int-or-string']) causes.push(forbidden(child(path, 'x-kubernetes-int-or-string'), 'must be false to be structural'));
  if ((schema['x-kubernetes-list-map-keys'] ?? []).length > 0)
    causes.push(forbidden(child(path, 'x-kubernetes-list-map-keys'), 'must be empty to be structural'));
  if (schema['x-kubernetes-list-type'] !== undefined) causes.push(forbidden(child(path, 'x-kubernetes-list-type'), 'must be undefined to be structural'));
  if (propertiesOf(schema).metadata) causes.push(forbidden(key(child(path, 'properties'), 'metadata'), 'must not be specified in a nested context'));
  return causes;
}

// --- custom resources: pruning, defaulting, validation ---------------------------------------------

/** The fields of the object a custom resource always keeps, whatever its schema says. */
const typeMetaFields = new Set(['apiVersion', 'kind', 'metadata']);

function joinPath(path: string, name: string): string {
  return path ? `${path}.${name}` : name;
}

/**
 * Drops every field the schema does not declare (kube-apiserver's pruning), keeping
 * `x-kubernetes-preserve-unknown-fields` subtrees and the type and object metadata of the root
 * and of embedded resources. Returns the pruned object and the paths of what was dropped, for
 * `fieldValidation` (warnings, or a 400 with Strict).
 */
export function prune(schema: JsonSchemaProps | undefined, value: unknown): { value: unknown; pruned: string[] } {
  const pruned: string[] = [];
  const result = pruneValue(schema, value, '', true, pruned);
  return { value: result, pruned };
}

function pruneValue(schema: JsonSchemaProps | undefined, value: unknown, path: string, isRoot: boolean, pruned: string[]): unknown {
  if (!schema) return value;
  if (Array.isArray(value)) {
    return isObject(schema.items) ? value.map((item, i) => pruneValue(schema.items, item, `${path}[${i}]`, false, pruned)) : value;
  }
  if (!isObject(value)) return value;
  const properties = propertiesOf(schema);
  const additional = additionalSchema(schema);
  const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
  const keepsTypeMeta = isRoot || schema['x-kubernetes-embedded-resource'] === true;
  const out: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(value)) {
    const fieldPath = joinPath(path, name);
    if (keepsTypeMeta && typeMetaFields.has(name)) {
      out[name] = field;
    } else if (Object.hasOwn(properties, name)) {
      out[name] = pruneValue(properties[name], field, fieldPath, false, pruned);
    } else if (additional) {
      out[name] = pruneValue(additional, field, fieldPath, false, pruned);
    } else if (preserve || schema.additionalProperties === true) {
      out[name] = field;
    } else {
      pruned.push(fieldPath);
    }
  }
  return out;
}

function clone<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

/** Applies the schema's `default`s where a field is absent (or null and not nullable), top down. */
export function applyDefaults(schema: JsonSchemaProps | undefined, value: unknown): unknown {
  if (!schema) return value;
  if (Array.isArray(value)) return isObject(schema.items) ? value.map((item) => applyDefaults(schema.items, item)) : value;
  if (!isObject(value)) return value;
  const properties = propertiesOf(schema);
  const additional = additionalSchema(schema);
  const out: Record<string, unknown> = { ...value };
  for (const [name, property] of Object.entries(properties)) {
    const absent = !Object.hasOwn(out, name) || (out[name] === null && !property.nullable);
    if (absent && property.default !== undefined) out[name] = clone(property.default);
    if (Object.hasOwn(out, name)) out[name] = applyDefaults(property, out[name]);
  }
  if (additional) {
    for (const name of Object.keys(out)) if (!Object.hasOwn(properties, name)) out[name] = applyDefaults(additional, out[name]);
  }
  return out;
}

function jsonTypeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function typeMatches(type: string, value: unknown): boolean {
  switch (type) {
    case 'object':
      return isObject(value);
    case 'array':
      return Array.isArray(value);
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'number':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    default:
      return true;
  }
}

function inBody(path: string): string {
  return `${path || '<nil>'} in body`;
}

/**
 * Validates a (pruned and defaulted) custom resource against its version's schema, one cause per
 * failing value, worded as kube-apiserver words them. `metadata` is the API server's to check.
 */
export function validateValue(schema: JsonSchemaProps | undefined, value: unknown, path = ''): FieldCause[] {
  if (!schema) return [];
  const causes: FieldCause[] = [];
  if (value === null) {
    if (schema.nullable || (schema['x-kubernetes-preserve-unknown-fields'] && !schema.type)) return [];
    if (schema.type) return [typeInvalid(path, value, schema.type)];
    return [];
  }
  if (schema['x-kubernetes-int-or-string']) {
    if (!(typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value)))) {
      return [typeInvalid(path, value, 'integer,string')];
    }
  } else if (schema.type && !typeMatches(schema.type, value)) {
    return [typeInvalid(path, value, schema.type)];
  }
  if (schema.enum && !schema.enum.some((option) => JSON.stringify(option) === JSON.stringify(value))) {
    causes.push({
      field: path,
      reason: 'FieldValueNotSupported',
      message: `Unsupported value: ${renderValue(value)}: supported values: ${schema.enum.map((option) => renderValue(option)).join(', ')}`,
    });
  }
  if (typeof value === 'string') causes.push(...stringRules(schema, value, path));
  if (typeof value === 'number') causes.push(...numberRules(schema, value, path));
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) {
      causes.push(invalid(path, value.length, `${inBody(path)} should have at least ${schema.minItems} items`));
    }
    if (schema.maxItems !== undefined && value.length > schema.maxItems) {
      causes.push({ field: path, reason: 'FieldValueTooMany', message: `Too many: ${value.length}: must have at most ${schema.maxItems} items` });
    }
    if (isObject(schema.items))
      value.forEach((item, i) => {
        causes.push(...validateValue(schema.items, item, `${path}[${i}]`));
      });
  }
  if (isObject(value)) causes.push(...objectRules(schema, value, path));
  causes.push(...junctorRules(schema, value, path));
  return causes;
}

function typeInvalid(path: string, value: unknown, type: string): FieldCause {
  return {
    field: path,
    reason: 'FieldValueTypeInvalid',
    message: `Invalid value: ${JSON.stringify(jsonTypeOf(value))}: ${inBody(path)} must be of type ${type}: ${JSON.stringify(jsonTypeOf(value))}`,
  };
}

function stringRules(schema: JsonSchemaProps, value: string, path: string): FieldCause[] {
  const causes: FieldCause[] = [];
  const length = [...value].length;
  if (schema.minLength !== undefined && length < schema.minLength) {
    causes.push(invalid(path, value, `${inBody(path)} should be at least ${schema.minLength} chars long`));
  }
  if (schema.maxLength !== undefined && length > schema.maxLength) {
    causes.push({ field: path, reason: 'FieldValueTooLong', message: `Too long: may not be more than ${schema.maxLength} bytes` });
  }
  if (schema.pattern !== undefined) {
    let matches = true;
    try {
      matches = new RegExp(schema.pattern, 'u').test(value);
    } catch {
      matches = true;
    }
    if (!matches) causes.push(invalid(path, value, `${inBody(path)} should match '${schema.pattern}'`));
  }
  if (schema.format === 'date-time' && Number.isNaN(Date.parse(value))) {
    causes.push(invalid(path, value, `${inBody(path)} must be of type date-time: ${JSON.stringify(value)}`));
  }
  return causes;
}

function numberRules(schema: JsonSchemaProps, value: number, path: string): FieldCause[] {
  const causes: FieldCause[] = [];
  if (schema.minimum !== undefined) {
    if (schema.exclusiveMinimum ? value <= schema.minimum : value < schema.minimum) {
      causes.push(invalid(path, value, `${inBody(path)} should be greater than ${schema.exclusiveMinimum ? '' : 'or equal to '}${schema.minimum}`));
    }
  }
  if (schema.maximum !== undefined) {
    if (schema.exclusiveMaximum ? value >= schema.maximum : value > schema.maximum) {
      causes.push(invalid(path, value, `${inBody(path)} should be less than ${schema.exclusiveMaximum ? '' : 'or equal to '}${schema.maximum}`));
    }
  }
  if (schema.multipleOf !== undefined && schema.multipleOf > 0 && !Number.isInteger(value / schema.multipleOf)) {
    causes.push(invalid(path, value, `${inBody(path)} should be a multiple of ${schema.multipleOf}`));
  }
  return causes;
}

function objectRules(schema: JsonSchemaProps, value: Record<string, unknown>, path: string): FieldCause[] {
  const causes: FieldCause[] = [];
  const count = Object.keys(value).length;
  if (schema.minProperties !== undefined && count < schema.minProperties) {
    causes.push(invalid(path, count, `${inBody(path)} should have at least ${schema.minProperties} properties`));
  }
  if (schema.maxProperties !== undefined && count > schema.maxProperties) {
    causes.push({ field: path, reason: 'FieldValueTooMany', message: `Too many: ${count}: must have at most ${schema.maxProperties} items` });
  }
  for (const name of schema.required ?? []) {
    if (!Object.hasOwn(value, name) || value[name] === undefined) causes.push(required(joinPath(path, name)));
  }
  const properties = propertiesOf(schema);
  const additional = additionalSchema(schema);
  const embedded = schema['x-kubernetes-embedded-resource'] === true;
  for (const [name, field] of Object.entries(value)) {
    if (path === '' && typeMetaFields.has(name)) continue;
    if (embedded && (name === 'apiVersion' || name === 'kind' || name === 'metadata')) continue;
    if (Object.hasOwn(properties, name)) causes.push(...validateValue(properties[name], field, joinPath(path, name)));
    else if (additional) causes.push(...validateValue(additional, field, joinPath(path, name)));
  }
  if (embedded) {
    if (typeof value.kind !== 'string' || value.kind === '') causes.push(required(joinPath(path, 'kind'), 'must not be empty'));
    if (typeof value.apiVersion !== 'string' || value.apiVersion === '') causes.push(required(joinPath(path, 'apiVersion'), 'must not be empty'));
  }
  return causes;
}

function junctorRules(schema: JsonSchemaProps, value: unknown, path: string): FieldCause[] {
  const causes: FieldCause[] = [];
  for (const nested of schema.allOf ?? []) causes.push(...validateValue(nested, value, path));
  if (schema.anyOf && schema.anyOf.length > 0 && !schema['x-kubernetes-int-or-string']) {
    if (!schema.anyOf.some((nested) => validateValue(nested, value, path).length === 0)) {
      causes.push(invalid(path, value, `${inBody(path)} must validate at least one schema (anyOf)`));
    }
  }
  if (schema.oneOf && schema.oneOf.length > 0) {
    const passing = schema.oneOf.filter((nested) => validateValue(nested, value, path).length === 0).length;
    if (passing !== 1) causes.push(invalid(path, value, `${inBody(path)} must validate one and only one schema (oneOf)`));
  }
  if (schema.not && validateValue(schema.not, value, path).length === 0) {
    causes.push(invalid(path, value, `${inBody(path)} must not validate the schema (not)`));
  }
  return causes;
}

/** Whether the schema at `path` (dotted, from the root) keeps fields it does not declare. */
export function schemaAt(schema: JsonSchemaProps | undefined, path: readonly string[]): JsonSchemaProps | undefined {
  let current = schema;
  for (const name of path) {
    if (!current) return undefined;
    current = propertiesOf(current)[name] ?? additionalSchema(current);
  }
  return current;
}

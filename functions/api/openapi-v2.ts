/**
 * `GET /openapi/v2`: the Swagger 2.0 document kubectl 1.27 and 1.28 read for `apply` (patch
 * merge keys, whether the server validates fields) and `kubectl explain`, made from the v3
 * documents (themselves generated from the zod schemas) so both say the same. kubectl asks for
 * it only as protobuf (gnostic's `openapi.v2.Document`); other clients get JSON.
 *
 * kubectl parses every definition and fails on one it cannot read, so the conversion keeps to
 * what its parser knows: a `$ref` stands alone (with its description) rather than in `allOf`,
 * an object without properties or a schema for its values and an array without items become
 * arbitrary values, and what Swagger 2.0 lacks (`anyOf`, `oneOf`, `nullable`) is left out.
 */
import protobuf from 'protobufjs';
import { openApiGroupVersions } from './openapi.ts';
import { openApiV2Proto } from './protobuf/schema/openapi-v2-proto.ts';

type Json = Record<string, unknown>;

/** The media type of the answer: kube-openapi's, without the '@' (Go's mime parser refuses it in a Content-Type). */
export const OPENAPI_V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';
/** What kubectl puts in Accept: both spellings are asked for the protobuf document. */
const acceptedProtobufTypes = new Set([OPENAPI_V2_PROTOBUF, 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf']);

const v3Prefix = '#/components/schemas/';
const v2Prefix = '#/definitions/';

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Keywords Swagger 2.0 schemas share with OpenAPI 3.0 and gnostic's Schema carries. */
const keptKeywords = new Set([
  'format',
  'title',
  'description',
  'default',
  'multipleOf',
  'maximum',
  'exclusiveMaximum',
  'minimum',
  'exclusiveMinimum',
  'maxLength',
  'minLength',
  'pattern',
  'maxItems',
  'minItems',
  'uniqueItems',
  'maxProperties',
  'minProperties',
  'required',
  'enum',
  'readOnly',
  'example',
]);

/** One schema of a v3 document as a Swagger 2.0 schema kubectl's parser reads. */
export function toV2Schema(schema: unknown): Json {
  if (!isObject(schema)) return {};
  const out: Json = {};
  for (const [key, value] of Object.entries(schema)) {
    if (keptKeywords.has(key) || key.startsWith('x-')) out[key] = value;
  }
  const allOf = Array.isArray(schema.allOf) ? schema.allOf : [];
  const only = allOf.length === 1 && isObject(allOf[0]) ? allOf[0] : undefined;
  const reference = typeof schema.$ref === 'string' ? schema.$ref : typeof only?.$ref === 'string' ? only.$ref : undefined;
  if (reference) {
    // Only a description and extensions (a patch strategy) stand beside a reference, as in Kubernetes' document.
    const beside = Object.entries(out).filter(([key]) => key === 'description' || key.startsWith('x-'));
    return { $ref: reference.replace(v3Prefix, v2Prefix), ...Object.fromEntries(beside) };
  }
  const types = (Array.isArray(schema.type) ? schema.type : [schema.type]).filter((t): t is string => typeof t === 'string' && t !== 'null');
  const type = types.length === 1 ? types[0] : undefined;
  if (type === 'object') {
    const properties = isObject(schema.properties) ? schema.properties : undefined;
    const values = isObject(schema.additionalProperties) ? schema.additionalProperties : undefined;
    if (properties && Object.keys(properties).length > 0) {
      out.type = 'object';
      out.properties = Object.fromEntries(Object.entries(properties).map(([name, property]) => [name, toV2Schema(property)]));
    } else if (values) {
      out.type = 'object';
      out.additionalProperties = toV2Schema(values);
    }
    // Neither: any object, which kubectl reads from a schema without a type.
  } else if (type === 'array') {
    if (isObject(schema.items)) {
      out.type = 'array';
      out.items = toV2Schema(schema.items);
    }
  } else if (type) {
    out.type = type;
  }
  if (Array.isArray(out.required) && out.properties === undefined) delete out.required;
  return out;
}

function queryOrPathParameter(parameter: Json): Json {
  const schema = isObject(parameter.schema) ? parameter.schema : {};
  return {
    name: parameter.name,
    in: parameter.in,
    ...(parameter.description ? { description: parameter.description } : {}),
    ...(parameter.required ? { required: true } : {}),
    type: typeof schema.type === 'string' ? schema.type : 'string',
    ...(schema.uniqueItems ? { uniqueItems: true } : {}),
  };
}

function mediaTypesOf(content: unknown): string[] {
  return isObject(content) ? Object.keys(content) : [];
}

function firstSchemaOf(content: unknown): Json | undefined {
  if (!isObject(content)) return undefined;
  const first = Object.values(content)[0];
  return isObject(first) && isObject(first.schema) ? toV2Schema(first.schema) : undefined;
}

function toV2Operation(operation: Json): Json {
  const body = isObject(operation.requestBody) ? operation.requestBody : undefined;
  const bodySchema = body ? firstSchemaOf(body.content) : undefined;
  const responses = isObject(operation.responses) ? operation.responses : {};
  const produces = [...new Set(Object.values(responses).flatMap((response) => (isObject(response) ? mediaTypesOf(response.content) : [])))];
  return {
    ...(Array.isArray(operation.tags) ? { tags: operation.tags } : {}),
    ...(operation.description ? { description: operation.description } : {}),
    ...(operation.operationId ? { operationId: operation.operationId } : {}),
    ...(body ? { consumes: mediaTypesOf(body.content) } : {}),
    ...(produces.length > 0 ? { produces } : {}),
    parameters: [
      ...(bodySchema ? [{ name: 'body', in: 'body', required: body?.required === true, schema: bodySchema }] : []),
      ...(Array.isArray(operation.parameters) ? operation.parameters.filter(isObject).map(queryOrPathParameter) : []),
    ],
    responses: Object.fromEntries(
      Object.entries(responses).map(([code, response]) => {
        const schema = isObject(response) ? firstSchemaOf(response.content) : undefined;
        return [code, { description: isObject(response) ? (response.description ?? '') : '', ...(schema ? { schema } : {}) }];
      }),
    ),
    schemes: ['https'],
    ...Object.fromEntries(Object.entries(operation).filter(([key]) => key.startsWith('x-'))),
  };
}

const methods = ['get', 'put', 'post', 'delete', 'patch'] as const;

function buildDocument(): Json {
  const paths: Record<string, Json> = {};
  const definitions: Record<string, Json> = {};
  for (const document of openApiGroupVersions().values()) {
    const v3 = document as { paths: Record<string, Json>; components: { schemas: Record<string, unknown> } };
    for (const [path, item] of Object.entries(v3.paths)) {
      paths[path] = {
        ...Object.fromEntries(methods.filter((method) => isObject(item[method])).map((method) => [method, toV2Operation(item[method] as Json)])),
        ...(Array.isArray(item.parameters) ? { parameters: item.parameters.filter(isObject).map(queryOrPathParameter) } : {}),
      };
    }
    for (const [id, schema] of Object.entries(v3.components.schemas)) definitions[id] ??= toV2Schema(schema);
  }
  const sorted = <T>(record: Record<string, T>) => Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : 1)));
  return {
    swagger: '2.0',
    info: { title: 'Kubernetes', version: 'unversioned' },
    paths: sorted(paths),
    definitions: sorted(definitions),
  };
}

// ---- protobuf ---------------------------------------------------------------------------------

function any(value: unknown): Json {
  return { yaml: `${JSON.stringify(value)}\n` };
}

function extensions(value: Json): Json[] {
  return Object.entries(value)
    .filter(([key]) => key.startsWith('x-'))
    .map(([name, extension]) => ({ name, value: any(extension) }));
}

function schemaMessage(schema: Json): Json {
  const message: Json = {};
  if (typeof schema.$ref === 'string') message._ref = schema.$ref;
  for (const [key, field] of [
    ['format', 'format'],
    ['title', 'title'],
    ['description', 'description'],
    ['pattern', 'pattern'],
  ] as const) {
    if (typeof schema[key] === 'string') message[field] = schema[key];
  }
  for (const [key, field] of [
    ['multipleOf', 'multiple_of'],
    ['maximum', 'maximum'],
    ['minimum', 'minimum'],
    ['maxLength', 'max_length'],
    ['minLength', 'min_length'],
    ['maxItems', 'max_items'],
    ['minItems', 'min_items'],
    ['maxProperties', 'max_properties'],
    ['minProperties', 'min_properties'],
  ] as const) {
    if (typeof schema[key] === 'number') message[field] = schema[key];
  }
  for (const [key, field] of [
    ['exclusiveMaximum', 'exclusive_maximum'],
    ['exclusiveMinimum', 'exclusive_minimum'],
    ['uniqueItems', 'unique_items'],
    ['readOnly', 'read_only'],
  ] as const) {
    if (schema[key] === true) message[field] = true;
  }
  if (schema.default !== undefined) message.default = any(schema.default);
  if (schema.example !== undefined) message.example = any(schema.example);
  if (Array.isArray(schema.enum)) message.enum = schema.enum.map(any);
  if (Array.isArray(schema.required)) message.required = schema.required;
  if (typeof schema.type === 'string') message.type = { value: [schema.type] };
  if (isObject(schema.items)) message.items = { schema: [schemaMessage(schema.items)] };
  if (isObject(schema.additionalProperties)) message.additional_properties = { schema: schemaMessage(schema.additionalProperties) };
  if (isObject(schema.properties)) {
    message.properties = {
      additional_properties: Object.entries(schema.properties).map(([name, property]) => ({ name, value: schemaMessage(property as Json) })),
    };
  }
  const vendor = extensions(schema);
  if (vendor.length > 0) message.vendor_extension = vendor;
  return message;
}

function parameterMessage(parameter: Json): Json {
  if (parameter.in === 'body') {
    return {
      parameter: {
        body_parameter: {
          name: parameter.name,
          in: 'body',
          required: parameter.required === true,
          schema: schemaMessage(parameter.schema as Json),
        },
      },
    };
  }
  const common = {
    name: parameter.name,
    in: parameter.in,
    ...(parameter.description ? { description: parameter.description } : {}),
    ...(parameter.required ? { required: true } : {}),
    type: parameter.type,
    ...(parameter.uniqueItems ? { unique_items: true } : {}),
  };
  return {
    parameter: { non_body_parameter: parameter.in === 'path' ? { path_parameter_sub_schema: common } : { query_parameter_sub_schema: common } },
  };
}

function operationMessage(operation: Json): Json {
  const responses = operation.responses as Record<string, Json>;
  return {
    tags: operation.tags ?? [],
    ...(operation.description ? { description: operation.description } : {}),
    ...(operation.operationId ? { operation_id: operation.operationId } : {}),
    consumes: operation.consumes ?? [],
    produces: operation.produces ?? [],
    parameters: (operation.parameters as Json[]).map(parameterMessage),
    responses: {
      response_code: Object.entries(responses).map(([name, response]) => ({
        name,
        value: {
          response: {
            description: response.description ?? '',
            ...(isObject(response.schema) ? { schema: { schema: schemaMessage(response.schema) } } : {}),
          },
        },
      })),
    },
    schemes: operation.schemes ?? [],
    vendor_extension: extensions(operation),
  };
}

function documentMessage(document: Json): Json {
  const paths = document.paths as Record<string, Json>;
  const definitions = document.definitions as Record<string, Json>;
  return {
    swagger: document.swagger,
    info: document.info,
    paths: {
      path: Object.entries(paths).map(([name, item]) => ({
        name,
        value: {
          ...Object.fromEntries(methods.filter((method) => isObject(item[method])).map((method) => [method, operationMessage(item[method] as Json)])),
          parameters: ((item.parameters as Json[] | undefined) ?? []).map(parameterMessage),
        },
      })),
    },
    definitions: { additional_properties: Object.entries(definitions).map(([name, schema]) => ({ name, value: schemaMessage(schema) })) },
  };
}

let cachedDocument: Json | undefined;
let cachedProtobuf: Uint8Array | undefined;

/** The Swagger 2.0 document as JSON. */
export function openApiV2Document(): Json {
  cachedDocument ??= buildDocument();
  return cachedDocument;
}

/** The same document as gnostic's `openapi.v2.Document` message, as kubectl asks for it. */
export function openApiV2Protobuf(): Uint8Array {
  if (!cachedProtobuf) {
    const root = protobuf.parse(openApiV2Proto, { keepCase: true }).root;
    const type = root.lookupType('openapi.v2.Document');
    cachedProtobuf = type.encode(type.fromObject(documentMessage(openApiV2Document()))).finish();
  }
  return cachedProtobuf;
}

/** The Accept header asks for the protobuf form first (kubectl sends nothing else). */
export function wantsOpenApiV2Protobuf(accept: string | undefined): boolean {
  return (accept ?? '').split(',').some((range) => acceptedProtobufTypes.has(range.split(';')[0]!.trim().toLowerCase()));
}

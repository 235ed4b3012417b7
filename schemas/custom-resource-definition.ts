/**
 * `apiextensions.k8s.io/v1` CustomResourceDefinition: a kind users add to the API. Validated as
 * kube-apiserver validates it (names, group, versions with exactly one storage version, scope,
 * structural schemas), and turned into the resource types the API serves once the CRD controller
 * has accepted its names and marked it Established (`custom-resource-registry.ts`).
 */
import { z } from 'zod';
import { type FieldCause, forbidden, immutable, index, invalid, notSupported, required } from './field-errors.ts';
import { type AnyKindRules, anyKind } from './kind-rules.ts';
import { apiVersionField, int32, type KubeObject, kindField, objectMetaSchema, opaqueObject } from './meta.ts';
import { isDns1035Label, isDns1123Subdomain } from './name-rules.ts';
import type { ResourceType, Subresource } from './resource-type.ts';
import { type JsonSchemaProps, validateCrdSchema } from './structural-schema.ts';

export const CRD_GROUP = 'apiextensions.k8s.io';
/** Held by a CRD being deleted until every object of its kind is gone. */
export const CUSTOM_RESOURCE_CLEANUP_FINALIZER = 'customresourcecleanup.apiextensions.k8s.io';

const columnSchema = z.object({
  name: z.string(),
  type: z.string(),
  format: z.string().optional(),
  description: z.string().optional(),
  priority: int32.optional(),
  jsonPath: z.string(),
});

const scaleSchema = z.object({
  specReplicasPath: z.string(),
  statusReplicasPath: z.string(),
  labelSelectorPath: z.string().optional(),
});

const versionSchema = z.object({
  name: z.string(),
  served: z.boolean().default(false),
  storage: z.boolean().default(false),
  deprecated: z.boolean().optional(),
  deprecationWarning: z.string().optional(),
  schema: z.object({ openAPIV3Schema: opaqueObject.optional() }).optional(),
  subresources: z.object({ status: opaqueObject.optional(), scale: scaleSchema.optional() }).optional(),
  additionalPrinterColumns: z.array(columnSchema).optional(),
  selectableFields: z.array(z.object({ jsonPath: z.string() })).optional(),
});

const namesSchema = z.object({
  plural: z.string().default(''),
  singular: z.string().optional(),
  kind: z.string().default(''),
  listKind: z.string().optional(),
  shortNames: z.array(z.string()).optional(),
  categories: z.array(z.string()).optional(),
});

export const customResourceDefinitionSchema = z
  .object({
    apiVersion: apiVersionField,
    kind: kindField,
    metadata: objectMetaSchema.default(() => ({})),
    spec: z.object({
      group: z.string().default(''),
      names: namesSchema,
      scope: z.string().default(''),
      versions: z.array(versionSchema).default([]),
      conversion: z.object({ strategy: z.string().default('None'), webhook: opaqueObject.optional() }).default({ strategy: 'None' }),
      preserveUnknownFields: z.boolean().optional(),
    }),
    status: z
      .object({
        conditions: z.array(opaqueObject).optional(),
        acceptedNames: namesSchema.partial().optional(),
        storedVersions: z.array(z.string()).optional(),
      })
      .optional(),
  })
  .meta({ id: 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition', description: 'Adds a kind to the API.' });
export type CustomResourceDefinition = z.infer<typeof customResourceDefinitionSchema>;
export type CustomResourceDefinitionVersion = z.infer<typeof versionSchema>;

const printerColumnTypes = ['boolean', 'date', 'integer', 'number', 'string'];
const printerColumnFormats = ['byte', 'date', 'date-time', 'double', 'float', 'int32', 'int64', 'password'];

function storageVersionOf(crd: CustomResourceDefinition): string | undefined {
  return crd.spec.versions.find((version) => version.storage)?.name;
}

function defaultCrd(crd: CustomResourceDefinition, old?: CustomResourceDefinition): CustomResourceDefinition {
  const names = crd.spec.names;
  const spec = {
    ...crd.spec,
    names: {
      ...names,
      ...(names.singular ? {} : { singular: names.kind.toLowerCase() }),
      ...(names.listKind ? {} : { listKind: names.kind ? `${names.kind}List` : '' }),
    },
  };
  const storage = storageVersionOf(crd);
  if (!old) {
    // kube-apiserver's strategy: a new CRD starts with no conditions, no accepted names and its storage version stored.
    return { ...crd, spec, status: { conditions: [], acceptedNames: { plural: '', kind: '' }, storedVersions: storage ? [storage] : [] } };
  }
  const stored = crd.status?.storedVersions ?? old.status?.storedVersions ?? [];
  const storedVersions = storage && !stored.includes(storage) ? [...stored, storage] : stored;
  return { ...crd, spec, status: { ...(crd.status ?? {}), storedVersions } };
}

function labelRule(field: string, value: string | undefined, mixedCase = false): FieldCause[] {
  if (!value) return [];
  const errors = isDns1035Label(mixedCase ? value.toLowerCase() : value);
  if (errors.length === 0) return [];
  return [invalid(field, value, mixedCase ? `may have mixed case, but should otherwise match: ${errors.join(',')}` : errors.join(','))];
}

function validateNames(names: Partial<z.infer<typeof namesSchema>>, field: string): FieldCause[] {
  const causes = [
    ...labelRule(`${field}.plural`, names.plural),
    ...labelRule(`${field}.singular`, names.singular),
    ...labelRule(`${field}.kind`, names.kind, true),
    ...labelRule(`${field}.listKind`, names.listKind, true),
  ];
  (names.shortNames ?? []).forEach((shortName, i) => {
    causes.push(...labelRule(index(`${field}.shortNames`, i), shortName));
  });
  if (names.kind && names.kind === names.listKind) causes.push(invalid(`${field}.listKind`, names.listKind, 'kind and listKind may not be the same'));
  (names.categories ?? []).forEach((category, i) => {
    causes.push(...labelRule(index(`${field}.categories`, i), category));
  });
  return causes;
}

/** The Go value kube-apiserver quotes for `spec.versions` in its messages is not JSON; name the versions. */
function versionsText(versions: readonly CustomResourceDefinitionVersion[]): string {
  return `[${versions.map((version) => `{Name:${JSON.stringify(version.name)} Served:${version.served} Storage:${version.storage}}`).join(' ')}]`;
}

function validateVersion(version: CustomResourceDefinitionVersion, field: string): FieldCause[] {
  const causes = labelRule(`${field}.name`, version.name);
  const schema = version.schema?.openAPIV3Schema as JsonSchemaProps | undefined;
  if (!schema) causes.push(required(`${field}.schema.openAPIV3Schema`, 'schemas are required'));
  else causes.push(...validateCrdSchema(schema, `${field}.schema.openAPIV3Schema`));
  const scale = version.subresources?.scale;
  if (scale) {
    const scaleField = `${field}.subresources.scale`;
    if (!/^\.spec\.[A-Za-z0-9_.]+$/.test(scale.specReplicasPath)) {
      causes.push(invalid(`${scaleField}.specReplicasPath`, scale.specReplicasPath, 'should be a json path under .spec'));
    }
    if (!/^\.status\.[A-Za-z0-9_.]+$/.test(scale.statusReplicasPath)) {
      causes.push(invalid(`${scaleField}.statusReplicasPath`, scale.statusReplicasPath, 'should be a json path under .status'));
    }
    if (scale.labelSelectorPath !== undefined && !/^\.(spec|status)\.[A-Za-z0-9_.]+$/.test(scale.labelSelectorPath)) {
      causes.push(invalid(`${scaleField}.labelSelectorPath`, scale.labelSelectorPath, 'should be a json path under either .spec or .status'));
    }
  }
  (version.additionalPrinterColumns ?? []).forEach((column, i) => {
    const columnField = index(`${field}.additionalPrinterColumns`, i);
    if (!column.name) causes.push(required(`${columnField}.name`));
    if (!printerColumnTypes.includes(column.type)) {
      causes.push(
        column.type
          ? invalid(`${columnField}.type`, column.type, `must be one of ${printerColumnTypes.join(',')}`)
          : required(`${columnField}.type`, `must be one of ${printerColumnTypes.join(',')}`),
      );
    }
    if (column.format && !printerColumnFormats.includes(column.format)) {
      causes.push(invalid(`${columnField}.format`, column.format, `must be one of ${printerColumnFormats.join(',')}`));
    }
    if (!column.jsonPath) causes.push(required(`${columnField}.jsonPath`));
    else if (!column.jsonPath.startsWith('.')) causes.push(invalid(`${columnField}.jsonPath`, column.jsonPath, 'must be a simple json path starting with .'));
  });
  return causes;
}

function validateCrd(crd: CustomResourceDefinition): FieldCause[] {
  const { spec } = crd;
  const causes: FieldCause[] = [];
  if (crd.metadata.name !== `${spec.names.plural}.${spec.group}`) {
    causes.push(invalid('metadata.name', crd.metadata.name ?? '', 'must be spec.names.plural+"."+spec.group'));
  }
  if (!spec.group) causes.push(required('spec.group'));
  else {
    const errors = isDns1123Subdomain(spec.group);
    if (errors.length > 0) causes.push(invalid('spec.group', spec.group, errors.join(',')));
    else if (spec.group.split('.').length < 2) causes.push(invalid('spec.group', spec.group, 'should be a domain with at least one dot'));
  }
  if (!spec.scope) causes.push(required('spec.scope'));
  else if (spec.scope !== 'Cluster' && spec.scope !== 'Namespaced') causes.push(notSupported('spec.scope', spec.scope, ['Cluster', 'Namespaced']));
  const names = new Set<string>();
  let unique = true;
  spec.versions.forEach((version, i) => {
    if (names.has(version.name)) unique = false;
    names.add(version.name);
    causes.push(...validateVersion(version, index('spec.versions', i)));
  });
  if (spec.versions.length === 0) causes.push(invalid('spec.versions', null, 'must have exactly one version marked as storage version', '[]'));
  else {
    if (!unique) causes.push(invalid('spec.versions', null, 'must contain unique version names', versionsText(spec.versions)));
    if (spec.versions.filter((version) => version.storage).length !== 1) {
      causes.push(invalid('spec.versions', null, 'must have exactly one version marked as storage version', versionsText(spec.versions)));
    }
  }
  if (!spec.names.plural) causes.push(required('spec.names.plural'));
  if (!spec.names.singular) causes.push(required('spec.names.singular'));
  if (!spec.names.kind) causes.push(required('spec.names.kind'));
  if (!spec.names.listKind) causes.push(required('spec.names.listKind'));
  causes.push(...validateNames(spec.names, 'spec.names'));
  if (spec.conversion.strategy !== 'None') {
    causes.push(
      spec.conversion.strategy === 'Webhook'
        ? forbidden('spec.conversion.strategy', 'Webhook conversion is not supported by this server; versions of a CRD share one schema shape (strategy None)')
        : notSupported('spec.conversion.strategy', spec.conversion.strategy, ['None', 'Webhook']),
    );
  }
  if (spec.preserveUnknownFields === true) causes.push(invalid('spec.preserveUnknownFields', true, 'must be false in order to use defaults in the schema'));
  if (crd.status?.acceptedNames) causes.push(...validateNames(crd.status.acceptedNames, 'status.acceptedNames'));
  const stored = crd.status?.storedVersions ?? [];
  stored.forEach((version, i) => {
    if (!names.has(version)) causes.push(invalid(index('status.storedVersions', i), version, 'must appear in spec.versions'));
  });
  return causes;
}

function isEstablished(crd: CustomResourceDefinition): boolean {
  return (crd.status?.conditions ?? []).some((condition) => condition.type === 'Established' && condition.status === 'True');
}

function validateCrdUpdate(crd: CustomResourceDefinition, old: CustomResourceDefinition): FieldCause[] {
  const causes: FieldCause[] = [];
  if (isEstablished(old)) {
    if (crd.spec.scope !== old.spec.scope) causes.push(immutable('spec.scope', crd.spec.scope));
    if (crd.spec.names.kind !== old.spec.names.kind) causes.push(immutable('spec.names.kind', crd.spec.names.kind));
  }
  if (crd.spec.group !== old.spec.group) causes.push(immutable('spec.group', crd.spec.group));
  if (crd.spec.names.plural !== old.spec.names.plural) causes.push(immutable('spec.names.plural', crd.spec.names.plural));
  return causes;
}

export const customResourceDefinitionRules: AnyKindRules = anyKind<CustomResourceDefinition>({
  schema: customResourceDefinitionSchema,
  nameRule: isDns1123Subdomain,
  defaultsFromStored: defaultCrd,
  validate: validateCrd,
  validateUpdate: validateCrdUpdate,
});

// --- what a CRD serves ------------------------------------------------------------------------------

/** Parses a stored CRD; undefined when it does not parse (it is then served as nothing). */
export function parseCustomResourceDefinition(object: KubeObject): CustomResourceDefinition | undefined {
  const parsed = customResourceDefinitionSchema.safeParse(object);
  return parsed.success ? parsed.data : undefined;
}

export function conditionOf(crd: CustomResourceDefinition, type: string): { status?: unknown; reason?: unknown; message?: unknown } | undefined {
  return (crd.status?.conditions ?? []).find((condition) => condition.type === type) as { status?: unknown } | undefined;
}

/** The resource types a CRD serves: one per served version, once it is Established. */
export function customResourceTypesOf(crd: CustomResourceDefinition): ResourceType[] {
  if (!isEstablished(crd)) return [];
  return versionTypes(
    crd,
    crd.spec.versions.filter((version) => version.served),
  );
}

/** The type of a CRD's storage version, served or not, Established or not: what its objects are stored as. */
export function storageTypeOf(crd: CustomResourceDefinition): ResourceType | undefined {
  return versionTypes(
    crd,
    crd.spec.versions.filter((version) => version.storage),
  )[0];
}

export { isEstablished };

function versionTypes(crd: CustomResourceDefinition, versions: readonly CustomResourceDefinitionVersion[]): ResourceType[] {
  const storageVersion = storageVersionOf(crd);
  if (!storageVersion) return [];
  const names = crd.spec.names;
  return versions.map((version): ResourceType => {
    const subresources: Subresource[] = [
      ...(version.subresources?.status ? (['status'] as const) : []),
      ...(version.subresources?.scale ? (['scale'] as const) : []),
    ];
    const deprecated = version.deprecated ? (version.deprecationWarning ?? `${crd.spec.group}/${version.name} ${names.kind} is deprecated`) : undefined;
    return {
      id: `${crd.spec.group}/${names.plural}`,
      group: crd.spec.group,
      version: version.name,
      kind: names.kind,
      listKind: names.listKind ?? `${names.kind}List`,
      plural: names.plural,
      singular: names.singular ?? names.kind.toLowerCase(),
      namespaced: crd.spec.scope === 'Namespaced',
      shortNames: names.shortNames ?? [],
      categories: names.categories ?? [],
      subresources,
      verbs: ['delete', 'deletecollection', 'get', 'list', 'patch', 'create', 'update', 'watch'],
      persisted: true,
      // Each served version of a custom resource is a type of its own.
      otherVersions: [],
      // Every change but metadata's moves it; status's too unless /status is its own path.
      generation: version.subresources?.status ? 'content-but-status' : 'content',
      custom: {
        crdName: crd.metadata.name ?? '',
        storageVersion,
        ...(version.schema?.openAPIV3Schema ? { schema: version.schema.openAPIV3Schema as JsonSchemaProps } : {}),
        printerColumns: version.additionalPrinterColumns ?? [],
        ...(version.subresources?.scale ? { scale: version.subresources.scale } : {}),
        terminating: crd.metadata.deletionTimestamp !== undefined,
        ...(deprecated ? { deprecationWarning: deprecated } : {}),
      },
    };
  });
}

export type { CustomResourceColumn, CustomResourceFacts } from './resource-type.ts';

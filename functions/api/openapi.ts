/**
 * OpenAPI v3 documents, one per served group-version, generated from the zod schemas in
 * `schemas/`. kubectl reads them before `apply`/`create -f` to learn that the server validates
 * fields itself (a PATCH operation declaring `fieldValidation`), and for patch merge keys and
 * `kubectl explain`. Generated once per process; the index advertises each by content hash.
 * The custom kinds of Established CRDs are published too, from each served version's schema,
 * as kube-apiserver publishes them: their PATCH operations take no strategic merge patch, which
 * is what tells `kubectl apply` to send a JSON merge patch (docs/adr/179).
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { customResourceTypes } from '../../schemas/custom-resource-registry.ts';
import { schemaOf } from '../../schemas/index.ts';
import { deleteOptionsSchema, statusSchema, watchEventSchema } from '../../schemas/meta.ts';
import { type ResourceType, resourceTypes } from '../../schemas/registry.ts';
import { scaleSchema } from '../../schemas/scale.ts';

type JsonSchema = Record<string, unknown>;
type Gvk = { group: string; version: string; kind: string };

const componentPrefix = '#/components/schemas/';
const metaV1 = 'io.k8s.apimachinery.pkg.apis.meta.v1';
const safeIntegerBound = Number.MAX_SAFE_INTEGER;

function ref(id: string): JsonSchema {
  return { $ref: `${componentPrefix}${id}` };
}

function idOf(schema: z.ZodType): string {
  const id = z.globalRegistry.get(schema)?.id;
  if (!id) throw new Error('schema has no OpenAPI id');
  return id;
}

/** Adjusts zod's JSON Schema output to the shapes Kubernetes publishes. */
function polish(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(polish);
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value as JsonSchema).filter(([k]) => k !== '$id' && k !== 'id');
  const out: JsonSchema = Object.fromEntries(entries.map(([k, v]) => [k, polish(v)]));
  if (out.type === 'integer' && out.minimum === -safeIntegerBound && out.maximum === safeIntegerBound) {
    delete out.minimum;
    delete out.maximum;
    out.format = 'int32';
  }
  return out;
}

/** Scalars Kubernetes models as strings with a format rather than as unions. */
const scalarOverrides: Readonly<Record<string, JsonSchema>> = {
  'io.k8s.apimachinery.pkg.util.intstr.IntOrString': { type: 'string', format: 'int-or-string', 'x-kubernetes-int-or-string': true },
  'io.k8s.apimachinery.pkg.api.resource.Quantity': { type: 'string', 'x-kubernetes-int-or-string': true },
  [`${metaV1}.Time`]: { type: 'string', format: 'date-time' },
  [`${metaV1}.MicroTime`]: { type: 'string', format: 'date-time' },
};

function gvkOf(type: ResourceType): Gvk {
  return { group: type.group, version: type.version, kind: type.kind };
}

function listSchema(type: ResourceType, itemId: string): JsonSchema {
  return {
    type: 'object',
    description: `${type.listKind} is a list of ${type.kind} objects.`,
    required: ['items'],
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: { allOf: [ref(`${metaV1}.ListMeta`)], default: {} },
      items: { type: 'array', items: { allOf: [ref(itemId)], default: {} } },
    },
    'x-kubernetes-group-version-kind': [{ ...gvkOf(type), kind: type.listKind }],
  };
}

/** Every component schema Skiff publishes, keyed like Kubernetes' definitions. */
function buildComponents(): Record<string, JsonSchema> {
  for (const schema of [...resourceTypes.map(schemaOf), statusSchema, deleteOptionsSchema, watchEventSchema, scaleSchema]) idOf(schema);
  const generated = z.toJSONSchema(z.globalRegistry, {
    target: 'openapi-3.0',
    io: 'input',
    unrepresentable: 'any',
    uri: (id) => `${componentPrefix}${id}`,
  }) as { schemas: Record<string, JsonSchema> };
  const components: Record<string, JsonSchema> = {};
  for (const [id, schema] of Object.entries(generated.schemas)) {
    components[id] = scalarOverrides[id] ?? (polish(schema) as JsonSchema);
  }
  for (const type of resourceTypes) {
    const id = idOf(schemaOf(type));
    components[id] = { ...components[id], 'x-kubernetes-group-version-kind': [gvkOf(type)] };
    components[`${id.slice(0, id.lastIndexOf('.'))}.${type.listKind}`] = listSchema(type, id);
  }
  components[`${metaV1}.Patch`] = { type: 'object', description: 'Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.' };
  return components;
}

// ---- paths ------------------------------------------------------------------------------------

function queryParameter(name: string, type: 'string' | 'integer' | 'boolean', description: string): JsonSchema {
  return { name, in: 'query', description, schema: { type, uniqueItems: true } };
}

const parameters = {
  pretty: queryParameter('pretty', 'string', "If 'true', then the output is pretty printed."),
  dryRun: queryParameter('dryRun', 'string', 'When present, indicates that modifications should not be persisted. Valid value: All'),
  fieldManager: queryParameter('fieldManager', 'string', 'A name associated with the actor or entity that is making these changes.'),
  fieldValidation: queryParameter(
    'fieldValidation',
    'string',
    'How the server handles fields it does not know: Ignore drops them silently, Warn drops them with a warning (the default), Strict fails the request.',
  ),
  force: queryParameter('force', 'boolean', 'Force is going to "force" Apply requests. It must be unset for non-apply patch requests.'),
  labelSelector: queryParameter('labelSelector', 'string', 'A selector to restrict the list of returned objects by their labels.'),
  fieldSelector: queryParameter('fieldSelector', 'string', 'A selector to restrict the list of returned objects by their fields.'),
  limit: queryParameter('limit', 'integer', 'The maximum number of responses to return for a list call.'),
  continue: queryParameter('continue', 'string', 'The continue option should be set when retrieving more results from the server.'),
  resourceVersion: queryParameter('resourceVersion', 'string', 'Sets a constraint on what resource versions a request may be served from.'),
  resourceVersionMatch: queryParameter('resourceVersionMatch', 'string', 'Determines how resourceVersion is applied to list calls.'),
  watch: queryParameter(
    'watch',
    'boolean',
    'Watch for changes to the described resources and return them as a stream of add, update, and remove notifications.',
  ),
  allowWatchBookmarks: queryParameter('allowWatchBookmarks', 'boolean', 'Requests watch events with type "BOOKMARK".'),
  timeoutSeconds: queryParameter('timeoutSeconds', 'integer', 'Timeout for the list/watch call.'),
  gracePeriodSeconds: queryParameter('gracePeriodSeconds', 'integer', 'The duration in seconds before the object should be deleted.'),
  propagationPolicy: queryParameter(
    'propagationPolicy',
    'string',
    "Whether and how garbage collection will be performed: 'Orphan', 'Background' or 'Foreground'.",
  ),
} as const;

function pathParameter(name: string, description: string): JsonSchema {
  return { name, in: 'path', required: true, description, schema: { type: 'string', uniqueItems: true } };
}

const patchMediaTypes = [
  'application/apply-patch+yaml',
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
];
const responseMediaTypes = ['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf'];

function content(schema: JsonSchema, mediaTypes: readonly string[] = responseMediaTypes): JsonSchema {
  return Object.fromEntries(mediaTypes.map((m) => [m, { schema }]));
}

function responses(codes: readonly number[], schema: JsonSchema): JsonSchema {
  return {
    ...Object.fromEntries(
      codes.map((code) => [String(code), { description: code === 201 ? 'Created' : code === 202 ? 'Accepted' : 'OK', content: content(schema) }]),
    ),
    '401': { description: 'Unauthorized' },
  };
}

/** `patchAppsV1NamespacedDeploymentScale`: Kubernetes' operation id convention. */
function operationId(verb: string, type: ResourceType, scope: 'Namespaced' | 'Cluster' | 'AllNamespaces', suffix = ''): string {
  const groupPart = (type.group ? (type.group.split('.')[0] ?? '') : 'core').replace(/^./, (c) => c.toUpperCase());
  const version = type.version.replace(/^./, (c) => c.toUpperCase());
  const scopePart = scope === 'Namespaced' ? 'Namespaced' : '';
  const all = scope === 'AllNamespaces' ? 'ForAllNamespaces' : '';
  return `${verb}${groupPart}${version}${scopePart}${type.kind}${suffix}${all}`;
}

interface Operation {
  readonly verb: string;
  readonly method: 'get' | 'put' | 'post' | 'patch' | 'delete';
  readonly action: string;
  readonly parameters: readonly JsonSchema[];
  readonly body?: JsonSchema;
  readonly response: readonly number[];
  readonly responseSchema: JsonSchema;
}

function operationObject(type: ResourceType, gvk: Gvk, op: Operation, id: string): JsonSchema {
  return {
    tags: [`${type.group ? type.group.split('.')[0] : 'core'}_${type.version}`],
    description: `${op.action} ${op.verb === 'list' ? `objects of kind ${type.kind}` : `the specified ${type.kind}`}`,
    operationId: id,
    parameters: op.parameters,
    ...(op.body ? { requestBody: op.body } : {}),
    responses: responses(op.response, op.responseSchema),
    'x-kubernetes-action': op.action,
    'x-kubernetes-group-version-kind': gvk,
  };
}

/** The component ids of a kind and of its list. */
interface KindIds {
  readonly object: string;
  readonly list: string;
}

function builtInIds(type: ResourceType): KindIds {
  const object = idOf(schemaOf(type));
  return { object, list: `${object.slice(0, object.lastIndexOf('.'))}.${type.listKind}` };
}

function resourcePaths(type: ResourceType, ids: KindIds = builtInIds(type)): Record<string, JsonSchema> {
  const prefix = type.group ? `/apis/${type.group}/${type.version}` : `/api/${type.version}`;
  const collection = type.namespaced ? `${prefix}/namespaces/{namespace}/${type.plural}` : `${prefix}/${type.plural}`;
  const item = `${collection}/{name}`;
  const scope = type.namespaced ? 'Namespaced' : 'Cluster';
  const objectRef = ref(ids.object);
  const listRef = ref(ids.list);
  const gvk = gvkOf(type);
  const can = (verb: string) => type.verbs.includes(verb);
  const commonParameters = [
    ...(type.namespaced ? [pathParameter('namespace', 'object name and auth scope, such as for teams and projects')] : []),
    parameters.pretty,
  ];
  const listParameters = [
    parameters.allowWatchBookmarks,
    parameters.continue,
    parameters.fieldSelector,
    parameters.labelSelector,
    parameters.limit,
    parameters.resourceVersion,
    parameters.resourceVersionMatch,
    parameters.timeoutSeconds,
    parameters.watch,
  ];
  const writeParameters = [parameters.dryRun, parameters.fieldManager, parameters.fieldValidation];
  // Custom resources take no strategic merge patch (kube-apiserver answers 415), and say so.
  const patchTypes = type.custom ? patchMediaTypes.filter((mediaType) => mediaType !== 'application/strategic-merge-patch+json') : patchMediaTypes;
  const patchBody = { required: true, content: content({ allOf: [ref(`${metaV1}.Patch`)] }, patchTypes) };
  const objectBody = { required: true, content: content(objectRef, ['*/*']) };
  const deleteBody = { content: content(ref(`${metaV1}.DeleteOptions`), ['*/*']) };

  const build = (ops: readonly (Operation | false)[], suffix = '', scopeOverride?: 'AllNamespaces', target = type, targetGvk = gvk) =>
    Object.fromEntries(
      ops
        .filter((op): op is Operation => op !== false)
        .map((op) => [op.method, operationObject(target, targetGvk, op, operationId(op.verb, type, scopeOverride ?? scope, suffix))]),
    );

  const paths: Record<string, JsonSchema> = {};
  paths[collection] = {
    ...build([
      can('list') && { verb: 'list', method: 'get', action: 'list', parameters: listParameters, response: [200], responseSchema: listRef },
      can('create') && {
        verb: 'create',
        method: 'post',
        action: 'post',
        parameters: writeParameters,
        body: objectBody,
        response: [200, 201, 202],
        responseSchema: objectRef,
      },
      can('deletecollection') && {
        verb: 'deletecollection',
        method: 'delete',
        action: 'deletecollection',
        parameters: [
          ...listParameters.filter((p) => p !== parameters.watch && p !== parameters.allowWatchBookmarks),
          parameters.dryRun,
          parameters.gracePeriodSeconds,
          parameters.propagationPolicy,
        ],
        body: deleteBody,
        response: [200],
        responseSchema: ref(`${metaV1}.Status`),
      },
    ]),
    parameters: commonParameters,
  };
  // Create-only kinds (the reviews) have no item path, as Kubernetes publishes them.
  if (['get', 'update', 'delete', 'patch'].some(can))
    paths[item] = {
      ...build([
        can('get') && { verb: 'read', method: 'get', action: 'get', parameters: [], response: [200], responseSchema: objectRef },
        can('update') && {
          verb: 'replace',
          method: 'put',
          action: 'put',
          parameters: writeParameters,
          body: objectBody,
          response: [200, 201],
          responseSchema: objectRef,
        },
        can('delete') && {
          verb: 'delete',
          method: 'delete',
          action: 'delete',
          parameters: [parameters.dryRun, parameters.gracePeriodSeconds, parameters.propagationPolicy],
          body: deleteBody,
          response: [200, 202],
          responseSchema: ref(`${metaV1}.Status`),
        },
        can('patch') && {
          verb: 'patch',
          method: 'patch',
          action: 'patch',
          parameters: [...writeParameters, parameters.force],
          body: patchBody,
          response: [200, 201],
          responseSchema: objectRef,
        },
      ]),
      parameters: [pathParameter('name', `name of the ${type.kind}`), ...commonParameters],
    };
  if (type.namespaced && can('list')) {
    paths[`${prefix}/${type.plural}`] = {
      ...build([{ verb: 'list', method: 'get', action: 'list', parameters: listParameters, response: [200], responseSchema: listRef }], '', 'AllNamespaces'),
      parameters: [parameters.pretty],
    };
  }
  const subresourceOps = (suffix: string, schemaRef: JsonSchema, targetGvk: Gvk) =>
    build(
      [
        { verb: 'read', method: 'get', action: 'get', parameters: [], response: [200], responseSchema: schemaRef },
        {
          verb: 'replace',
          method: 'put',
          action: 'put',
          parameters: writeParameters,
          body: { required: true, content: content(schemaRef, ['*/*']) },
          response: [200, 201],
          responseSchema: schemaRef,
        },
        {
          verb: 'patch',
          method: 'patch',
          action: 'patch',
          parameters: [...writeParameters, parameters.force],
          body: patchBody,
          response: [200, 201],
          responseSchema: schemaRef,
        },
      ],
      suffix,
      undefined,
      type,
      targetGvk,
    );
  const subresourceParameters = [pathParameter('name', `name of the ${suffixName(type)}`), ...commonParameters];
  if (type.subresources.includes('status')) paths[`${item}/status`] = { ...subresourceOps('Status', objectRef, gvk), parameters: subresourceParameters };
  if (type.subresources.includes('scale')) {
    paths[`${item}/scale`] = {
      ...subresourceOps('Scale', ref(idOf(scaleSchema)), { group: 'autoscaling', version: 'v1', kind: 'Scale' }),
      parameters: [pathParameter('name', 'name of the Scale'), ...commonParameters],
    };
  }
  return paths;
}

function suffixName(type: ResourceType): string {
  return type.kind;
}

// ---- documents --------------------------------------------------------------------------------

function gvPathOf(type: ResourceType): string {
  return type.group ? `apis/${type.group}/${type.version}` : `api/${type.version}`;
}

/** The component ids `roots` refer to, directly or through other components. */
function reachable(roots: unknown, components: Readonly<Record<string, JsonSchema>>): Set<string> {
  const seen = new Set<string>();
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      value.forEach(visit);
      return;
    }
    if (typeof value !== 'object' || value === null) return;
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string' && v.startsWith(componentPrefix)) {
        const id = v.slice(componentPrefix.length);
        if (!seen.has(id)) {
          seen.add(id);
          visit(components[id]);
        }
      } else visit(v);
    }
  };
  visit(roots);
  return seen;
}

interface Published {
  readonly index: { paths: Record<string, { serverRelativeURL: string }> };
  readonly documents: ReadonlyMap<string, object>;
}

/** One document per group-version of `types`, with the components their paths and kinds reach. */
function publishTypes(types: readonly ResourceType[], components: Readonly<Record<string, JsonSchema>>, idsOf: (type: ResourceType) => KindIds): Published {
  const byGv = new Map<string, ResourceType[]>();
  for (const type of types) byGv.set(gvPathOf(type), [...(byGv.get(gvPathOf(type)) ?? []), type]);
  const documents = new Map<string, object>();
  const index: Published['index'] = { paths: {} };
  for (const [gvPath, gvTypes] of [...byGv.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const paths = Object.assign({}, ...gvTypes.map((type) => resourcePaths(type, idsOf(type)))) as Record<string, JsonSchema>;
    const used = reachable([paths, ...gvTypes.map((type) => ref(idsOf(type).object))], components);
    const document = {
      openapi: '3.0.0',
      info: { title: 'Kubernetes', version: 'unversioned' },
      paths,
      components: {
        schemas: Object.fromEntries([...used].sort().map((id) => [id, components[id] ?? {}])),
        securitySchemes: { BearerToken: { type: 'apiKey', description: 'Bearer Token authentication', name: 'authorization', in: 'header' } },
      },
    };
    documents.set(gvPath, document);
    const hash = createHash('sha512').update(JSON.stringify(document)).digest('hex').toUpperCase();
    index.paths[gvPath] = { serverRelativeURL: `/openapi/v3/${gvPath}?hash=${hash}` };
  }
  return { index, documents };
}

function publish(): Published & { readonly components: Readonly<Record<string, JsonSchema>> } {
  const components = buildComponents();
  return { ...publishTypes(resourceTypes, components, builtInIds), components };
}

// ---- custom kinds -----------------------------------------------------------------------------

/** `example.com`, `v1`, `Widget` → `com.example.v1.Widget`: kube-apiserver's name for a custom kind's definition. */
function customIds(type: ResourceType): KindIds {
  const object = `${type.group.split('.').reverse().join('.')}.${type.version}.${type.kind}`;
  return { object, list: `${object}List` };
}

/** A served version's schema as a component: its own properties, with apiVersion, kind and ObjectMeta as every kind has them. */
function customObjectSchema(type: ResourceType): JsonSchema {
  const schema: JsonSchema = type.custom?.schema ? { ...(type.custom.schema as unknown as JsonSchema) } : { 'x-kubernetes-preserve-unknown-fields': true };
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  return {
    ...schema,
    type: 'object',
    properties: {
      ...properties,
      apiVersion: { type: 'string', description: 'The versioned schema of this representation of the object: the group and version.' },
      kind: { type: 'string', description: 'The REST resource this object represents, in CamelCase.' },
      metadata: { allOf: [ref(`${metaV1}.ObjectMeta`)], description: "Standard object's metadata." },
    },
    'x-kubernetes-group-version-kind': [gvkOf(type)],
  };
}

let customPublished: (Published & { readonly types: readonly ResourceType[] }) | undefined;

/** The documents of the custom kinds this process serves now, made again whenever the CRDs change. */
function customDocuments(): Published {
  const types = customResourceTypes();
  if (customPublished?.types === types) return customPublished;
  const components: Record<string, JsonSchema> = { ...cached().components };
  for (const type of types) {
    const ids = customIds(type);
    components[ids.object] = customObjectSchema(type);
    components[ids.list] = listSchema(type, ids.object);
  }
  customPublished = { ...publishTypes(types, components, customIds), types };
  return customPublished;
}

let published: ReturnType<typeof publish> | undefined;

function cached(): ReturnType<typeof publish> {
  published ??= publish();
  return published;
}

/** `GET /openapi/v3`: every group-version's document, the custom kinds' included, addressed by content hash. */
export function openApiIndex(): object {
  return { paths: { ...cached().index.paths, ...customDocuments().index.paths } };
}

/** `GET /openapi/v3/<gvPath>` (`api/v1`, `apis/apps/v1`); undefined for an unknown group-version. */
export function openApiGroupVersion(gvPath: string): object | undefined {
  const path = gvPath.replace(/^\/+|\/+$/g, '');
  return cached().documents.get(path) ?? customDocuments().documents.get(path);
}

/** Every built-in group-version's v3 document, for the v2 document made from them (openapi-v2.ts; custom kinds are not in it). */
export function openApiGroupVersions(): ReadonlyMap<string, object> {
  return cached().documents;
}

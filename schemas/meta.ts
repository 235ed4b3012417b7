/**
 * Shared `meta.k8s.io/v1` types: ObjectMeta, OwnerReference, LabelSelector, ListMeta, Status,
 * Condition, plus the scalar conventions (IntOrString, Quantity, Time) every kind uses.
 * Schemas carry an OpenAPI `id` named like Kubernetes' own definitions.
 */
import { z } from 'zod';
import { child, type FieldCause, index, invalid, required, supportedValue } from './field-errors.ts';
import { checkAnnotations, checkLabels, checkName, isDns1123Label, isLabelValue, isQualifiedName, type NameRule } from './name-rules.ts';

const metaV1 = 'io.k8s.apimachinery.pkg.apis.meta.v1';

/** 32-bit integers as Kubernetes declares them (`int32`); the OpenAPI generator adds the format. */
export const int32 = z.number().int();
export const int64 = z.number().int();

/** RFC 3339 timestamp, serialized as a string. */
export const time = z.string().meta({ id: `${metaV1}.Time` });

/** `intstr.IntOrString`: ports by number or name, percentages like "25%". */
export const intOrString = z.union([z.number().int(), z.string()]).meta({ id: 'io.k8s.apimachinery.pkg.util.intstr.IntOrString' });
export type IntOrString = z.infer<typeof intOrString>;

/**
 * `resource.Quantity`. JSON numbers are accepted and kept as their decimal string, which is how the
 * apiserver serializes them back.
 */
export const quantity = z.union([z.string(), z.number().transform((n) => String(n))]).meta({ id: 'io.k8s.apimachinery.pkg.api.resource.Quantity' });

export const stringMap = z.record(z.string(), z.string());

/** A sub-object Skiff does not model field by field: every field is kept as sent. */
export const opaqueObject = z.looseObject({});

/** Lists strategic merge patch merges by `key` (the `patchMergeKey` of the Go types); kept in step
 * with `functions/api/patch/list-strategies.ts`, which the server's patch engine reads. */
export function mergedBy<T extends z.ZodType>(items: T, key: string) {
  return z.array(items).meta({ 'x-kubernetes-patch-merge-key': key, 'x-kubernetes-patch-strategy': 'merge' });
}

/** The type fields every object carries; admission fills them in when a body leaves them out. */
export const apiVersionField = z.string().optional().describe('The versioned schema of this object: group/version, or just the version for the core group.');
export const kindField = z.string().optional().describe('The type of this object, in CamelCase.');

export const ownerReferenceSchema = z
  .object({
    apiVersion: z.string(),
    kind: z.string(),
    name: z.string(),
    uid: z.string(),
    controller: z.boolean().optional(),
    blockOwnerDeletion: z.boolean().optional(),
  })
  .meta({ id: `${metaV1}.OwnerReference`, description: 'Names an object this one belongs to; the garbage collector deletes dependents of deleted owners.' });

export const managedFieldsEntrySchema = z
  .object({
    manager: z.string().optional(),
    operation: z.string().optional(),
    apiVersion: z.string().optional(),
    time: time.optional(),
    fieldsType: z.string().optional(),
    fieldsV1: opaqueObject.optional(),
    subresource: z.string().optional(),
  })
  .meta({ id: `${metaV1}.ManagedFieldsEntry` });

export const objectMetaSchema = z
  .object({
    name: z.string().optional().describe('Unique name within a namespace (or the cluster, for cluster-scoped kinds).'),
    generateName: z.string().optional().describe('Prefix of a name the server generates when name is empty.'),
    namespace: z.string().optional().describe('The namespace of a namespaced object.'),
    selfLink: z.string().optional(),
    uid: z.string().optional(),
    resourceVersion: z.string().optional(),
    generation: int64.optional(),
    creationTimestamp: time.optional(),
    deletionTimestamp: time.optional(),
    deletionGracePeriodSeconds: int64.optional(),
    labels: stringMap.optional().describe('Key-value pairs to organize and select objects.'),
    annotations: stringMap.optional().describe('Key-value pairs for tools; not used to select objects.'),
    ownerReferences: mergedBy(ownerReferenceSchema, 'uid').optional(),
    finalizers: z.array(z.string()).meta({ 'x-kubernetes-patch-strategy': 'merge' }).optional(),
    managedFields: z.array(managedFieldsEntrySchema).optional(),
  })
  .meta({ id: `${metaV1}.ObjectMeta`, description: 'Metadata every persisted object has: name, namespace, labels, annotations, and fields the server sets.' });

/**
 * The object vocabulary every layer speaks (store, API, controllers, scheduler, node agent): one
 * declaration, inferred from the schemas above so the types and what admission checks cannot
 * drift apart. Read-only all the way down: code builds new objects rather than editing stored ones.
 */
export type DeepReadonly<T> = T extends (infer E)[] ? readonly DeepReadonly<E>[] : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T;
export type OwnerReference = DeepReadonly<z.infer<typeof ownerReferenceSchema>>;
export type ManagedFieldsEntry = DeepReadonly<z.infer<typeof managedFieldsEntrySchema>>;
export type ObjectMeta = DeepReadonly<z.infer<typeof objectMetaSchema>>;

/** Any Kubernetes object. Kind-specific code narrows it with the kind's schema. */
export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: ObjectMeta;
  readonly [field: string]: unknown;
}

/**
 * An object as the store keeps it: `ObjectMeta` as declared above (unknown metadata fields kept),
 * every other field as it was written. The store parses what it reads back with this.
 */
export const storedObjectSchema = z.looseObject({ apiVersion: z.string(), kind: z.string(), metadata: objectMetaSchema.loose() });

export const listMetaSchema = z
  .object({
    selfLink: z.string().optional(),
    resourceVersion: z.string().optional(),
    continue: z.string().optional(),
    remainingItemCount: int64.optional(),
  })
  .meta({ id: `${metaV1}.ListMeta` });

export const labelSelectorRequirementSchema = z
  .object({
    key: z.string(),
    operator: z.string(),
    values: z.array(z.string()).optional(),
  })
  .meta({ id: `${metaV1}.LabelSelectorRequirement` });

export const labelSelectorSchema = z
  .object({
    matchLabels: stringMap.optional(),
    matchExpressions: z.array(labelSelectorRequirementSchema).optional(),
  })
  .meta({
    id: `${metaV1}.LabelSelector`,
    description: 'Selects objects by labels: all matchLabels and all matchExpressions must match; empty selects everything.',
  });
export type LabelSelector = z.infer<typeof labelSelectorSchema>;

export const conditionSchema = z
  .object({
    type: z.string(),
    status: z.string(),
    observedGeneration: int64.optional(),
    lastTransitionTime: time.optional(),
    reason: z.string().optional(),
    message: z.string().optional(),
  })
  .meta({ id: `${metaV1}.Condition` });

export const statusCauseSchema = z
  .object({ reason: z.string().optional(), message: z.string().optional(), field: z.string().optional() })
  .meta({ id: `${metaV1}.StatusCause` });

export const statusSchema = z
  .object({
    apiVersion: z.string().optional(),
    kind: z.string().optional(),
    metadata: listMetaSchema.optional(),
    status: z.string().optional(),
    message: z.string().optional(),
    reason: z.string().optional(),
    details: z
      .object({
        name: z.string().optional(),
        group: z.string().optional(),
        kind: z.string().optional(),
        uid: z.string().optional(),
        causes: z.array(statusCauseSchema).optional(),
        retryAfterSeconds: int32.optional(),
      })
      .meta({ id: `${metaV1}.StatusDetails` })
      .optional(),
    code: int32.optional(),
  })
  .meta({
    id: `${metaV1}.Status`,
    'x-kubernetes-group-version-kind': [{ group: '', version: 'v1', kind: 'Status' }],
    description: 'The result of an operation that does not return an object, or of a failed one.',
  });

export const deleteOptionsSchema = z
  .object({
    apiVersion: z.string().optional(),
    kind: z.string().optional(),
    gracePeriodSeconds: int64.optional(),
    preconditions: z.object({ uid: z.string().optional(), resourceVersion: z.string().optional() }).optional(),
    orphanDependents: z.boolean().optional(),
    propagationPolicy: z.string().optional(),
    dryRun: z.array(z.string()).optional(),
  })
  .meta({ id: `${metaV1}.DeleteOptions` });

/** The `<Kind>List` wrapper of a kind's objects. */
export function listOf<T extends z.ZodType>(item: T) {
  return z.object({
    apiVersion: z.string().optional(),
    kind: z.string().optional(),
    metadata: listMetaSchema.optional(),
    items: z.array(item),
  });
}

export const watchEventSchema = z.object({ type: z.string(), object: opaqueObject }).meta({ id: `${metaV1}.WatchEvent` });

// ---- validation -------------------------------------------------------------------------------

export interface MetaRules {
  readonly namespaced: boolean;
  /** How the kind's names are checked; most kinds use DNS-1123 subdomains. */
  readonly nameRule: NameRule;
}

/** `ValidateObjectMeta`: name or generateName, name format, labels, annotations, owners. */
export function validateObjectMeta(meta: ObjectMeta, rules: MetaRules, field = 'metadata'): FieldCause[] {
  const causes: FieldCause[] = [];
  if (meta.name) causes.push(...checkName(child(field, 'name'), meta.name, rules.nameRule));
  else if (meta.generateName) {
    // The store appends a random suffix; the prefix must be valid with the trailing dash masked.
    const prefix = meta.generateName.endsWith('-') ? meta.generateName.slice(0, -1) : meta.generateName;
    if (prefix) causes.push(...checkName(child(field, 'generateName'), meta.generateName, () => rules.nameRule(prefix)));
  } else causes.push(required(child(field, 'name'), 'name or generateName is required'));
  if (rules.namespaced && meta.namespace) causes.push(...checkName(child(field, 'namespace'), meta.namespace, isDns1123Label));
  causes.push(...checkLabels(child(field, 'labels'), meta.labels));
  causes.push(...checkAnnotations(child(field, 'annotations'), meta.annotations));
  (meta.ownerReferences ?? []).forEach((owner, i) => {
    const at = index(child(field, 'ownerReferences'), i);
    if (!owner.apiVersion) causes.push(invalid(child(at, 'apiVersion'), owner.apiVersion, 'version must not be empty'));
    if (!owner.kind) causes.push(invalid(child(at, 'kind'), owner.kind, 'kind must not be empty'));
    if (!owner.name) causes.push(invalid(child(at, 'name'), owner.name, 'name must not be empty'));
    if (!owner.uid) causes.push(invalid(child(at, 'uid'), owner.uid, 'uid must not be empty'));
  });
  if ((meta.ownerReferences ?? []).filter((o) => o.controller).length > 1) {
    causes.push(
      invalid(
        child(field, 'ownerReferences'),
        meta.ownerReferences?.filter((o) => o.controller).map((o) => o.name),
        'Only one reference can have Controller set to true',
      ),
    );
  }
  (meta.finalizers ?? []).forEach((finalizer, i) => {
    causes.push(...checkName(index(child(field, 'finalizers'), i), finalizer, isQualifiedName));
  });
  if (meta.generation !== undefined && meta.generation < 0)
    causes.push(invalid(child(field, 'generation'), meta.generation, 'must be greater than or equal to 0'));
  return causes;
}

const selectorOperators = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;

/** `ValidateLabelSelector`: keys, values, and operator/values agreement. */
export function validateLabelSelector(selector: LabelSelector, field: string): FieldCause[] {
  const causes: FieldCause[] = checkLabels(child(field, 'matchLabels'), selector.matchLabels);
  (selector.matchExpressions ?? []).forEach((requirement, i) => {
    const at = index(child(field, 'matchExpressions'), i);
    causes.push(...supportedValue(child(at, 'operator'), requirement.operator, selectorOperators));
    const values = requirement.values ?? [];
    if ((requirement.operator === 'In' || requirement.operator === 'NotIn') && values.length === 0) {
      causes.push(required(child(at, 'values'), "must be specified when `operator` is 'In' or 'NotIn'"));
    }
    if ((requirement.operator === 'Exists' || requirement.operator === 'DoesNotExist') && values.length > 0) {
      causes.push({
        field: child(at, 'values'),
        reason: 'FieldValueForbidden',
        message: "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
      });
    }
    causes.push(...checkName(child(at, 'key'), requirement.key, isQualifiedName));
    values.forEach((v, j) => {
      causes.push(...checkName(index(child(at, 'values'), j), v, isLabelValue));
    });
  });
  return causes;
}

/** Whether `labels` satisfy `selector` (used to check a template matches its selector). */
export function selectorMatches(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  const byLabels = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpressions = (selector.matchExpressions ?? []).every((r) => {
    const has = Object.hasOwn(labels, r.key);
    const value = labels[r.key];
    switch (r.operator) {
      case 'In':
        return has && value !== undefined && (r.values ?? []).includes(value);
      case 'NotIn':
        return !has || value === undefined || !(r.values ?? []).includes(value);
      case 'Exists':
        return has;
      case 'DoesNotExist':
        return !has;
      default:
        return false;
    }
  });
  return byLabels && byExpressions;
}

export function isEmptySelector(selector: LabelSelector): boolean {
  return Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0;
}

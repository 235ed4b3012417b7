/**
 * Server-side apply: merges an applier's configuration into the live object and tracks what each
 * field manager owns in `metadata.managedFields`. What this simplifies against Kubernetes is in
 * docs/adr/021-server-side-apply.md.
 */

import type { KubeObject } from '../../../schemas/meta.ts';
import { apiVersionOf, type ResourceType } from '../../../schemas/registry.ts';
import { BadRequestError, ConflictError, type StatusCause } from '../../core/errors.ts';
import { kubeTime } from '../../core/kube-time.ts';
import { type FieldPath, FieldSet, fieldSetOf, formatFieldPath, removeAt, valueAt } from './field-set.ts';
import { cloneJson, deepEqual, isJsonObject, isUnsafeKey, type JsonObject, type JsonValue } from './json-value.ts';
import { listStrategyOf } from './list-strategies.ts';
import { identityOf, isEntryOf, type ManagedFieldsEntry, ownableFields, readManagedFields, withManagedFields, writeManagedFields } from './managed-fields.ts';

export interface ApplyConflict {
  readonly manager: string;
  readonly apiVersion: string;
  readonly subresource?: string;
  readonly path: FieldPath;
}

/**
 * 409 Conflict: the apply would change fields another manager set. Carries one
 * `FieldManagerConflict` cause per field, as kubectl expects to print them.
 */
export class FieldManagerConflictError extends ConflictError {
  override name = 'FieldManagerConflictError';
  constructor(
    ref: { resource: string; group: string; name: string },
    readonly conflicts: readonly ApplyConflict[],
  ) {
    super(ref);
    const causes: StatusCause[] = conflicts.map((conflict) => ({
      reason: 'FieldManagerConflict',
      message: `conflict with ${describeManager(conflict)}`,
      field: formatFieldPath(conflict.path),
    }));
    this.message = conflictMessage(conflicts);
    // ApiError.details is a readonly constructor property; ConflictError fixes it without causes.
    Object.defineProperty(this, 'details', { value: { ...this.details, causes }, enumerable: true });
  }
}

function describeManager(conflict: Omit<ApplyConflict, 'path'>): string {
  return `${JSON.stringify(conflict.manager)}${conflict.subresource ? ` with subresource ${JSON.stringify(conflict.subresource)}` : ''} using ${conflict.apiVersion}`;
}

function conflictMessage(conflicts: readonly ApplyConflict[]): string {
  const [only] = conflicts;
  if (conflicts.length === 1 && only) return `Apply failed with 1 conflict: conflict with ${describeManager(only)}: ${formatFieldPath(only.path)}`;
  const byManager = new Map<string, string[]>();
  for (const conflict of conflicts) {
    const manager = describeManager(conflict);
    byManager.set(manager, [...(byManager.get(manager) ?? []), formatFieldPath(conflict.path)]);
  }
  const lines = [...byManager].map(([manager, paths]) => `conflicts with ${manager}:\n${paths.map((path) => `- ${path}`).join('\n')}`);
  return `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
}

/**
 * Server-side apply of `applied` by `fieldManager`. `current` undefined means create. Returns
 * the merged object with `metadata.managedFields` updated; an apply that changes nothing returns
 * `current` as it was (no new timestamps), so the caller can skip the write.
 */
export function serverSideApply(
  type: ResourceType,
  current: KubeObject | undefined,
  applied: KubeObject,
  options: { fieldManager: string; force: boolean; now: Date; subresource?: string },
): KubeObject {
  const { fieldManager, force, subresource } = options;
  const apiVersion = apiVersionOf(type);
  checkTypeOf(applied, apiVersion, type.kind);
  const identity = identityOf(type, current ?? applied);
  const config = withoutNullFields(ownableFields(applied as unknown as JsonObject, subresource)) as JsonObject;
  const appliedSet = fieldSetOf(type.kind, config, identity);

  const entries = readManagedFields(current);
  const mine = entries.find((entry) => isEntryOf(entry, fieldManager, 'Apply', subresource));
  const live = (current ?? newObject(applied, apiVersion, type.kind)) as unknown as JsonObject;

  const contested = entries
    .filter((entry) => entry !== mine)
    .flatMap((entry) =>
      entry.fields
        .paths()
        .filter((path) => appliedSet.isLeaf(path) && !deepEqual(valueAt(config, path), valueAt(live, path)))
        .map(
          (path): ApplyConflict => ({
            manager: entry.manager,
            apiVersion: entry.apiVersion,
            path,
            ...(entry.subresource ? { subresource: entry.subresource } : {}),
          }),
        ),
    );
  // `kubectl apply --server-side` takes over what client-side apply last applied without conflict
  // (kube-apiserver's lastAppliedManager): fields the last-applied annotation holds at their live values.
  const takenOver = contested.length > 0 && !force && fieldManager === KUBECTL_APPLY_MANAGER ? lastAppliedFields(type, current) : undefined;
  const refused = takenOver ? contested.filter((conflict) => !takenOver.has(conflict.path)) : contested;
  if (refused.length > 0 && !force) {
    throw new FieldManagerConflictError({ resource: type.plural, group: type.group, name: identity.name }, refused);
  }
  const conflicts = contested;

  // Forcing moves the contested fields to this manager.
  const forced = new FieldSet(conflicts.map((conflict) => conflict.path));
  const others = entries.filter((entry) => entry !== mine).map((entry) => ({ ...entry, fields: entry.fields.difference(forced) }));
  const ownedByOthers = others.reduce((all, entry) => all.union(entry.fields), new FieldSet());

  // Fields this manager applied before and dropped now go, unless someone else still holds them.
  const dropped = (mine?.fields ?? new FieldSet())
    .difference(appliedSet)
    .paths()
    .filter((path) => !appliedSet.hasDescendantOf(path) && !ownedByOthers.has(path) && !ownedByOthers.hasDescendantOf(path) && !isItemKey(path))
    .sort((a, b) => b.length - a.length);
  const pruned = dropped.reduce<JsonValue>((object, path) => removeAt(object, path), live);
  const merged = mergeApplied(type.kind, pruned, config, []) as JsonObject;
  const metadata = withLastAppliedSynced(isJsonObject(merged.metadata) ? merged.metadata : {}, applied, fieldManager);
  const body = { ...merged, apiVersion: live.apiVersion ?? apiVersion, kind: live.kind ?? type.kind, metadata } as unknown as KubeObject;

  const updated: ManagedFieldsEntry = {
    manager: fieldManager,
    operation: 'Apply',
    apiVersion,
    time: kubeTime(options.now),
    fields: appliedSet,
    ...(subresource ? { subresource } : {}),
  };
  const next = entries.map((entry) => (entry === mine ? updated : { ...entry, fields: entry.fields.difference(forced) }));
  if (!mine) next.push(updated);

  if (current && isNoOp(current, body, entries, next)) return cloneJson(current);
  return cloneJson(withManagedFields(body, writeManagedFields(next)));
}

/** The field manager `kubectl apply --server-side` uses, the only one kube-apiserver lets take over from client-side apply. */
const KUBECTL_APPLY_MANAGER = 'kubectl';
const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * The fields client-side apply last applied that still hold the values it applied: the
 * annotation's field set less every field whose live value differs or is missing. Undefined
 * when there is no annotation of this kind and version to go by.
 */
function lastAppliedFields(type: ResourceType, current: KubeObject | undefined): FieldSet | undefined {
  const text = current?.metadata.annotations?.[LAST_APPLIED_ANNOTATION];
  if (!current || !text) return undefined;
  let lastApplied: unknown;
  try {
    lastApplied = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isJsonObject(lastApplied) || lastApplied.apiVersion !== apiVersionOf(type)) return undefined;
  const config = withoutNullFields(ownableFields(lastApplied, undefined)) as JsonObject;
  const live = current as unknown as JsonObject;
  const fields = fieldSetOf(type.kind, config, identityOf(type, current));
  return fields.filter((path) => {
    const liveValue = valueAt(live, path);
    return liveValue !== undefined && (!fields.isLeaf(path) || deepEqual(valueAt(config, path), liveValue));
  });
}

/**
 * After `kubectl apply --server-side`, an object that has the last-applied annotation gets the
 * configuration just applied in it (kube-apiserver's lastAppliedUpdater), so a later client-side
 * apply computes its patch from what is really applied.
 */
function withLastAppliedSynced(metadata: JsonObject, applied: KubeObject, fieldManager: string): JsonObject {
  const annotations = isJsonObject(metadata.annotations) ? metadata.annotations : undefined;
  if (fieldManager !== KUBECTL_APPLY_MANAGER || typeof annotations?.[LAST_APPLIED_ANNOTATION] !== 'string') return metadata;
  const { [LAST_APPLIED_ANNOTATION]: _previous, ...appliedAnnotations } = applied.metadata.annotations ?? {};
  const { annotations: _annotations, ...appliedMetadata } = applied.metadata;
  const configuration = {
    ...applied,
    metadata: Object.keys(appliedAnnotations).length > 0 ? { ...appliedMetadata, annotations: appliedAnnotations } : appliedMetadata,
  };
  return { ...metadata, annotations: { ...annotations, [LAST_APPLIED_ANNOTATION]: `${JSON.stringify(configuration)}\n` } };
}

/** A list item's key field (`name` under `k:{"name":...}`) goes with the item, never alone. */
function isItemKey(path: FieldPath): boolean {
  const parent = path.at(-2);
  const field = path.at(-1);
  if (!parent?.startsWith('k:') || !field?.startsWith('f:')) return false;
  try {
    return Object.hasOwn(JSON.parse(parent.slice(2)) as object, field.slice(2));
  } catch {
    return false;
  }
}

/** What a create by apply starts from: the identity of the applied object, which nobody owns. */
function newObject(applied: KubeObject, apiVersion: string, kind: string): KubeObject {
  const { name, namespace } = (isJsonObject(applied.metadata) ? applied.metadata : {}) as KubeObject['metadata'];
  return { apiVersion, kind, metadata: { ...(name !== undefined ? { name } : {}), ...(namespace !== undefined ? { namespace } : {}) } };
}

function checkTypeOf(applied: KubeObject, apiVersion: string, kind: string): void {
  if (!isJsonObject(applied)) throw new BadRequestError('error decoding YAML: the apply configuration must be an object');
  if (!applied.apiVersion || !applied.kind) {
    throw new BadRequestError('the apply configuration must set both apiVersion and kind');
  }
  if (applied.apiVersion !== apiVersion || applied.kind !== kind) {
    throw new BadRequestError(
      `the apply configuration is a ${String(applied.kind)} of ${String(applied.apiVersion)}, but this resource holds ${kind} of ${apiVersion}`,
    );
  }
}

/** Nothing but timestamps would change: same object, same sets for every manager. */
function isNoOp(current: KubeObject, body: KubeObject, before: readonly ManagedFieldsEntry[], after: readonly ManagedFieldsEntry[]): boolean {
  const { managedFields: _a, ...currentMetadata } = current.metadata;
  const { managedFields: _b, ...bodyMetadata } = body.metadata;
  const sameEntries = (a: readonly ManagedFieldsEntry[], b: readonly ManagedFieldsEntry[]) =>
    a.length === b.length &&
    a.every((entry, index) => {
      const other = b[index];
      return (
        other !== undefined &&
        isEntryOf(other, entry.manager, entry.operation, entry.subresource) &&
        other.apiVersion === entry.apiVersion &&
        other.fields.equals(entry.fields)
      );
    });
  const nonEmpty = (entries: readonly ManagedFieldsEntry[]) => entries.filter((entry) => entry.fields.size > 0);
  return deepEqual({ ...current, metadata: currentMetadata }, { ...body, metadata: bodyMetadata }) && sameEntries(nonEmpty(before), nonEmpty(after));
}

/**
 * A null in an apply configuration states no value; it neither sets nor owns the field.
 * (Kubernetes treats it the same way for optional fields.)
 */
function withoutNullFields(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.map(withoutNullFields);
  if (!isJsonObject(value)) return value;
  return Object.fromEntries(Object.entries(value).flatMap(([key, child]) => (child === null || isUnsafeKey(key) ? [] : [[key, withoutNullFields(child)]])));
}

/** The applied configuration laid over the live object: maps merge, keyed lists merge by key, sets union, the rest is replaced. */
function mergeApplied(kind: string, live: JsonValue | undefined, config: JsonValue, fieldPath: readonly string[]): JsonValue {
  if (isJsonObject(config)) {
    const result: JsonObject = isJsonObject(live) ? { ...live } : {};
    for (const [key, value] of Object.entries(config)) result[key] = mergeApplied(kind, result[key], value, [...fieldPath, key]);
    return result;
  }
  if (!Array.isArray(config)) return config;
  const strategy = listStrategyOf(kind, fieldPath);
  if (strategy.type === 'atomic' || !Array.isArray(live)) return config;
  if (strategy.type === 'set') return [...live, ...config.filter((item) => !live.some((existing) => deepEqual(existing, item)))];
  const result = [...live];
  for (const item of config) {
    const keyValue = isJsonObject(item) ? item[strategy.key] : undefined;
    const index = result.findIndex((existing) => isJsonObject(existing) && deepEqual(existing[strategy.key], keyValue));
    if (index < 0) result.push(mergeApplied(kind, undefined, item, fieldPath));
    else result[index] = mergeApplied(kind, result[index], item, fieldPath);
  }
  return result;
}

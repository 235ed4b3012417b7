/**
 * `metadata.managedFields`: which manager set which fields, by operation. Server-side apply reads it
 * to find conflicts and fields to remove; every other write records an `Update` entry here.
 */
import { z } from 'zod';
import type { KubeObject, ObjectMeta, ManagedFieldsEntry as StoredManagedFieldsEntry } from '../../../schemas/meta.ts';
import { apiVersionOf, type ResourceType } from '../../../schemas/registry.ts';
import { kubeTime } from '../../core/kube-time.ts';
import { decodeFieldsV1, encodeFieldsV1, type FieldPath, FieldSet, fieldNodesOf } from './field-set.ts';
import { deepEqual, isJsonObject, type JsonObject } from './json-value.ts';

export interface ManagedFieldsEntry {
  readonly manager: string;
  readonly operation: 'Apply' | 'Update';
  readonly apiVersion: string;
  readonly time: string;
  readonly subresource?: string;
  readonly fields: FieldSet;
}

const storedEntry = z.object({
  manager: z.string(),
  operation: z.enum(['Apply', 'Update']),
  apiVersion: z.string().optional(),
  time: z.string().optional(),
  fieldsType: z.literal('FieldsV1').optional(),
  fieldsV1: z.unknown().optional(),
  subresource: z.string().optional(),
});

/**
 * The entries of `managedFields`. Entries that do not parse are dropped, which is what Kubernetes
 * does with managed fields it cannot decode: ownership starts over rather than failing the write.
 */
export function readManagedFields(object: KubeObject | undefined): ManagedFieldsEntry[] {
  const stored = object?.metadata.managedFields;
  if (!Array.isArray(stored)) return [];
  return stored.flatMap((raw): ManagedFieldsEntry[] => {
    const entry = readManagedFieldsEntry(raw, object);
    return entry ? [entry] : [];
  });
}

/** One entry of `object`'s managedFields; undefined when it does not parse. */
function readManagedFieldsEntry(raw: unknown, object: KubeObject | undefined): ManagedFieldsEntry | undefined {
  const parsed = storedEntry.safeParse(raw);
  if (!parsed.success) return undefined;
  const fields = parsed.data.fieldsV1 === undefined ? new FieldSet() : decodeFieldsV1(parsed.data.fieldsV1);
  if (!fields) return undefined;
  const { manager, operation, apiVersion, time, subresource } = parsed.data;
  return { manager, operation, apiVersion: apiVersion ?? object?.apiVersion ?? '', time: time ?? '', fields, ...(subresource ? { subresource } : {}) };
}

export function writeManagedFields(entries: readonly ManagedFieldsEntry[]): StoredManagedFieldsEntry[] {
  return entries
    .filter((entry) => entry.fields.size > 0)
    .map((entry) => ({
      manager: entry.manager,
      operation: entry.operation,
      apiVersion: entry.apiVersion,
      time: entry.time,
      fieldsType: 'FieldsV1',
      fieldsV1: encodeFieldsV1(entry.fields),
      ...(entry.subresource ? { subresource: entry.subresource } : {}),
    }));
}

/** Same manager, operation and subresource: the identity of an entry. */
export function isEntryOf(entry: ManagedFieldsEntry, manager: string, operation: ManagedFieldsEntry['operation'], subresource: string | undefined): boolean {
  return entry.manager === manager && entry.operation === operation && entry.subresource === subresource;
}

/** Metadata the server sets: nobody owns it. */
const systemMetadata = new Set([
  'name',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'managedFields',
  'selfLink',
]);

/**
 * The part of an object a write through `subresource` can own: `status` alone through the status
 * subresource, everything but `status` otherwise (the main resource resets status, as Kubernetes'
 * per-resource "reset fields" do). apiVersion, kind and server-set metadata are never owned.
 */
export function ownableFields(object: JsonObject, subresource: string | undefined): JsonObject {
  if (subresource === 'status') return object.status === undefined ? {} : { status: object.status };
  const { apiVersion: _apiVersion, kind: _kind, status: _status, metadata, ...rest } = object;
  if (!isJsonObject(metadata)) return rest;
  const ownedMetadata = Object.fromEntries(Object.entries(metadata).filter(([key]) => !systemMetadata.has(key)));
  return Object.keys(ownedMetadata).length > 0 ? { ...rest, metadata: ownedMetadata } : rest;
}

export function identityOf(type: ResourceType, object: { readonly metadata?: unknown }): { kind: string; group: string; name: string } {
  const name = isJsonObject(object.metadata) && typeof object.metadata.name === 'string' ? object.metadata.name : '';
  return { kind: type.kind, group: type.group, name };
}

/**
 * Records an `Update` entry for a create, update or patch by `fieldManager`: it gains the fields
 * the write added or changed, every other manager loses those, and fields the write removed
 * leave every set. A write that changed nothing leaves managedFields as they were.
 */
export function recordUpdateManager(
  type: ResourceType,
  before: KubeObject | undefined,
  after: KubeObject,
  options: { fieldManager: string; now: Date; subresource?: string },
): KubeObject {
  const { fieldManager, subresource } = options;
  const supplied = after.metadata.managedFields;
  // A writer that sends managedFields different from the stored ones replaces them on purpose.
  const baseline = supplied === undefined || (before !== undefined && deepEqual(supplied, before.metadata.managedFields)) ? before : after;
  const baselineFields = baseline?.metadata.managedFields;

  const beforeOwnable = before ? ownableFields(before as unknown as JsonObject, subresource) : {};
  const afterOwnable = ownableFields(after as unknown as JsonObject, subresource);
  const beforeNodes = fieldNodesOf(type.kind, beforeOwnable);
  const afterNodes = fieldNodesOf(type.kind, afterOwnable);
  const beforeSet = beforeNodes.fields;
  const afterSet = afterNodes.fields;
  const removed = beforeSet.difference(afterSet);
  const changed = afterSet.filter((path) => !beforeSet.has(path) || (afterSet.isLeaf(path) && !deepEqual(beforeNodes.valueOf(path), afterNodes.valueOf(path))));

  if (changed.size === 0 && removed.size === 0) return withManagedFields(after, baselineFields);

  const taken = changed.union(removed);
  const takenPaths = taken.paths();
  // Another manager's entry that owns none of the taken fields comes out of this write as it went
  // in: kept as stored, not decoded and encoded again (a pod's status write touches only the
  // status writer's entry; docs/adr/201). Only an entry in the form this function writes is kept
  // so, so the result is the same as decoding every entry.
  let mine: ManagedFieldsEntry | undefined;
  const next: StoredManagedFieldsEntry[] = [];
  for (const raw of Array.isArray(baselineFields) ? (baselineFields as readonly unknown[]) : []) {
    if (isWrittenForm(raw) && !isWrittenEntryOf(raw, fieldManager, subresource) && !takenPaths.some((path) => holdsMember(raw.fieldsV1, path))) {
      next.push(raw);
      continue;
    }
    const entry = readManagedFieldsEntry(raw, baseline);
    if (!entry) continue;
    if (!mine && isEntryOf(entry, fieldManager, 'Update', subresource)) {
      mine = entry;
      next.push(...writeManagedFields([updatedEntry(entry)]));
    } else {
      next.push(...writeManagedFields([{ ...entry, fields: entry.fields.difference(taken) }]));
    }
  }
  if (!mine) next.push(...writeManagedFields([updatedEntry(undefined)]));
  return withManagedFields(after, next);

  function updatedEntry(previous: ManagedFieldsEntry | undefined): ManagedFieldsEntry {
    return {
      manager: fieldManager,
      operation: 'Update',
      apiVersion: apiVersionOf(type),
      time: kubeTime(options.now),
      fields: (previous?.fields ?? new FieldSet()).union(changed).difference(removed),
      ...(subresource ? { subresource } : {}),
    };
  }
}

/** `isEntryOf` for an entry in written form: an `Update` of this manager through this subresource. */
function isWrittenEntryOf(raw: StoredManagedFieldsEntry, manager: string, subresource: string | undefined): boolean {
  return raw.manager === manager && raw.operation === 'Update' && raw.subresource === subresource;
}

/** The keys of a stored entry, in the order `writeManagedFields` writes them. */
const writtenKeys = ['manager', 'operation', 'apiVersion', 'time', 'fieldsType', 'fieldsV1'];

/**
 * Whether a stored entry is exactly what `writeManagedFields` would write for it after reading it
 * back (same members, values and key order, fields not empty): then keeping it as it is and
 * rewriting it give the same JSON.
 */
function isWrittenForm(raw: unknown): raw is StoredManagedFieldsEntry & { readonly fieldsV1: JsonObject } {
  if (!isJsonObject(raw)) return false;
  const keys = Object.keys(raw);
  if (keys.length !== writtenKeys.length && keys.length !== writtenKeys.length + 1) return false;
  if (keys.some((key, index) => key !== (writtenKeys[index] ?? 'subresource'))) return false;
  return (
    typeof raw.manager === 'string' &&
    (raw.operation === 'Apply' || raw.operation === 'Update') &&
    typeof raw.apiVersion === 'string' &&
    typeof raw.time === 'string' &&
    raw.fieldsType === 'FieldsV1' &&
    (raw.subresource === undefined || (typeof raw.subresource === 'string' && raw.subresource !== '')) &&
    isEncodedSet(raw.fieldsV1, true)
  );
}

/** Whether a FieldsV1 document is one `encodeFieldsV1` writes: sorted keys, `.` first and only beside children, `{}` leaves, not empty. */
function isEncodedSet(node: unknown, root: boolean): boolean {
  if (!isJsonObject(node)) return false;
  const keys = Object.keys(node);
  if (keys.length === 0) return !root;
  let previous: string | undefined;
  for (const key of keys) {
    if (key === '.') {
      const member = node[key];
      if (root || previous !== undefined || keys.length === 1 || !isJsonObject(member) || Object.keys(member).length > 0) return false;
    } else if (!/^[fkvi]:/.test(key) || (previous !== undefined && previous >= key) || !isEncodedSet(node[key], false)) {
      return false;
    }
    previous = key;
  }
  return true;
}

/** Whether the set a document in written form describes holds `path`. */
function holdsMember(document: JsonObject, path: FieldPath): boolean {
  let node: JsonObject = document;
  for (const element of path) {
    const child = Object.hasOwn(node, element) ? node[element] : undefined;
    if (!isJsonObject(child)) return false;
    node = child;
  }
  return path.length > 0 && (Object.keys(node).length === 0 || Object.hasOwn(node, '.'));
}

export function withManagedFields(object: KubeObject, managedFields: ObjectMeta['managedFields']): KubeObject {
  const { managedFields: _, ...metadata } = object.metadata;
  return {
    ...object,
    metadata: managedFields && managedFields.length > 0 ? { ...metadata, managedFields } : metadata,
  };
}

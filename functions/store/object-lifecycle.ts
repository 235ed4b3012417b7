/**
 * The storage layer's rules for server-owned metadata, as pure functions: what a create, an
 * update or a delete turns the stored object into, and the item writes (`PlannedWrite`) that
 * carry it out. Every store adapter plans with these and only commits the result, at revisions
 * it allocates; so graceful deletion, finalizers, generation and conflicts behave the same
 * whatever holds the objects.
 */
import { randomInt } from 'node:crypto';
import { type KubeObject, type ObjectMeta, storedObjectSchema } from '../../schemas/meta.ts';
import type { GenerationRule, ResourceType } from '../../schemas/registry.ts';
import { BadRequestError, ConflictError, InvalidError, RequestEntityTooLargeError, type ResourceRef } from '../core/errors.ts';
import { kubeTime } from '../core/kube-time.ts';
import { type ChangeEventType, type Projection, projection } from './object-matcher.ts';
import type { DeleteOptions } from './store.ts';

/** An object as the store wrote it, parsed (zod) from its JSON. */
export function parseStoredObject(json: string): KubeObject {
  return storedObjectSchema.parse(JSON.parse(json));
}

export function refOf(type: ResourceType, name: string): ResourceRef {
  return { resource: type.plural, group: type.group, name, kind: type.kind };
}

/** The namespace an object of `type` is stored under: required for namespaced types, none otherwise. */
export function storedNamespace(type: ResourceType, namespace: string | undefined): string | undefined {
  if (!type.namespaced) return undefined;
  if (!namespace) throw new BadRequestError(`${type.plural} are namespaced: a namespace is required`);
  return namespace;
}

/** Kubernetes' alphabet for generated name suffixes (no vowels, no look-alikes). */
const suffixAlphabet = 'bcdfghjklmnpqrstvwxz2456789';

export function generatedName(prefix: string): string {
  let suffix = '';
  for (let i = 0; i < 5; i++) suffix += suffixAlphabet[randomInt(suffixAlphabet.length)];
  return `${prefix}${suffix}`;
}

/**
 * Whether two values have the same JSON whatever their objects' key order: what
 * `canonicalJson(a) === canonicalJson(b)` says, without building either string. An update's
 * no-change check runs on every write of a whole object (a pod is kilobytes); the strings and
 * the sorted copies behind them were a large part of a status write's CPU and garbage.
 */
export function sameJson(a: unknown, b: unknown): boolean {
  const left = asJson(a);
  const right = asJson(b);
  // JSON.stringify writes nothing at all for these.
  if (omitted(left) || omitted(right)) return omitted(left) && omitted(right);
  return sameJsonValue(left, right);
}

/** What JSON.stringify writes for a value: `toJSON`'s result; non-finite numbers as null. */
function asJson(value: unknown): unknown {
  if (typeof value === 'object' && value !== null && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return (value as { toJSON(): unknown }).toJSON();
  }
  if (typeof value === 'number' && !Number.isFinite(value)) return null;
  return value;
}

/** Left out of an object's JSON (and null in an array's). */
function omitted(value: unknown): boolean {
  return value === undefined || typeof value === 'function' || typeof value === 'symbol';
}

/** Two values as JSON.stringify sees them (after `asJson`), neither one omitted. */
function sameJsonValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const other = b as unknown[];
    if (a.length !== other.length) return false;
    for (let i = 0; i < a.length; i++) {
      const item = asJson(a[i]);
      const otherItem = asJson(other[i]);
      // An array writes null where an object would leave a member out.
      if (!sameJsonValue(omitted(item) ? null : item, omitted(otherItem) ? null : otherItem)) return false;
    }
    return true;
  }
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  let shared = 0;
  for (const key of Object.keys(left)) {
    const value = asJson(left[key]);
    if (omitted(value)) continue;
    if (!Object.hasOwn(right, key)) return false;
    const otherValue = asJson(right[key]);
    if (omitted(otherValue) || !sameJsonValue(value, otherValue)) return false;
    shared++;
  }
  let written = 0;
  for (const key of Object.keys(right)) if (!omitted(asJson(right[key]))) written++;
  return written === shared;
}

/** JSON with object keys sorted, so equal values compare equal whatever their key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) => {
    if (inner === null || typeof inner !== 'object' || Array.isArray(inner)) return inner;
    return Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  });
}

function withMeta(object: KubeObject, metadata: ObjectMeta): KubeObject {
  return { ...object, metadata };
}

/** Drops undefined entries so stored JSON has no `"x": undefined` ghosts. */
function compact(meta: ObjectMeta): ObjectMeta {
  return Object.fromEntries(Object.entries(meta).filter(([, value]) => value !== undefined));
}

/**
 * A new object as created: `name` resolved (from generateName by the caller), identity and
 * timestamps assigned, client-sent server fields dropped.
 */
export function prepareCreate(type: ResourceType, object: KubeObject, name: string, uid: string, now: Date): KubeObject {
  const { resourceVersion: _rv, deletionTimestamp: _dt, deletionGracePeriodSeconds: _dg, ...meta } = object.metadata;
  const namespace = storedNamespace(type, object.metadata.namespace);
  return withMeta(
    object,
    compact({
      ...meta,
      name,
      namespace,
      uid,
      creationTimestamp: kubeTime(now),
      // A kind without a rule keeps what the client sent, as kube-apiserver's BeforeCreate does.
      generation: type.generation ? 1 : meta.generation,
    }),
  );
}

/** The name a create will use, or InvalidError when there is neither name nor generateName. */
export function requestedName(type: ResourceType, object: KubeObject): { name: string; generated: boolean } {
  if (object.metadata.name) return { name: object.metadata.name, generated: false };
  if (object.metadata.generateName) return { name: generatedName(object.metadata.generateName), generated: true };
  throw new InvalidError({ kind: type.kind, group: type.group, name: '' }, [
    { reason: 'FieldValueRequired', field: 'metadata.name', message: 'Required value: name or generateName is required' },
  ]);
}

export interface UpdateOutcome {
  readonly object: KubeObject;
  /** The update removed the last finalizer of an object marked for deletion: remove it now. */
  readonly remove: boolean;
}

/**
 * Everything of an object but its metadata (and its status, when `withStatus` is false). Not its
 * apiVersion either: kube-apiserver compares both objects in the request's version, so an update
 * of a custom resource through another served version is no change by itself.
 */
function contentOf(object: KubeObject, withStatus: boolean): Record<string, unknown> {
  const { metadata: _metadata, apiVersion: _apiVersion, kind: _kind, ...content } = object;
  if (withStatus) return content;
  const { status: _status, ...rest } = content;
  return rest;
}

/** Whether `incoming` replacing `stored` moves the generation under `rule` (docs/adr/204). */
export function changesGeneration(rule: GenerationRule, stored: KubeObject, incoming: KubeObject): boolean {
  switch (rule) {
    case 'spec':
      return !sameJson(stored.spec, incoming.spec);
    case 'content':
      return !sameJson(contentOf(stored, true), contentOf(incoming, true));
    case 'content-but-status':
      return !sameJson(contentOf(stored, false), contentOf(incoming, false));
    case 'content-or-labels':
      return !sameJson(contentOf(stored, true), contentOf(incoming, true)) || !sameJson(stored.metadata.labels ?? {}, incoming.metadata.labels ?? {});
  }
}

/**
 * `incoming` replacing `stored`: identity, creation and deletion marks stay as stored; so does
 * the generation, unless the kind's rule says the change moves it. A generation the client
 * sent counts for nothing, as kube-apiserver's BeforeUpdate has it.
 */
export function prepareUpdate(type: ResourceType, stored: KubeObject, incoming: KubeObject): UpdateOutcome {
  const was = stored.metadata;
  const moved = type.generation !== undefined && changesGeneration(type.generation, stored, incoming);
  const generation = moved ? (was.generation ?? 0) + 1 : was.generation;
  const { resourceVersion: _rv, ...meta } = incoming.metadata;
  const object = withMeta(
    incoming,
    compact({
      ...meta,
      name: was.name,
      namespace: was.namespace,
      uid: was.uid,
      creationTimestamp: was.creationTimestamp,
      generation,
      deletionTimestamp: was.deletionTimestamp,
      deletionGracePeriodSeconds: was.deletionGracePeriodSeconds,
    }),
  );
  const hadFinalizers = (was.finalizers?.length ?? 0) > 0;
  const hasFinalizers = (object.metadata.finalizers?.length ?? 0) > 0;
  const remove = was.deletionTimestamp !== undefined && hadFinalizers && !hasFinalizers && (was.deletionGracePeriodSeconds ?? 0) === 0;
  return { object, remove };
}

export type DeleteOutcome =
  | { readonly action: 'remove'; readonly object: KubeObject }
  | { readonly action: 'mark'; readonly object: KubeObject }
  | { readonly action: 'none'; readonly object: KubeObject };

/** Checks `preconditions` of a delete against the stored object (ConflictError on mismatch). */
export function checkDeletePreconditions(type: ResourceType, stored: KubeObject, options: DeleteOptions | undefined): void {
  const name = stored.metadata.name ?? '';
  const { uid, resourceVersion } = options?.preconditions ?? {};
  if (uid !== undefined && uid !== stored.metadata.uid) {
    throw new ConflictError(refOf(type, name), `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${stored.metadata.uid ?? ''}`);
  }
  if (resourceVersion !== undefined && resourceVersion !== stored.metadata.resourceVersion) {
    throw new ConflictError(
      refOf(type, name),
      `Precondition failed: ResourceVersion in precondition: ${resourceVersion}, ResourceVersion in object meta: ${stored.metadata.resourceVersion ?? ''}`,
    );
  }
}

/**
 * Kubernetes graceful deletion. Finalizers, a grace period or `mark` only set deletionTimestamp;
 * a marked object without finalizers goes when deleted again with grace 0.
 */
export function prepareDelete(stored: KubeObject, options: DeleteOptions | undefined, now: Date): DeleteOutcome {
  const meta = stored.metadata;
  const grace = options?.gracePeriodSeconds ?? 0;
  const finalizers = [...new Set([...(meta.finalizers ?? []), ...(options?.addFinalizers ?? [])])];
  const finalizersAdded = finalizers.length !== (meta.finalizers?.length ?? 0);

  if (meta.deletionTimestamp !== undefined) {
    if (finalizers.length === 0 && grace === 0 && !options?.mark) return { action: 'remove', object: stored };
    // A shorter grace period than the one marked takes over, as in Kubernetes.
    const shorter = options?.gracePeriodSeconds !== undefined && grace < (meta.deletionGracePeriodSeconds ?? 0);
    if (!shorter && !finalizersAdded) return { action: 'none', object: stored };
    return {
      action: 'mark',
      object: withMeta(
        stored,
        compact({
          ...meta,
          finalizers: finalizers.length > 0 ? finalizers : undefined,
          deletionGracePeriodSeconds: shorter ? grace : meta.deletionGracePeriodSeconds,
        }),
      ),
    };
  }

  if (finalizers.length === 0 && grace === 0 && !options?.mark) return { action: 'remove', object: stored };
  return {
    action: 'mark',
    object: withMeta(
      stored,
      compact({
        ...meta,
        finalizers: finalizers.length > 0 ? finalizers : undefined,
        deletionTimestamp: kubeTime(now.getTime() + grace * 1000),
        deletionGracePeriodSeconds: grace,
        // Kubernetes moves a generation it keeps when it sets deletionTimestamp, whatever the kind.
        generation: meta.generation !== undefined && meta.generation > 0 ? meta.generation + 1 : meta.generation,
      }),
    ),
  };
}

export function withResourceVersion(object: KubeObject, revision: number): KubeObject {
  return withMeta(object, { ...object.metadata, resourceVersion: String(revision) });
}

/** Sort key of an object: `<namespace>/<name>`, namespace '' for cluster-scoped objects. */
export function objectKey(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

/** The key prefix of one namespace's objects. */
export function namespacePrefix(namespace: string): string {
  return `${namespace}/`;
}

/** An object as stored: its key, the revision it was written at and the object (stamped with it). */
export interface StoredObject {
  readonly key: string;
  readonly revision: number;
  readonly object: KubeObject;
}

/** One planned item change, committed at a revision the adapter allocates. */
export interface PlannedWrite {
  readonly key: string;
  readonly action: 'put' | 'remove';
  /** The object to store (put) or its last state (remove), without the new resourceVersion. */
  readonly object: KubeObject;
  /** The stored revision the item must still have, or 'absent' for a create. */
  readonly expect: number | 'absent';
  readonly event: ChangeEventType;
  /** Labels and fields before the change (updates and removals by update), for selective watches. */
  readonly prior?: Projection;
}

/**
 * `uid` is the store's fresh one unless admission assigned one already: kube-apiserver gives a
 * new object its uid before the kind's strategy runs, and a Job's strategy labels its pods with it.
 * Admission drops a uid a client sent, so only its own reaches the store.
 */
export function planCreate(type: ResourceType, object: KubeObject, name: string, uid: string, now: Date): PlannedWrite {
  const prepared = prepareCreate(type, object, name, object.metadata.uid || uid, now);
  return { key: objectKey(prepared.metadata.namespace, name), action: 'put', object: prepared, expect: 'absent', event: 'ADDED' };
}

/** The resourceVersion an update must find stored: `given`, else the object's own; none for null or ''. */
export function expectedRevision(object: KubeObject, given: string | null | undefined): string | undefined {
  if (given === null) return undefined;
  // An empty resourceVersion means "no precondition", as in Kubernetes.
  return (given ?? object.metadata.resourceVersion) || undefined;
}

/**
 * The write an update makes of `stored`, or undefined when nothing would change.
 * ConflictError when the caller expected another revision than the stored one.
 */
export function planUpdate(type: ResourceType, stored: StoredObject, object: KubeObject, expected: string | undefined): PlannedWrite | undefined {
  const name = stored.object.metadata.name ?? '';
  if (expected !== undefined && expected !== String(stored.revision)) throw new ConflictError(refOf(type, name));
  const outcome = prepareUpdate(type, stored.object, object);
  if (outcome.remove) {
    return { key: stored.key, action: 'remove', object: outcome.object, expect: stored.revision, event: 'DELETED', prior: projection(type, stored.object) };
  }
  // Kubernetes skips writes that change nothing: no new revision, no event.
  if (sameJson(withResourceVersion(outcome.object, stored.revision), stored.object)) return undefined;
  return { key: stored.key, action: 'put', object: outcome.object, expect: stored.revision, event: 'MODIFIED', prior: projection(type, stored.object) };
}

/** The write a delete makes of `stored` (none when it only confirms a mark), and whether the object goes. */
export function planDelete(
  type: ResourceType,
  stored: StoredObject,
  options: DeleteOptions | undefined,
  now: Date,
): { write?: PlannedWrite; removed: boolean } {
  checkDeletePreconditions(type, stored.object, options);
  const outcome = prepareDelete(stored.object, options, now);
  switch (outcome.action) {
    case 'none':
      return { removed: false };
    case 'mark':
      return {
        write: { key: stored.key, action: 'put', object: outcome.object, expect: stored.revision, event: 'MODIFIED', prior: projection(type, stored.object) },
        removed: false,
      };
    case 'remove':
      return { write: { key: stored.key, action: 'remove', object: outcome.object, expect: stored.revision, event: 'DELETED' }, removed: true };
  }
}

/** DynamoDB's item limit: attribute names plus values, UTF-8. Every adapter keeps to it, so objects move freely between them. */
export const maxItemBytes = 400 * 1024;
/** Room kept for the store's own attributes and the revision stamped at commit. */
const itemHeadroomBytes = 1024;
/** The largest object (as JSON) the store accepts. */
export const maxObjectBytes = maxItemBytes - itemHeadroomBytes;
/** Writes committed together: DynamoDB transactions hold at most 4 MB. */
export const maxTransactionBytes = 4 * 1024 * 1024;
/** Writes one `batch` may hold. */
export const maxBatchWrites = 25;

/** Bytes the larger of the object item and the change entry takes, before headroom. */
export function storedSize(body: string, key: string, typeId: string, prior: string | undefined): number {
  const bytes = (text: string): number => Buffer.byteLength(text, 'utf8');
  const objectItem = bytes(body) + 2 * bytes(key) + bytes(typeId) + 64;
  const changeItem = bytes(body) + bytes(prior ?? '') + bytes(typeId) + 64;
  return Math.max(objectItem, changeItem);
}

/**
 * Refuses what could not be stored or read back: malformed metadata (422 naming the field) and
 * objects over the item limit (413). Returns the write's stored size.
 */
export function checkWritable(type: ResourceType, write: PlannedWrite): number {
  const parsed = storedObjectSchema.safeParse(write.object);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidError({ kind: type.kind, group: type.group, name: write.object.metadata.name ?? '' }, [
      { field: issue?.path.join('.') ?? 'metadata', message: `Invalid value: ${issue?.message ?? 'malformed object'}` },
    ]);
  }
  const size = storedSize(JSON.stringify(write.object), write.key, type.id, write.prior ? JSON.stringify(write.prior) : undefined);
  if (size > maxObjectBytes) {
    throw new RequestEntityTooLargeError(
      `${type.plural} "${write.object.metadata.name ?? ''}" is too large to store: ${size} bytes, limit is ${maxObjectBytes} bytes (DynamoDB's ${maxItemBytes}-byte item limit less room for the store's attributes)`,
    );
  }
  return size;
}

/** Checks every write of one commit, and that they fit one transaction together (413 otherwise). Returns the bytes they store. */
export function checkWritableTogether(type: ResourceType, writes: readonly PlannedWrite[]): number {
  let total = 0;
  // Each write is stored twice: the object item and its change entry.
  for (const write of writes) total += 2 * checkWritable(type, write);
  if (total > maxTransactionBytes - 64 * 1024) {
    throw new RequestEntityTooLargeError(`the writes together are too large for one transaction: ${total} bytes, limit is ${maxTransactionBytes} bytes`);
  }
  return total;
}

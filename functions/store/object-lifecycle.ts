/**
 * The storage layer's rules for server-owned metadata, as pure functions: what a create, an
 * update or a delete turns the stored object into. The DynamoDB adapter only commits the result.
 */
import { randomInt } from 'node:crypto';
import type { KubeObject, ObjectMeta } from '../../schemas/meta.ts';
import type { ResourceType } from '../../schemas/registry.ts';
import { BadRequestError, ConflictError, InvalidError, type ResourceRef } from '../core/errors.ts';
import { kubeTime } from '../core/kube-time.ts';
import type { DeleteOptions } from './store.ts';

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
      generation: 'spec' in object ? 1 : undefined,
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
 * `incoming` replacing `stored`: identity, creation and deletion marks stay as stored;
 * generation moves when `spec` changes.
 */
export function prepareUpdate(stored: KubeObject, incoming: KubeObject): UpdateOutcome {
  const was = stored.metadata;
  const specChanged = canonicalJson(stored.spec) !== canonicalJson(incoming.spec);
  const generation = was.generation !== undefined ? was.generation + (specChanged ? 1 : 0) : 'spec' in incoming ? 1 : undefined;
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
        // Kubernetes moves generation when it sets deletionTimestamp, so controllers see a new spec round.
        generation: meta.generation !== undefined ? meta.generation + 1 : undefined,
      }),
    ),
  };
}

export function withResourceVersion(object: KubeObject, revision: number): KubeObject {
  return withMeta(object, { ...object.metadata, resourceVersion: String(revision) });
}

/**
 * What the garbage collector does for one owner, as a pure function of the owner (as stored
 * now, or absent) and the objects that name it in their `ownerReferences`:
 * - owner gone (or the name now belongs to another uid): dependents it alone owned are deleted
 *   (Background), dependents with other owners just lose the reference;
 * - owner marked with the `orphan` finalizer: dependents lose the reference, then the finalizer goes;
 * - owner marked with `foregroundDeletion`: dependents are deleted (in foreground themselves),
 *   and once none is left the finalizer goes and the store removes the owner.
 */
import type { KubeObject } from '../../../schemas/meta.ts';
import { withoutReferenceTo } from '../../controller-runtime/owner-references.ts';

export const foregroundFinalizer = 'foregroundDeletion';
export const orphanFinalizer = 'orphan';

export interface GarbagePlan {
  /** Dependents to delete; `foreground` when they must in turn wait for their own dependents. */
  readonly delete: readonly { readonly object: KubeObject; readonly foreground: boolean }[];
  /** Dependents with the owner's reference removed. */
  readonly release: readonly KubeObject[];
  /** The owner with a finalizer removed, when its job is done. */
  readonly owner?: KubeObject;
}

export function planGarbageCollection(ownerUid: string, owner: KubeObject | undefined, dependents: readonly KubeObject[]): GarbagePlan {
  const mine = dependents.filter((d) => d.metadata.ownerReferences?.some((ref) => ref.uid === ownerUid));
  const live = owner !== undefined && owner.metadata.uid === ownerUid;
  if (live && !owner.metadata.deletionTimestamp) return { delete: [], release: [] };
  const finalizers = live ? (owner.metadata.finalizers ?? []) : [];

  if (live && finalizers.includes(orphanFinalizer)) {
    return { delete: [], release: mine.map((d) => withoutReferenceTo(d, ownerUid)), owner: withoutFinalizer(owner, orphanFinalizer) };
  }
  if (live && finalizers.includes(foregroundFinalizer)) {
    const toDelete = mine.filter((d) => !d.metadata.deletionTimestamp).map((object) => ({ object, foreground: true }));
    // Only dependents that block their owner's deletion hold it; the others are deleted all the same.
    const blocking = mine.filter((d) => d.metadata.ownerReferences?.some((ref) => ref.uid === ownerUid && ref.blockOwnerDeletion === true));
    return { delete: toDelete, release: [], ...(blocking.length === 0 ? { owner: withoutFinalizer(owner, foregroundFinalizer) } : {}) };
  }
  if (live) return { delete: [], release: [] };

  const toDelete: { object: KubeObject; foreground: boolean }[] = [];
  const release: KubeObject[] = [];
  for (const dependent of mine) {
    if (dependent.metadata.deletionTimestamp) continue;
    const others = (dependent.metadata.ownerReferences ?? []).filter((ref) => ref.uid !== ownerUid);
    if (others.length > 0) release.push(withoutReferenceTo(dependent, ownerUid));
    else toDelete.push({ object: dependent, foreground: false });
  }
  return { delete: toDelete, release };
}

function withoutFinalizer(object: KubeObject, finalizer: string): KubeObject {
  return { ...object, metadata: { ...object.metadata, finalizers: (object.metadata.finalizers ?? []).filter((f) => f !== finalizer) } };
}

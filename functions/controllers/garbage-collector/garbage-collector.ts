/**
 * The garbage collector: deletes, orphans or waits for the dependents of deleted owners, as the
 * owner's `propagationPolicy` asked (the API turns Foreground and Orphan into the
 * `foregroundDeletion` and `orphan` finalizers; Background removes the owner at once).
 *
 * Keys are owners (with their uid, since a name can be reused). Any change of an object that has
 * owner references keys its owners, so a dangling reference left by a lost record is found by the
 * next resync; the check for a live owner is one read.
 */

import type { KubeObject } from '../../../schemas/meta.ts';
import type { ResourceType } from '../../../schemas/registry.ts';
import { persistedTypes, typeById, typeOfKind, types } from '../../../schemas/registry.ts';
import type { Controller, ObjectChange, ReconcileKey } from '../../controller-runtime/controller.ts';
import { NotFoundError } from '../../core/errors.ts';
import { getIfExists, listAll } from '../../store/list-all.ts';
import { foregroundFinalizer, orphanFinalizer, planGarbageCollection } from './plan-garbage-collection.ts';

/** Types whose objects can be dependents. Events never are, and are too many to scan. */
const dependentTypes = persistedTypes.filter((t) => t.namespaced && t.id !== types.events.id);

/**
 * Types whose removal is worth a scan for dependents right away. Anything else that turns out
 * to own something is found through its dependents' references (on their next change or the
 * next resync), which spares a scan of every type on each pod removal.
 */
const ownerTypeIds = new Set([types.deployments.id, types.replicasets.id, types.services.id]);

export const garbageCollector: Controller = {
  name: 'garbage-collector',
  resyncTypes: dependentTypes,
  // Every namespaced type is a lot to list each minute; what it decides follows from changes alone.
  resyncChangesOnly: true,
  keysFor(change: ObjectChange): ReconcileKey[] {
    const keys = new Map<string, ReconcileKey>();
    const owner = change.newObject;
    const finalizers = owner?.metadata.finalizers ?? [];
    if (owner?.metadata.deletionTimestamp && owner.metadata.uid && (finalizers.includes(foregroundFinalizer) || finalizers.includes(orphanFinalizer))) {
      keys.set(owner.metadata.uid, { typeId: change.typeId, namespace: change.namespace, name: change.name, uid: owner.metadata.uid });
    }
    const gone = !change.newObject ? change.oldObject : undefined;
    if (gone?.metadata.uid && ownerTypeIds.has(change.typeId))
      keys.set(gone.metadata.uid, { typeId: change.typeId, namespace: change.namespace, name: change.name, uid: gone.metadata.uid });
    for (const object of [change.oldObject, change.newObject]) {
      for (const ref of object?.metadata.ownerReferences ?? []) {
        const type = typeOfKind(ref.apiVersion, ref.kind);
        if (!type) continue;
        keys.set(ref.uid, { typeId: type.id, ...(type.namespaced ? { namespace: change.namespace } : {}), name: ref.name, uid: ref.uid });
      }
    }
    return [...keys.values()];
  },
  async reconcile(key, ctx) {
    const uid = key.uid;
    if (!uid) return;
    const type = typeById(key.typeId);
    const owner = await getIfExists(ctx.store, type, key.namespace, key.name);
    if (owner && owner.metadata.uid === uid && !owner.metadata.deletionTimestamp) return;
    if (!key.namespace) return;
    const typeOf = new Map<KubeObject, ResourceType>();
    const lists = await Promise.all(dependentTypes.map(async (t) => ({ t, items: await listAll(ctx.store, t, { namespace: key.namespace }) })));
    for (const { t, items } of lists) for (const item of items) if (item.metadata.ownerReferences?.some((ref) => ref.uid === uid)) typeOf.set(item, t);
    const dependents = [...typeOf.keys()];
    const typeFor = (object: KubeObject): ResourceType => typeOf.get(object) ?? typeOfKind(object.apiVersion, object.kind) ?? types.pods;
    if (dependents.length === 0 && !(owner && owner.metadata.uid === uid)) return;
    const plan = planGarbageCollection(uid, owner, dependents);

    const read = new Map(dependents.map((d) => [d.metadata.uid, d]));
    for (const released of plan.release) await ctx.admission.update(typeFor(released), released, read.get(released.metadata.uid) ?? released);
    for (const { object, foreground } of plan.delete) {
      const dependentType = typeFor(object);
      // Pods have no dependents to wait for: they go with their kind's own defaults (graceful when bound).
      const options = {
        ...(object.metadata.uid ? { preconditions: { uid: object.metadata.uid } } : {}),
        ...(foreground && dependentType.id !== types.pods.id ? { addFinalizers: [foregroundFinalizer] } : {}),
      };
      await ctx.admission.delete(dependentType, object, options).catch((error: unknown) => {
        if (!(error instanceof NotFoundError)) throw error;
      });
    }
    if (plan.owner && owner) await ctx.admission.update(type, plan.owner, owner);
  },
};

/**
 * The garbage collector: deletes, orphans or waits for the dependents of deleted owners, as the
 * owner's `propagationPolicy` asked (the API turns Foreground and Orphan into the
 * `foregroundDeletion` and `orphan` finalizers; Background removes the owner at once).
 *
 * Keys are owners (with their uid, since a name can be reused). Any change of an object that has
 * owner references keys its owners, so a dangling reference left by a lost record is found by the
 * next resync; the check for a live owner is one read.
 */

import { customResourceStorageTypes } from '../../../schemas/custom-resource-registry.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import type { ResourceType } from '../../../schemas/registry.ts';
import { isBuiltInGroup, persistedTypes, typeById, typeOfKind, types } from '../../../schemas/registry.ts';
import type { Controller, ObjectChange, ReconcileKey } from '../../controller-runtime/controller.ts';
import { NotFoundError } from '../../core/errors.ts';
import { syncCustomResourcesOf } from '../../domain/custom-resources/custom-resource-sync.ts';
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

/**
 * A key for an owner of a custom kind this process has not learnt yet (a cold controller
 * instance): reconcile resolves `kind:<apiVersion>/<kind>` once it has read the CRDs.
 */
const unresolvedKind = 'kind:';

function groupOf(typeIdOrApiVersion: string): string {
  return typeIdOrApiVersion.includes('/') ? (typeIdOrApiVersion.split('/')[0] ?? '') : '';
}

function isCustom(typeId: string): boolean {
  return typeId.startsWith(unresolvedKind) || !isBuiltInGroup(groupOf(typeId) === 'core' ? '' : groupOf(typeId));
}

function resolveType(typeId: string): ResourceType | undefined {
  if (typeId.startsWith(unresolvedKind)) {
    const rest = typeId.slice(unresolvedKind.length);
    const cut = rest.lastIndexOf('/');
    return typeOfKind(rest.slice(0, cut), rest.slice(cut + 1));
  }
  try {
    return typeById(typeId);
  } catch {
    return undefined;
  }
}

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
    // Custom resources own what operators make for them: their removal is scanned for at once too.
    if (gone?.metadata.uid && (ownerTypeIds.has(change.typeId) || isCustom(change.typeId)))
      keys.set(gone.metadata.uid, { typeId: change.typeId, namespace: change.namespace, name: change.name, uid: gone.metadata.uid });
    for (const object of [change.oldObject, change.newObject]) {
      for (const ref of object?.metadata.ownerReferences ?? []) {
        const type = typeOfKind(ref.apiVersion, ref.kind);
        if (!type) {
          const group = groupOf(ref.apiVersion);
          if (group && !isBuiltInGroup(group)) {
            keys.set(ref.uid, { typeId: `${unresolvedKind}${ref.apiVersion}/${ref.kind}`, namespace: change.namespace, name: ref.name, uid: ref.uid });
          }
          continue;
        }
        keys.set(ref.uid, { typeId: type.id, ...(type.namespaced ? { namespace: change.namespace } : {}), name: ref.name, uid: ref.uid });
      }
    }
    return [...keys.values()];
  },
  async reconcile(key, ctx) {
    const uid = key.uid;
    if (!uid) return;
    // Owners and dependents of custom kinds: this process reads the CRDs when they changed (docs/adr/179).
    if (isCustom(key.typeId)) await syncCustomResourcesOf(ctx.store);
    const type = resolveType(key.typeId);
    // An owner whose kind is not served (its CRD gone or not established) is never taken as gone.
    if (!type) return;
    const owner = await getIfExists(ctx.store, type, type.namespaced ? key.namespace : undefined, key.name);
    if (owner && owner.metadata.uid === uid && !owner.metadata.deletionTimestamp) return;
    if (!key.namespace) return;
    const typeOf = new Map<KubeObject, ResourceType>();
    // The owner is gone or going: its dependents may be of custom kinds too (docs/adr/179).
    await syncCustomResourcesOf(ctx.store);
    const candidates = [...dependentTypes, ...customResourceStorageTypes().filter((t) => t.namespaced)];
    const lists = await Promise.all(candidates.map(async (t) => ({ t, items: await listAll(ctx.store, t, { namespace: key.namespace }) })));
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

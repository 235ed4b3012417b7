/**
 * Namespace lifecycle: a namespace the API marked for deletion (phase Terminating) is emptied —
 * every object in it deleted the way its kind is deleted — and removed once nothing is left.
 * Keys come from namespace changes and from objects leaving a namespace, so the last object's
 * removal finishes the namespace.
 */

import { resourceTypes, types } from '../../../schemas/registry.ts';
import { NotFoundError } from '../../core/errors.ts';
import { podDeleteOptions } from '../../core/pod-deletion.ts';
import type { DeleteOptions, KubeObject } from '../../store/store.ts';
import type { Controller, ObjectChange, ReconcileKey } from '../framework/controller.ts';
import { getIfExists, listAll } from '../framework/list-all.ts';

const component = 'namespace-controller';
const namespacedTypes = resourceTypes.filter((t) => t.namespaced);
/**
 * Workload owners first, so their controllers stop replacing what is deleted next; events last,
 * since deleting everything else records some.
 */
const ownersFirst = [types.deployments.id, types.replicasets.id];
const contentTypes = [
  ...namespacedTypes.filter((t) => ownersFirst.includes(t.id)),
  ...namespacedTypes.filter((t) => !ownersFirst.includes(t.id) && t.id !== types.events.id),
];

export const namespaceController: Controller = {
  name: component,
  resyncTypes: [types.namespaces],
  keysFor(change: ObjectChange): ReconcileKey[] {
    if (change.typeId === types.namespaces.id) {
      return change.newObject?.metadata.deletionTimestamp ? [{ typeId: types.namespaces.id, name: change.name }] : [];
    }
    if (change.namespace && !change.newObject && change.typeId !== types.events.id) return [{ typeId: types.namespaces.id, name: change.namespace }];
    return [];
  },
  async reconcile(key, ctx) {
    const namespace = await getIfExists(ctx.store, types.namespaces, undefined, key.name);
    if (!namespace?.metadata.deletionTimestamp) return;
    let remaining = 0;
    for (const type of contentTypes) {
      const objects = await listAll(ctx.store, type, { namespace: key.name });
      for (const object of objects) {
        remaining++;
        if (object.metadata.deletionTimestamp) continue;
        await ctx.store.delete(type, key.name, object.metadata.name ?? '', deleteOptionsFor(type.id, object)).then(
          (result) => {
            if (result.removed) remaining--;
          },
          (error: unknown) => {
            if (!(error instanceof NotFoundError)) throw error;
            remaining--;
          },
        );
      }
    }
    if (remaining > 0) {
      // Pods finishing their grace period and finalizers still to run: their removal keys us again.
      return { requeueAfterSeconds: 5 };
    }
    for (const event of await listAll(ctx.store, types.events, { namespace: key.name })) {
      await ctx.store.delete(types.events, key.name, event.metadata.name ?? '', { gracePeriodSeconds: 0 }).catch(() => undefined);
    }
    await ctx.store.delete(types.namespaces, undefined, key.name, { gracePeriodSeconds: 0 }).catch((error: unknown) => {
      if (!(error instanceof NotFoundError)) throw error;
    });
    ctx.log.info('namespace removed', { namespace: key.name });
  },
};

function deleteOptionsFor(typeId: string, object: KubeObject): DeleteOptions {
  if (typeId === types.pods.id) return podDeleteOptions(object);
  return object.metadata.uid ? { preconditions: { uid: object.metadata.uid } } : {};
}

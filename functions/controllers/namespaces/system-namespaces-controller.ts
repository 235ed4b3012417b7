/**
 * The system namespaces controller: `default`, `kube-system`, `kube-public` and `kube-node-lease`
 * exist whenever the cluster runs, as kube-apiserver's system namespaces controller keeps them.
 * The first three cannot be deleted (NamespaceLifecycle); `kube-node-lease` can, and is made again
 * once its deletion has finished. One key stands for "the system namespaces": the removal of one
 * of them, or any change to one (so every resync), checks all four.
 */
import { types } from '../../../schemas/registry.ts';
import type { Controller, ObjectChange, ReconcileKey } from '../../controller-runtime/controller.ts';
import { AlreadyExistsError } from '../../core/errors.ts';
import { getIfExists } from '../../store/list-all.ts';
import { namespaceObject, systemNamespaces } from './system-namespaces.ts';

const systemKey: ReconcileKey = { typeId: types.namespaces.id, name: 'system-namespaces' };
const isSystem = (name: string) => (systemNamespaces as readonly string[]).includes(name);

export const systemNamespacesController: Controller = {
  name: 'system-namespaces-controller',
  resyncTypes: [types.namespaces],
  keysFor(change: ObjectChange): ReconcileKey[] {
    return change.typeId === types.namespaces.id && isSystem(change.name) ? [systemKey] : [];
  },
  async reconcile(_key, ctx) {
    for (const name of systemNamespaces) {
      // One being deleted is made again when it is gone (its removal is a change of its own).
      if (await getIfExists(ctx.store, types.namespaces, undefined, name)) continue;
      try {
        await ctx.admission.create(types.namespaces, namespaceObject(name));
        ctx.log.info('system namespace made again', { namespace: name });
      } catch (error) {
        if (!(error instanceof AlreadyExistsError)) throw error;
      }
    }
    return undefined;
  },
};

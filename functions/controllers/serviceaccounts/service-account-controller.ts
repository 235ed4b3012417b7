/**
 * The serviceaccounts controller: every active namespace has a ServiceAccount named `default`,
 * made when the namespace appears and again if it is deleted (Kubernetes' serviceaccounts
 * controller).
 */
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import type { Controller, ObjectChange, ReconcileKey } from '../../controller-runtime/controller.ts';
import { AlreadyExistsError, ForbiddenError, NotFoundError } from '../../core/errors.ts';
import { getIfExists } from '../../store/list-all.ts';

export const DEFAULT_SERVICE_ACCOUNT = 'default';

export const serviceAccountController: Controller = {
  name: 'serviceaccount-controller',
  resyncTypes: [types.namespaces],
  keysFor(change: ObjectChange): ReconcileKey[] {
    if (change.typeId === types.namespaces.id && change.newObject) return [{ typeId: types.namespaces.id, name: change.name }];
    if (change.typeId === types.serviceaccounts.id && !change.newObject && change.name === DEFAULT_SERVICE_ACCOUNT && change.namespace) {
      return [{ typeId: types.namespaces.id, name: change.namespace }];
    }
    return [];
  },
  async reconcile(key, ctx) {
    const namespace = await getIfExists(ctx.store, types.namespaces, undefined, key.name);
    if (!namespace || namespace.metadata.deletionTimestamp) return undefined;
    if (await getIfExists(ctx.store, types.serviceaccounts, key.name, DEFAULT_SERVICE_ACCOUNT)) return undefined;
    const account: KubeObject = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: DEFAULT_SERVICE_ACCOUNT, namespace: key.name } };
    try {
      await ctx.admission.create(types.serviceaccounts, account);
    } catch (error) {
      // Another writer made it, or the namespace went away meanwhile: nothing to do.
      if (!(error instanceof AlreadyExistsError) && !(error instanceof NotFoundError) && !(error instanceof ForbiddenError)) throw error;
    }
    return undefined;
  },
};

/**
 * The clusterrole-aggregation controller: when any ClusterRole changes, every ClusterRole with an
 * `aggregationRule` is recomputed from the roles its selectors match (docs/adr/121). One key
 * stands for "the aggregated roles": a batch of changes recomputes them once.
 */
import { types } from '../../../schemas/registry.ts';
import type { Controller } from '../../controller-runtime/controller.ts';
import { applyAggregation } from '../../domain/authorization/rbac/reconcile-policy.ts';

const aggregationKey = { typeId: types.clusterroles.id, name: 'aggregated-clusterroles' } as const;

export const clusterRoleAggregationController: Controller = {
  name: 'clusterrole-aggregation',
  resyncTypes: [types.clusterroles],
  keysFor(change) {
    return change.typeId === types.clusterroles.id ? [aggregationKey] : [];
  },
  async reconcile(_key, ctx) {
    const changed = await applyAggregation(ctx.store, (role, original) => ctx.admission.update(types.clusterroles, role, original));
    if (changed > 0) ctx.log.info('aggregated cluster roles updated', { changed });
    return undefined;
  },
};

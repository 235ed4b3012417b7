/**
 * The Deployment controller: owns ReplicaSets named by pod-template hash and rolls from the old
 * ones to the new one as the strategy allows. Keys come from Deployment changes and from
 * changes of the ReplicaSets they control.
 */

import { types } from '../../../schemas/registry.ts';
import { storedDeployment, storedReplicaSet } from '../../../schemas/stored-objects.ts';
import type { Controller, ObjectChange, ReconcileKey } from '../../controller-runtime/controller.ts';
import { isControlledBy } from '../../controller-runtime/owner-references.ts';
import { AlreadyExistsError, NotFoundError } from '../../core/errors.ts';
import { getIfExists, listAll } from '../../store/list-all.ts';
import { ownerKeys } from '../replicaset/replicaset-controller.ts';
import { planDeployment, sameTemplate } from './plan-deployment.ts';

const component = 'deployment-controller';

export const deploymentController: Controller = {
  name: component,
  resyncTypes: [types.deployments],
  keysFor(change: ObjectChange): ReconcileKey[] {
    if (change.typeId === types.deployments.id) return [{ typeId: types.deployments.id, namespace: change.namespace, name: change.name }];
    if (change.typeId === types.replicasets.id) return ownerKeys(change, 'Deployment', types.deployments.id);
    return [];
  },
  async reconcile(key, ctx) {
    const deployment = await getIfExists(ctx.store, types.deployments, key.namespace, key.name);
    if (!deployment) return;
    const [replicaSets, pods] = await Promise.all([
      listAll(ctx.store, types.replicasets, { namespace: key.namespace }),
      listAll(ctx.store, types.pods, { namespace: key.namespace }),
    ]);
    const plan = planDeployment(deployment, replicaSets, pods, ctx.now());

    if (plan.createReplicaSet) {
      try {
        await ctx.store.create(types.replicasets, plan.createReplicaSet);
      } catch (error) {
        if (!(error instanceof AlreadyExistsError)) throw error;
        const taken = await getIfExists(ctx.store, types.replicasets, key.namespace, plan.createReplicaSet.metadata.name ?? '');
        const ours =
          taken && isControlledBy(taken, deployment) && sameTemplate(storedReplicaSet(taken).spec?.template, storedDeployment(deployment).spec?.template);
        if (ours || !taken) throw error;
        // Another object holds the hashed name: hash again with a bumped collision count.
        const status = storedDeployment(deployment).status ?? {};
        await ctx.store.update(types.deployments, { ...deployment, status: { ...status, collisionCount: (status.collisionCount ?? 0) + 1 } });
        return;
      }
    }
    for (const rs of plan.updateReplicaSets) await ctx.store.update(types.replicasets, rs);
    for (const rs of plan.deleteReplicaSets) {
      await ctx.store
        .delete(types.replicasets, rs.metadata.namespace, rs.metadata.name ?? '', { ...(rs.metadata.uid ? { preconditions: { uid: rs.metadata.uid } } : {}) })
        .catch((error: unknown) => {
          if (!(error instanceof NotFoundError)) throw error;
        });
    }
    for (const event of plan.events) await ctx.events.record({ involvedObject: deployment, ...event, component });
    if (plan.deployment) await ctx.store.update(types.deployments, plan.deployment);
    return plan.requeueAfterSeconds !== undefined ? { requeueAfterSeconds: plan.requeueAfterSeconds } : undefined;
  },
};

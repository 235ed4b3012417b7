/**
 * The Deployment controller: owns ReplicaSets named by pod-template hash and rolls from the old
 * ones to the new one as the strategy allows. Keys come from Deployment changes and from
 * changes of the ReplicaSets they control.
 */

import { types } from '../../../schemas/registry.ts';
import { storedDeployment, storedReplicaSet } from '../../../schemas/stored-objects.ts';
import type { Controller, ObjectChange, ReconcileKey } from '../../controller-runtime/controller.ts';
import { isControlledBy } from '../../controller-runtime/owner-references.ts';
import { AlreadyExistsError, isApiError, NotFoundError } from '../../core/errors.ts';
import { getIfExists, listAll } from '../../store/list-all.ts';
import { ownerKeys } from '../../controller-runtime/owner-keys.ts';
import { deploymentNeedsPods, planDeployment, sameTemplate } from './plan-deployment.ts';

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
    const replicaSets = await listAll(ctx.store, types.replicasets, { namespace: key.namespace });
    const pods = deploymentNeedsPods(deployment, replicaSets) ? await listAll(ctx.store, types.pods, { namespace: key.namespace }) : [];
    const plan = planDeployment(deployment, replicaSets, pods, ctx.now());

    if (plan.createReplicaSet) {
      try {
        await ctx.admission.create(types.replicasets, plan.createReplicaSet);
      } catch (error) {
        if (isRefused(error)) {
          // As Kubernetes: an event, then the next change or resync tries again; no retry loop.
          const message = `Failed to create new replica set "${plan.createReplicaSet.metadata.name}": ${error.message}`;
          await ctx.events.record({ involvedObject: deployment, type: 'Warning', reason: 'FailedCreate', message, component });
          return;
        }
        if (!(error instanceof AlreadyExistsError)) throw error;
        const taken = await getIfExists(ctx.store, types.replicasets, key.namespace, plan.createReplicaSet.metadata.name ?? '');
        const ours =
          taken && isControlledBy(taken, deployment) && sameTemplate(storedReplicaSet(taken).spec?.template, storedDeployment(deployment).spec?.template);
        if (ours || !taken) throw error;
        // Another object holds the hashed name: hash again with a bumped collision count.
        const status = storedDeployment(deployment).status ?? {};
        await ctx.admission.update(types.deployments, { ...deployment, status: { ...status, collisionCount: (status.collisionCount ?? 0) + 1 } }, deployment);
        return;
      }
    }
    const listed = new Map(replicaSets.map((rs) => [rs.metadata.name, rs]));
    for (const rs of plan.updateReplicaSets) await ctx.admission.update(types.replicasets, rs, listed.get(rs.metadata.name) ?? rs);
    for (const rs of plan.deleteReplicaSets) {
      await ctx.admission.delete(types.replicasets, rs, { ...(rs.metadata.uid ? { preconditions: { uid: rs.metadata.uid } } : {}) }).catch((error: unknown) => {
        if (!(error instanceof NotFoundError)) throw error;
      });
    }
    for (const event of plan.events) await ctx.events.record({ involvedObject: deployment, ...event, component });
    if (plan.deployment) await ctx.admission.update(types.deployments, plan.deployment, deployment);
    return plan.requeueAfterSeconds !== undefined ? { requeueAfterSeconds: plan.requeueAfterSeconds } : undefined;
  },
};

/** Admission turned the object away (invalid, or its namespace is going away): trying again will not help. */
function isRefused(error: unknown): error is Error {
  return isApiError(error, 422) || isApiError(error, 403) || isApiError(error, 400);
}

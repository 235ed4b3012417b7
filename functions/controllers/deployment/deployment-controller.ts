/**
 * The Deployment controller: owns ReplicaSets named by pod-template hash and rolls from the old
 * ones to the new one as the strategy allows. It claims ReplicaSets by its selector first, as it
 * does pods' owners (controller-runtime/claims.ts): one its selector no longer matches is released,
 * an orphan it matches is adopted (what `kubectl delete deployment --cascade=orphan` left: the same
 * template's ReplicaSet becomes the new one again, and no pod changes). Keys come from Deployment
 * changes, from changes of the ReplicaSets they control, and from an orphan ReplicaSet (new,
 * relabelled or just released), which wakes every Deployment whose selector matches it
 * (controller-runtime/owner-keys.ts).
 */

import { types } from '../../../schemas/registry.ts';
import { storedDeployment, storedReplicaSet } from '../../../schemas/stored-objects.ts';
import { adoptOrphans, claimBySelector, releaseChildren, specSelectorOf } from '../../controller-runtime/claims.ts';
import type { Controller, ObjectChange, ReconcileKey } from '../../controller-runtime/controller.ts';
import { orphanKeys, ownerKeys, ownersOfOrphan } from '../../controller-runtime/owner-keys.ts';
import { controllerRefOf, isControlledBy } from '../../controller-runtime/owner-references.ts';
import { AlreadyExistsError, isApiError, NotFoundError } from '../../core/errors.ts';
import { getIfExists, listAll } from '../../store/list-all.ts';
import { deploymentNeedsPods, planDeployment, sameTemplate } from './plan-deployment.ts';

const component = 'deployment-controller';

export const deploymentController: Controller = {
  name: component,
  resyncTypes: [types.deployments],
  keysFor(change: ObjectChange): ReconcileKey[] {
    if (change.typeId === types.deployments.id) return [{ typeId: types.deployments.id, namespace: change.namespace, name: change.name }];
    if (change.typeId === types.replicasets.id) return [...ownerKeys(change, 'Deployment', types.deployments.id), ...orphanKeys(change)];
    return [];
  },
  async reconcile(key, ctx) {
    if (key.typeId === types.replicasets.id) {
      return ownersOfOrphan(ctx, key, { childType: types.replicasets, ownerType: types.deployments, selectorOf: specSelectorOf });
    }
    const deployment = await getIfExists(ctx.store, types.deployments, key.namespace, key.name);
    if (!deployment) return;
    const claims = claimBySelector(deployment, await listAll(ctx.store, types.replicasets, { namespace: key.namespace }), specSelectorOf(deployment));
    const adopted = await adoptOrphans(ctx, types.deployments, deployment, types.replicasets, claims.adopt);
    await releaseChildren(ctx, deployment, types.replicasets, claims.release);
    // Only its own from here on: the plan never sees a ReplicaSet it does not control.
    const replicaSets = [...claims.owned, ...adopted];
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
        // An orphan its selector matches was left after the list (a --cascade=orphan racing this
        // reconcile): planning again from a fresh list adopts it rather than hashing around it.
        const adoptable = taken && !controllerRefOf(taken) && !taken.metadata.deletionTimestamp && specSelectorOf(deployment).matches(taken.metadata.labels);
        if (ours || adoptable || !taken) throw error;
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

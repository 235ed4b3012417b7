/**
 * The ReplicaSet controller: keeps `spec.replicas` pods of the template alive and reports how
 * many are ready and available. Keys come from ReplicaSet changes and from changes of the pods
 * they control, and an orphan pod (new, relabelled, or just released) wakes every one whose selector
 * matches it, to be adopted at once (controller-runtime/owner-keys.ts). The ReplicationController
 * manager is the same loop over the core/v1 kind.
 */

import { type ResourceType, types } from '../../../schemas/registry.ts';
import { adoptOrphans, releaseChildren } from '../../controller-runtime/claims.ts';
import type { Controller, ObjectChange, ReconcileKey } from '../../controller-runtime/controller.ts';
import { orphanKeys, ownerKeys, ownersOfOrphan } from '../../controller-runtime/owner-keys.ts';
import { NotFoundError } from '../../core/errors.ts';
import { getIfExists, listAll } from '../../store/list-all.ts';
import { claimPods, podSelectorOf } from './claim-pods.ts';
import { planReplicaSet } from './plan-replicaset.ts';

/** The loop that keeps the pods of one replicated kind (ReplicaSet, ReplicationController). */
function podReplicator(type: ResourceType, component: string): Controller {
  return {
    name: component,
    resyncTypes: [type],
    keysFor(change: ObjectChange): ReconcileKey[] {
      if (change.typeId === type.id) return [{ typeId: type.id, namespace: change.namespace, name: change.name }];
      if (change.typeId !== types.pods.id) return [];
      return [...ownerKeys(change, type.kind, type.id), ...orphanKeys(change)];
    },
    async reconcile(key, ctx) {
      if (key.typeId === types.pods.id) return ownersOfOrphan(ctx, key, { childType: types.pods, ownerType: type, selectorOf: podSelectorOf });
      const rs = await getIfExists(ctx.store, type, key.namespace, key.name);
      if (!rs) return;
      const claims = claimPods(rs, await listAll(ctx.store, types.pods, { namespace: key.namespace }));
      const adopted = await adoptOrphans(ctx, type, rs, types.pods, claims.adopt);
      await releaseChildren(ctx, rs, types.pods, claims.release);
      const plan = planReplicaSet(rs, [...claims.owned, ...adopted], ctx.now());

      // Pods are admitted as a pod created through the API is (defaults, default tolerations,
      // validation, NamespaceLifecycle); a pod admission refuses becomes a FailedCreate event, as in
      // Kubernetes, not a retry loop.
      const { created, refused } = await ctx.admission.createAll(types.pods, plan.create);
      for (const { error } of refused) {
        await ctx.events.record({ involvedObject: rs, type: 'Warning', reason: 'FailedCreate', message: `Error creating: ${error.message}`, component });
      }
      // One event per pod, written together: one after another they held the controllers' stream batch for seconds.
      await ctx.events.recordAll(
        created.map((pod) => ({ involvedObject: rs, type: 'Normal', reason: 'SuccessfulCreate', message: `Created pod: ${pod.metadata.name}`, component })),
      );
      for (const pod of plan.delete) {
        try {
          await ctx.admission.delete(types.pods, pod);
        } catch (error) {
          if (!(error instanceof NotFoundError)) throw error;
        }
        await ctx.events.record({ involvedObject: rs, type: 'Normal', reason: 'SuccessfulDelete', message: `Deleted pod: ${pod.metadata.name}`, component });
      }
      if (plan.status) {
        await ctx.admission.update(type, { ...rs, status: plan.status }, rs);
      }
      return plan.requeueAfterSeconds !== undefined ? { requeueAfterSeconds: plan.requeueAfterSeconds } : undefined;
    },
  };
}

export const replicaSetController: Controller = podReplicator(types.replicasets, 'replicaset-controller');

/** kube-controller-manager's replicationcontroller loop: the ReplicaSet's, for the core/v1 kind. */
export const replicationControllerManager: Controller = podReplicator(types.replicationcontrollers, 'replication-controller');

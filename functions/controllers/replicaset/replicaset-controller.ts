/**
 * The ReplicaSet controller: keeps `spec.replicas` pods of the template alive and reports how
 * many are ready and available. Keys come from ReplicaSet changes and from changes of the pods
 * they control.
 */

import { admit } from '../../../schemas/index.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import type { Controller, ObjectChange, ReconcileKey } from '../../controller-runtime/controller.ts';
import { controllerRefOf } from '../../controller-runtime/owner-references.ts';
import { ForbiddenError, InvalidError, NotFoundError } from '../../core/errors.ts';
import { podDeleteOptions } from '../../domain/pods/pod-deletion.ts';
import { admitPodServiceAccount } from '../../domain/pods/service-account-admission.ts';
import { addTargetHealthGates } from '../../domain/services/readiness-gates.ts';
import { getIfExists, inChunks, listAll } from '../../store/list-all.ts';
import { planReplicaSet } from './plan-replicaset.ts';

const component = 'replicaset-controller';

export const replicaSetController: Controller = {
  name: component,
  resyncTypes: [types.replicasets],
  keysFor(change: ObjectChange): ReconcileKey[] {
    if (change.typeId === types.replicasets.id) return [{ typeId: types.replicasets.id, namespace: change.namespace, name: change.name }];
    if (change.typeId !== types.pods.id) return [];
    return ownerKeys(change, 'ReplicaSet', types.replicasets.id);
  },
  async reconcile(key, ctx) {
    const rs = await getIfExists(ctx.store, types.replicasets, key.namespace, key.name);
    if (!rs) return;
    const pods = await listAll(ctx.store, types.pods, { namespace: key.namespace });
    const plan = planReplicaSet(rs, pods, ctx.now());

    // Pods get the defaults and validation a pod created through the API gets; a template the
    // pod rules refuse becomes a FailedCreate event, as in Kubernetes, not a retry loop.
    const admitted: KubeObject[] = [];
    for (const pod of plan.create) {
      try {
        const defaulted = admit(types.pods, pod, { operation: 'create', fieldValidation: 'Ignore' }).object;
        admitted.push(await admitPodServiceAccount(defaulted, ctx.store));
      } catch (error) {
        if (!(error instanceof InvalidError) && !(error instanceof ForbiddenError)) throw error;
        await ctx.events.record({ involvedObject: rs, type: 'Warning', reason: 'FailedCreate', message: `Error creating: ${error.message}`, component });
      }
    }
    // Pods a load balancer will route to wait for it to have them healthy before they are Ready.
    const gated = await addTargetHealthGates(ctx.store, key.namespace ?? 'default', admitted);
    // Up to four transactions of new pods in flight: the store commits the ones waiting together (docs/adr/004).
    const created = await inChunks(
      gated,
      25,
      (chunk) =>
        ctx.store.batch(
          types.pods,
          chunk.map((object) => ({ op: 'create', object })),
        ),
      4,
    );
    for (const pod of created) {
      await ctx.events.record({ involvedObject: rs, type: 'Normal', reason: 'SuccessfulCreate', message: `Created pod: ${pod.metadata.name}`, component });
    }
    for (const pod of plan.delete) {
      try {
        await ctx.store.delete(types.pods, pod.metadata.namespace, pod.metadata.name ?? '', podDeleteOptions(pod));
      } catch (error) {
        if (!(error instanceof NotFoundError)) throw error;
      }
      await ctx.events.record({ involvedObject: rs, type: 'Normal', reason: 'SuccessfulDelete', message: `Deleted pod: ${pod.metadata.name}`, component });
    }
    if (plan.status) {
      await ctx.store.update(types.replicasets, { ...rs, status: plan.status });
    }
    return plan.requeueAfterSeconds !== undefined ? { requeueAfterSeconds: plan.requeueAfterSeconds } : undefined;
  },
};

/** Keys of the `kind` controllers of a changed object (old and new, in case the owner changed). */
export function ownerKeys(change: ObjectChange, kind: string, typeId: string): ReconcileKey[] {
  const keys = new Map<string, ReconcileKey>();
  for (const object of [change.oldObject, change.newObject]) {
    if (!object) continue;
    const ref = controllerRefOf(object);
    if (ref?.kind === kind) keys.set(ref.name, { typeId, namespace: change.namespace, name: ref.name });
  }
  return [...keys.values()];
}

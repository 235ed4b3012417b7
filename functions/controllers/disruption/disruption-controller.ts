/**
 * The disruption controller: keeps each PodDisruptionBudget's status (expected, healthy and
 * desired pods, disruptions allowed, the DisruptionAllowed condition) in step with the pods it
 * covers, and forgets evictions the eviction subresource recorded once their pods are on their
 * way out (or two minutes have passed). Keys come from budget changes (that budget) and from
 * changes of pods and scalable controllers that can move a count (every budget of the namespace:
 * the key with an empty name).
 */
import type { KubeObject } from '../../../schemas/meta.ts';
import { type ResourceType, typeOfKind, types } from '../../../schemas/registry.ts';
import type { Controller, ObjectChange, ReconcileKey } from '../../controller-runtime/controller.ts';
import { controllerRefOf } from '../../controller-runtime/owner-references.ts';
import { budgetCovers, isPodReady, needsControllerScale, type PodController, planBudget } from '../../domain/disruption/disruption-budget.ts';
import { getIfExists, listAll } from '../../store/list-all.ts';

const component = 'controllermanager';

function replicasOf(object: KubeObject): number {
  const replicas = (object.spec as { replicas?: unknown } | undefined)?.replicas;
  return typeof replicas === 'number' ? replicas : 1;
}

/** A pod change that can move a budget's count: it came or went, or its labels, readiness, phase or deletion changed. */
function podCountChanged(change: ObjectChange): boolean {
  const { oldObject: before, newObject: after } = change;
  if (!before || !after) return true;
  const phase = (pod: KubeObject) => (pod.status as { phase?: string } | undefined)?.phase;
  return (
    isPodReady(before) !== isPodReady(after) ||
    phase(before) !== phase(after) ||
    Boolean(before.metadata.deletionTimestamp) !== Boolean(after.metadata.deletionTimestamp) ||
    JSON.stringify(before.metadata.labels ?? {}) !== JSON.stringify(after.metadata.labels ?? {})
  );
}

/** A change of a scalable controller's replicas (or of its existence). */
function scaleChanged(change: ObjectChange): boolean {
  const { oldObject: before, newObject: after } = change;
  if (!before || !after) return true;
  return replicasOf(before) !== replicasOf(after);
}

const scaledTypeIds = new Set([types.deployments.id, types.replicasets.id, types.replicationcontrollers.id, types.statefulsets.id]);

/** Reads the owning controllers of pods, each object once per pass (`getExpectedScale`'s finders). */
function controllerFinder(ctx: { store: Parameters<typeof getIfExists>[0] }, namespace: string) {
  const read = new Map<string, Promise<KubeObject | undefined>>();
  const get = (type: ResourceType, name: string) => {
    const key = `${type.id}/${name}`;
    let found = read.get(key);
    if (!found) {
      found = getIfExists(ctx.store, type, namespace, name);
      read.set(key, found);
    }
    return found;
  };
  return async (pod: KubeObject): Promise<PodController> => {
    const ref = controllerRefOf(pod);
    if (!ref) return 'unmanaged';
    const type = typeOfKind(ref.apiVersion, ref.kind);
    if (!type?.subresources.includes('scale')) return 'not-found';
    const owner = await get(type, ref.name);
    if (!owner || owner.metadata.uid !== ref.uid) return 'not-found';
    // A Deployment's ReplicaSets count as their Deployment, whichever of them holds the pod.
    const ownerRef = controllerRefOf(owner);
    if (type.id === types.replicasets.id && ownerRef?.kind === 'Deployment' && ownerRef.apiVersion === 'apps/v1') {
      const deployment = await get(types.deployments, ownerRef.name);
      if (deployment && deployment.metadata.uid === ownerRef.uid) return { uid: deployment.metadata.uid ?? '', replicas: replicasOf(deployment) };
    }
    return { uid: owner.metadata.uid ?? '', replicas: replicasOf(owner) };
  };
}

export const disruptionController: Controller = {
  name: 'disruption-controller',
  resyncTypes: [types.poddisruptionbudgets],
  keysFor(change): ReconcileKey[] {
    if (!change.namespace) return [];
    if (change.typeId === types.poddisruptionbudgets.id) return [{ typeId: types.poddisruptionbudgets.id, namespace: change.namespace, name: change.name }];
    const relevant = change.typeId === types.pods.id ? podCountChanged(change) : scaledTypeIds.has(change.typeId) && scaleChanged(change);
    return relevant ? [{ typeId: types.poddisruptionbudgets.id, namespace: change.namespace, name: '' }] : [];
  },
  async reconcile(key, ctx) {
    const namespace = key.namespace ?? '';
    const budgets =
      key.name === ''
        ? await listAll(ctx.store, types.poddisruptionbudgets, { namespace })
        : [await getIfExists(ctx.store, types.poddisruptionbudgets, namespace, key.name)].filter((b): b is KubeObject => b !== undefined);
    const live = budgets.filter((budget) => !budget.metadata.deletionTimestamp);
    if (live.length === 0) return;
    const pods = await listAll(ctx.store, types.pods, { namespace });
    const findController = controllerFinder(ctx, namespace);
    let recheck: number | undefined;
    for (const budget of live) {
      // The controllers are read first (only for budgets that count by scale), so the plan stays pure.
      const controllers = new Map<KubeObject, PodController>();
      if (needsControllerScale(budget)) {
        for (const pod of pods.filter((p) => budgetCovers(budget, p))) controllers.set(pod, await findController(pod));
      }
      const plan = planBudget(budget, pods, (pod) => controllers.get(pod) ?? 'not-found', ctx.now());
      for (const event of plan.events) await ctx.events.record({ involvedObject: budget, ...event, component });
      if (plan.status) await ctx.admission.update(types.poddisruptionbudgets, { ...budget, status: plan.status }, budget);
      if (plan.recheckAfterSeconds !== undefined) recheck = Math.min(recheck ?? plan.recheckAfterSeconds, plan.recheckAfterSeconds);
    }
    return recheck !== undefined ? { requeueAfterSeconds: recheck } : undefined;
  },
};

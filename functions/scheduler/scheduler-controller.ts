/**
 * The scheduler as a stream-driven control loop. Every key is the same one — "look at the
 * pending pods" — so a batch of records (many new pods, a new node) becomes one scheduling pass
 * that places all pending pods together and writes their bindings in batches.
 */

import { types } from '../../schemas/registry.ts';
import type { Controller, ControllerContext, ObjectChange, ReconcileKey } from '../controllers/framework/controller.ts';
import { inChunks, listAll } from '../controllers/framework/list-all.ts';
import { canonicalJson } from '../controllers/framework/stable-hash.ts';
import { bindPod } from '../core/pod-binding.ts';
import type { KubeObject } from '../store/store.ts';
import { allocatable, isNodeReady, isNodeUnschedulable, nodeTaints } from './node-filters.ts';
import { holdsNode, isPendingPod, planSchedule } from './plan-schedule.ts';
import { acquireSchedulerLease, leaseDurationSeconds, releaseSchedulerLease, schedulerIdentity } from './scheduler-lease.ts';

export const schedulerName = 'default-scheduler';
const passKey: ReconcileKey = { typeId: types.pods.id, name: '' };

/** What about a node can change where pods fit. Heartbeats alone do not. */
function nodeShape(node: KubeObject | undefined): string {
  if (!node) return '';
  return canonicalJson([node.metadata.labels ?? {}, nodeTaints(node), isNodeUnschedulable(node), allocatable(node), isNodeReady(node)]);
}

export const schedulerController: Controller = {
  name: schedulerName,
  resyncTypes: [types.nodes],
  keysFor(change: ObjectChange): ReconcileKey[] {
    if (change.typeId === types.nodes.id) {
      return !change.oldObject || nodeShape(change.oldObject) !== nodeShape(change.newObject) ? [passKey] : [];
    }
    if (change.typeId !== types.pods.id) return [];
    if (change.newObject && isPendingPod(change.newObject)) return [passKey];
    // A pod leaving a node frees room for pods that did not fit before.
    const freed = change.oldObject && holdsNode(change.oldObject) && (!change.newObject || !holdsNode(change.newObject) || change.newObject.metadata.deletionTimestamp);
    return freed ? [passKey] : [];
  },
  async reconcile(_key, ctx) {
    const pending = (await listAll(ctx.store, types.pods)).filter(isPendingPod);
    if (pending.length === 0) return;
    const lease = await acquireSchedulerLease(ctx.store, schedulerIdentity, ctx.now());
    try {
      await schedulePass(ctx, Date.now() + (leaseDurationSeconds - 5) * 1000);
    } finally {
      await releaseSchedulerLease(ctx.store, lease);
    }
  },
};

function scheduledCondition(pod: KubeObject): { status?: string; reason?: string; message?: string } | undefined {
  const conditions = (pod.status as { conditions?: unknown } | undefined)?.conditions;
  return Array.isArray(conditions) ? conditions.find((c: { type?: string }) => c?.type === 'PodScheduled') : undefined;
}

/** Reads everything fresh under the lease, plans, and writes bindings 25 pods per transaction. */
async function schedulePass(ctx: ControllerContext, mustFinishBy: number): Promise<void> {
  const [pods, nodes] = await Promise.all([listAll(ctx.store, types.pods), listAll(ctx.store, types.nodes)]);
  const plan = planSchedule(pods.filter(isPendingPod), nodes, pods.filter((pod) => holdsNode(pod) !== undefined));
  const now = ctx.now();

  await inChunks(plan.bindings, 25, async (chunk) => {
    // Past the lease's safe window another scheduler may take over: stop and let a retry replan.
    if (Date.now() > mustFinishBy) throw new Error('scheduling pass outlived its lease');
    return ctx.store.batch(
      types.pods,
      chunk.map(({ pod, nodeName }) => ({ op: 'update', object: bindPod(pod, nodeName, now), expectedResourceVersion: pod.metadata.resourceVersion ?? null })),
    );
  });
  for (const { pod, nodeName } of plan.bindings) {
    await ctx.events.record({
      involvedObject: pod,
      type: 'Normal',
      reason: 'Scheduled',
      message: `Successfully assigned ${pod.metadata.namespace}/${pod.metadata.name} to ${nodeName}`,
      component: schedulerName,
    });
  }

  for (const { pod, message } of plan.unschedulable) {
    const current = scheduledCondition(pod);
    if (current?.status === 'False' && current.reason === 'Unschedulable' && current.message === message) continue;
    const status = (pod.status ?? {}) as Record<string, unknown>;
    const conditions = (Array.isArray(status.conditions) ? status.conditions : []).filter((c: { type?: string }) => c?.type !== 'PodScheduled');
    await ctx.store.update(types.pods, {
      ...pod,
      status: {
        ...status,
        phase: typeof status.phase === 'string' ? status.phase : 'Pending',
        conditions: [
          ...conditions,
          { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message, lastProbeTime: null, lastTransitionTime: `${now.toISOString().slice(0, 19)}Z` },
        ],
      },
    });
    await ctx.events.record({ involvedObject: pod, type: 'Warning', reason: 'FailedScheduling', message, component: schedulerName });
  }
}

export const schedulerControllers: readonly Controller[] = [schedulerController];

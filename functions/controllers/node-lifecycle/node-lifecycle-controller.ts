/**
 * The node lifecycle controller. Time passing, not a write, is what makes a node unreachable,
 * so it lives on the periodic resync (every node is a key each period) and on the requeue
 * times its plan returns. A reconcile is two reads (node, Lease) plus, only for a node with a
 * NoExecute taint or one changing state, one list of its pods.
 */

import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import { storedLease, storedNode } from '../../../schemas/stored-objects.ts';
import type { Controller, ControllerContext, ObjectChange, ReconcileKey } from '../../controller-runtime/controller.ts';
import { NotFoundError } from '../../core/errors.ts';
import { getIfExists, listAll } from '../../store/list-all.ts';
import { defaultNodeGraceSeconds, type NodeLifecycleOptions, planNodeLifecycle } from './plan-node-lifecycle.ts';

export type { NodeLifecycleOptions } from './plan-node-lifecycle.ts';

const component = 'node-controller';
export const nodeLeaseNamespace = 'kube-node-lease';

function renewTime(lease: KubeObject | undefined): number | undefined {
  const value = lease ? storedLease(lease).spec?.renewTime : undefined;
  const parsed = value ? Date.parse(value) : Number.NaN;
  return Number.isNaN(parsed) ? undefined : parsed;
}

function hasNoExecuteTaint(node: KubeObject): boolean {
  return (storedNode(node).spec?.taints ?? []).some((t) => t.effect === 'NoExecute');
}

export function nodeLifecycleController(options: NodeLifecycleOptions = {}): Controller {
  const graceMs = (options.nodeGraceSeconds ?? defaultNodeGraceSeconds) * 1000;
  return {
    name: component,
    resyncTypes: [types.nodes],
    keysFor(change: ObjectChange): ReconcileKey[] {
      if (change.typeId === types.nodes.id) return change.newObject ? [{ typeId: types.nodes.id, name: change.name }] : [];
      if (change.typeId !== types.leases.id || change.namespace !== nodeLeaseNamespace || !change.newObject) return [];
      // A routine renewal changes nothing; a first Lease or one renewed after a lapse may.
      const before = renewTime(change.oldObject);
      const after = renewTime(change.newObject);
      if (before !== undefined && after !== undefined && after - before <= graceMs) return [];
      return [{ typeId: types.nodes.id, name: change.name }];
    },
    async reconcile(key, ctx) {
      const node = await getIfExists(ctx.store, types.nodes, undefined, key.name);
      if (!node) return;
      const lease = await getIfExists(ctx.store, types.leases, nodeLeaseNamespace, key.name);
      const first = planNodeLifecycle(node, lease, [], ctx.now(), options);
      const needsPods = hasNoExecuteTaint(node) || first.node !== undefined;
      const pods = needsPods ? await listAll(ctx.store, types.pods, { fieldSelector: `spec.nodeName=${key.name}` }) : [];
      const plan = needsPods ? planNodeLifecycle(node, lease, pods, ctx.now(), options) : first;
      // Conditions through the node's status, taints through the node itself, as Kubernetes' node controller writes them.
      if (plan.node) await ctx.admission.update(types.nodes, plan.node, node);
      if (plan.becameUnreachable) {
        await ctx.events.record({
          involvedObject: node,
          type: 'Normal',
          reason: 'NodeNotReady',
          message: `Node ${key.name} status is now: NodeNotReady`,
          component,
        });
      }
      if (plan.becameReady) {
        await ctx.events.record({ involvedObject: node, type: 'Normal', reason: 'NodeReady', message: `Node ${key.name} status is now: NodeReady`, component });
      }
      const read = new Map(pods.map((pod) => [pod.metadata.uid, pod]));
      for (const pod of plan.markNotReady) await ignoringGone(() => ctx.admission.update(types.pods, pod, read.get(pod.metadata.uid) ?? pod));
      for (const pod of plan.evict) await evict(ctx, pod);
      for (const pod of plan.forceDelete) await ignoringGone(() => ctx.admission.delete(types.pods, pod, { gracePeriodSeconds: 0 }));
      return plan.requeueAfterSeconds !== undefined ? { requeueAfterSeconds: plan.requeueAfterSeconds } : undefined;
    },
  };
}

async function evict(ctx: ControllerContext, pod: KubeObject): Promise<void> {
  await ctx.events.record({
    involvedObject: pod,
    type: 'Normal',
    reason: 'TaintManagerEviction',
    message: `Marking for deletion Pod ${pod.metadata.namespace}/${pod.metadata.name}`,
    component: 'taint-eviction-controller',
  });
  await ignoringGone(() => ctx.admission.delete(types.pods, pod));
}

/** A pod that went away (or was replaced) meanwhile needs nothing more. */
async function ignoringGone(write: () => Promise<unknown>): Promise<void> {
  try {
    await write();
  } catch (error) {
    if (error instanceof NotFoundError) return;
    throw error;
  }
}

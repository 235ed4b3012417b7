/** The node lifecycle controller's apply step against the memory store, with the clock pinned. */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { nodeLifecycleController } from '../../../../functions/controllers/node-lifecycle/node-lifecycle-controller.ts';
import { isApiError } from '../../../../functions/core/errors.ts';
import type { KubeObject } from '../../../../schemas/meta.ts';
import { types } from '../../../../schemas/registry.ts';
import { type MemoryCluster, memoryCluster } from '../../../support/memory-cluster.ts';

/** Each test's time 0: the next whole second, as the store stamps the node's creation (a sign of life too) with the real clock. */
let start = 0;
const at = (seconds: number) => new Date(start + seconds * 1000);
const controller = nodeLifecycleController({ nodeGraceSeconds: 40 });
const key = { typeId: types.nodes.id, name: 'n1' };

function pod(name: string, tolerations?: unknown[]): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'apps' },
    spec: { nodeName: 'n1', containers: [{ name: 'web', image: 'nginx' }], ...(tolerations ? { tolerations } : {}) },
    status: { phase: 'Running', podIP: '127.1.0.2', conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

const readyOf = (object: KubeObject) =>
  ((object.status as { conditions?: { type: string; status: string }[] }).conditions ?? []).find((c) => c.type === 'Ready');
const taintsOf = (node: KubeObject) => ((node.spec as { taints?: { key: string; effect: string }[] }).taints ?? []).map((t) => `${t.key}:${t.effect}`);

let world: MemoryCluster;
beforeEach(async () => {
  start = Math.ceil(Date.now() / 1000) * 1000 + 1000;
  world = await memoryCluster({ settings: { defaultTolerationSeconds: 300 } });
  await world.namespace('apps');
  await world.admission.create(types.nodes, {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'n1' },
    status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: at(0).toISOString() }] },
  });
  await world.admission.create(types.leases, {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'n1', namespace: 'kube-node-lease' },
    spec: { holderIdentity: 'n1', leaseDurationSeconds: 40, renewTime: at(0).toISOString() },
  });
});
afterEach(() => world.close());

describe('nodeLifecycleController.reconcile', () => {
  it('writes a lapsed node Unknown through its status and taints it through the node, and marks its pods not ready', async () => {
    await world.admission.create(types.pods, pod('a'));
    const ctx = world.controllerContext(() => at(41));
    await controller.reconcile(key, ctx);
    const node = await world.raw.get(types.nodes, undefined, 'n1');
    assert.equal(readyOf(node)?.status, 'Unknown');
    assert.deepEqual(taintsOf(node), ['node.kubernetes.io/unreachable:NoSchedule', 'node.kubernetes.io/unreachable:NoExecute']);
    assert.equal(readyOf(await world.raw.get(types.pods, 'apps', 'a'))?.status, 'False');
    assert.deepEqual(
      ctx.recorded.map((e) => e.reason),
      ['NodeNotReady'],
    );
  });

  const evictions: { name: string; tolerations?: unknown[]; evictedAt: number }[] = [
    { name: 'keeps a pod admission gave the default tolerations for their 300 s', evictedAt: 341 },
    {
      name: 'evicts a pod after its own shorter toleration',
      tolerations: [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 10 }],
      evictedAt: 51,
    },
  ];
  for (const c of evictions) {
    it(c.name, async () => {
      await world.admission.create(types.pods, pod('a', c.tolerations));
      await controller.reconcile(
        key,
        world.controllerContext(() => at(41)),
      );
      await controller.reconcile(
        key,
        world.controllerContext(() => at(c.evictedAt - 1)),
      );
      assert.equal((await world.raw.get(types.pods, 'apps', 'a')).metadata.deletionTimestamp, undefined, 'still tolerated');
      const ctx = world.controllerContext(() => at(c.evictedAt));
      await controller.reconcile(key, ctx);
      assert.ok((await world.raw.get(types.pods, 'apps', 'a')).metadata.deletionTimestamp, 'marked for deletion with its grace');
      assert.ok(ctx.recorded.some((e) => e.reason === 'TaintManagerEviction'));
    });
  }

  it('evicts at once a pod written past admission without the default tolerations', async () => {
    await world.raw.create(types.pods, pod('bare'));
    await controller.reconcile(
      key,
      world.controllerContext(() => at(41)),
    );
    assert.ok((await world.raw.get(types.pods, 'apps', 'bare')).metadata.deletionTimestamp);
  });

  it('removes the pods no agent will finish deleting once their grace is over', async () => {
    await world.admission.create(
      types.pods,
      pod('a', [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 0 }]),
    );
    await controller.reconcile(
      key,
      world.controllerContext(() => at(41)),
    );
    assert.ok((await world.raw.get(types.pods, 'apps', 'a')).metadata.deletionTimestamp);
    await controller.reconcile(
      key,
      world.controllerContext(() => at(41 + 31)),
    );
    await assert.rejects(world.raw.get(types.pods, 'apps', 'a'), (e) => isApiError(e, 404));
  });

  it('brings the node back and untaints it when its Lease is renewed', async () => {
    await controller.reconcile(
      key,
      world.controllerContext(() => at(41)),
    );
    const lease = await world.raw.get(types.leases, 'kube-node-lease', 'n1');
    await world.admission.update(types.leases, { ...lease, spec: { ...(lease.spec as object), renewTime: at(100).toISOString() } }, lease);
    const ctx = world.controllerContext(() => at(101));
    await controller.reconcile(key, ctx);
    const node = await world.raw.get(types.nodes, undefined, 'n1');
    assert.equal(readyOf(node)?.status, 'True');
    assert.deepEqual(taintsOf(node), []);
    assert.deepEqual(
      ctx.recorded.map((e) => e.reason),
      ['NodeReady'],
    );
  });
});

/** One scheduling pass against the memory store: bindings, unschedulable pods, events and the lease. */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { schedulerController } from '../../../functions/scheduler/scheduler-controller.ts';
import { schedulerLeaseName, schedulerLeaseNamespace } from '../../../functions/scheduler/scheduler-lease.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import { type MemoryCluster, memoryCluster } from '../../support/memory-cluster.ts';

const passKey = { typeId: types.pods.id, name: '' };

function node(name: string, cpu: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name } },
    status: { capacity: { cpu, memory: '4Gi', pods: '110' }, conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

function pod(name: string, cpu: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'apps' },
    spec: { containers: [{ name: 'web', image: 'nginx', resources: { requests: { cpu } } }] },
  };
}

const nodeOf = (pod: KubeObject) => (pod.spec as { nodeName?: string }).nodeName;
const scheduled = (pod: KubeObject) =>
  ((pod.status as { conditions?: { type: string; status: string; reason?: string }[] } | undefined)?.conditions ?? []).find((c) => c.type === 'PodScheduled');

let world: MemoryCluster;
beforeEach(async () => {
  world = await memoryCluster();
  await world.namespace('apps');
  await world.admission.create(types.nodes, node('n1', '1'));
  await world.admission.create(types.nodes, node('n2', '1'));
});
afterEach(() => world.close());

describe('schedulerController.reconcile (one pass)', () => {
  it('binds the pods that fit, marks the one that fits nowhere Unschedulable, and records both', async () => {
    for (const p of [pod('a', '600m'), pod('b', '600m'), pod('huge', '4')]) await world.admission.create(types.pods, p);
    await schedulerController.reconcile(passKey, world.controllerContext());
    const pods = new Map((await world.raw.list(types.pods, { namespace: 'apps' })).items.map((p) => [p.metadata.name, p]));
    assert.deepEqual(new Set([nodeOf(pods.get('a')!), nodeOf(pods.get('b')!)]), new Set(['n1', 'n2']), 'one per node: 600m twice does not fit in 1 cpu');
    assert.equal(scheduled(pods.get('a')!)?.status, 'True');
    assert.equal(nodeOf(pods.get('huge')!), undefined);
    assert.deepEqual([scheduled(pods.get('huge')!)?.status, scheduled(pods.get('huge')!)?.reason], ['False', 'Unschedulable']);
    const events = (await world.raw.list(types.events, { namespace: 'apps' })).items;
    assert.deepEqual(events.map((e) => e.reason).sort(), ['FailedScheduling', 'Scheduled', 'Scheduled']);
    assert.ok(
      events.every((e) => e.metadata.uid),
      'written as objects of the store',
    );
  });

  it('releases the lease it took for the pass', async () => {
    await world.admission.create(types.pods, pod('a', '100m'));
    await schedulerController.reconcile(passKey, world.controllerContext());
    const lease = await world.raw.get(types.leases, schedulerLeaseNamespace, schedulerLeaseName);
    assert.equal((lease.spec as { holderIdentity?: string }).holderIdentity, '');
  });

  it('writes nothing when no pod is pending', async () => {
    world.resetCalls();
    await schedulerController.reconcile(passKey, world.controllerContext());
    assert.deepEqual([world.calls.create, world.calls.update, world.calls.batch], [0, 0, 0]);
  });

  it('does not mark a pod Unschedulable again for the same reason', async () => {
    await world.admission.create(types.pods, pod('huge', '4'));
    await schedulerController.reconcile(passKey, world.controllerContext());
    const before = await world.raw.get(types.pods, 'apps', 'huge');
    await schedulerController.reconcile(passKey, world.controllerContext());
    assert.equal((await world.raw.get(types.pods, 'apps', 'huge')).metadata.resourceVersion, before.metadata.resourceVersion);
  });

  it('places pods created after a pass from the changes since, counting a pod another scheduler bound meanwhile', async () => {
    await world.admission.create(types.pods, pod('a', '600m'));
    await schedulerController.reconcile(passKey, world.controllerContext());
    const a = await world.raw.get(types.pods, 'apps', 'a');
    const free = nodeOf(a) === 'n1' ? 'n2' : 'n1';
    // Between the passes another scheduler binds b to the free node; then c comes, which fits nowhere now.
    const b = await world.raw.create(types.pods, pod('b', '600m'));
    await world.raw.update(types.pods, { ...b, spec: { ...(b.spec as object), nodeName: free } });
    await world.admission.create(types.pods, pod('c', '600m'));
    world.resetCalls();

    await schedulerController.reconcile(passKey, world.controllerContext());
    assert.equal(world.calls.list, 1, 'only the nodes are listed: the pods come from the changes since the last pass');
    const pods = new Map((await world.raw.list(types.pods, { namespace: 'apps' })).items.map((p) => [p.metadata.name, p]));
    assert.equal(nodeOf(pods.get('b')!), free);
    assert.equal(nodeOf(pods.get('c')!), undefined);
    assert.equal(scheduled(pods.get('c')!)?.reason, 'Unschedulable');
  });
});

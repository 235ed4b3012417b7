/** The StatefulSet controller's claims against the memory store: which pods and revisions it adopts and releases. */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { controllerRefOf } from '../../../../functions/controller-runtime/owner-references.ts';
import { statefulSetController } from '../../../../functions/controllers/statefulset/statefulset-controller.ts';
import type { KubeObject } from '../../../../schemas/meta.ts';
import { types } from '../../../../schemas/registry.ts';
import { type MemoryCluster, memoryCluster } from '../../../support/memory-cluster.ts';

function statefulSet(name: string, replicas: number): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, namespace: 'apps' },
    spec: {
      replicas,
      serviceName: name,
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'web', image: 'nginx' }] } },
    },
  };
}

const key = (name: string) => ({ typeId: types.statefulsets.id, namespace: 'apps', name });
const listed = async (world: MemoryCluster, type: typeof types.pods) => (await world.raw.list(type, { namespace: 'apps' })).items;
const controllerUid = (object: KubeObject | undefined) => (object ? controllerRefOf(object)?.uid : undefined);

/** What `kubectl delete statefulset --cascade=orphan` leaves: the children without their reference, the StatefulSet gone. */
async function deleteOrphaningChildren(world: MemoryCluster, name: string): Promise<void> {
  for (const type of [types.pods, types.controllerrevisions]) {
    for (const child of await listed(world, type)) {
      const { ownerReferences: _dropped, ...metadata } = child.metadata;
      await world.raw.update(type, { ...child, metadata });
    }
  }
  await world.raw.delete(types.statefulsets, 'apps', name);
}

/** The StatefulSet made, its pods running and ready (so a stale revision would be rolled). */
async function runningStatefulSet(world: MemoryCluster, name: string, replicas: number): Promise<KubeObject> {
  const sts = await world.admission.create(types.statefulsets, statefulSet(name, replicas));
  await statefulSetController.reconcile(key(name), world.controllerContext());
  for (const pod of await listed(world, types.pods)) {
    const status = { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2026-01-01T00:00:00Z' }] };
    await world.raw.update(types.pods, { ...pod, status });
  }
  return sts;
}

let world: MemoryCluster;
beforeEach(async () => {
  world = await memoryCluster();
  await world.namespace('apps');
});
afterEach(() => world.close());

describe('statefulSetController.reconcile claims', () => {
  it('adopts the pods and the revision a StatefulSet deleted with --cascade=orphan left, creating and deleting nothing', async () => {
    await runningStatefulSet(world, 'web', 2);
    const before = await listed(world, types.pods);
    await deleteOrphaningChildren(world, 'web');
    const again = await world.admission.create(types.statefulsets, statefulSet('web', 2));
    const ctx = world.controllerContext();
    await statefulSetController.reconcile(key('web'), ctx);
    await statefulSetController.reconcile(key('web'), ctx);
    const after = await listed(world, types.pods);
    assert.deepEqual(
      after.map((pod) => [pod.metadata.name, pod.metadata.uid, controllerUid(pod), pod.metadata.deletionTimestamp]),
      before.map((pod) => [pod.metadata.name, pod.metadata.uid, again.metadata.uid, undefined]),
    );
    const revisions = await listed(world, types.controllerrevisions);
    assert.deepEqual(
      revisions.map((revision) => controllerUid(revision)),
      [again.metadata.uid],
      'the old revision is adopted, no other made',
    );
    assert.deepEqual(ctx.recorded, [], 'no pod created or deleted');
    const status = (await world.raw.get(types.statefulsets, 'apps', 'web')).status as { replicas: number; updatedReplicas: number };
    assert.deepEqual([status.replicas, status.updatedReplicas], [2, 2]);
  });

  it('adopts only orphans named for one of its ordinals', async () => {
    const sts = await world.admission.create(types.statefulsets, statefulSet('web', 1));
    const bare = (name: string): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'apps', labels: { app: 'web' } },
      spec: { containers: [{ name: 'web', image: 'nginx' }] },
    });
    await world.admission.create(types.pods, bare('web-0'));
    await world.admission.create(types.pods, bare('web-debug'));
    await world.admission.create(types.pods, bare('webby-0'));
    await statefulSetController.reconcile(key('web'), world.controllerContext());
    const pods = await listed(world, types.pods);
    assert.deepEqual(
      pods.map((pod) => [pod.metadata.name, controllerUid(pod)]),
      [
        ['web-0', sts.metadata.uid],
        ['web-debug', undefined],
        ['webby-0', undefined],
      ],
    );
  });

  it('releases a pod relabelled out of its selector, keeps counting only its own, and makes the ordinal again once the pod is gone', async () => {
    const sts = await runningStatefulSet(world, 'web', 2);
    const relabelled = await world.raw.get(types.pods, 'apps', 'web-1');
    await world.raw.update(types.pods, { ...relabelled, metadata: { ...relabelled.metadata, labels: { app: 'debugging' } } });
    await statefulSetController.reconcile(key('web'), world.controllerContext());
    const released = await world.raw.get(types.pods, 'apps', 'web-1');
    assert.deepEqual([released.metadata.uid, released.metadata.ownerReferences], [relabelled.metadata.uid, undefined]);
    assert.equal(((await world.raw.get(types.statefulsets, 'apps', 'web')).status as { replicas: number }).replicas, 1);

    // Its name is taken: the StatefulSet looks again when the released pod is removed.
    const removal = { typeId: types.pods.id, namespace: 'apps', name: 'web-1', oldObject: released };
    assert.deepEqual(statefulSetController.keysFor(removal), [key('web')]);
    await world.raw.delete(types.pods, 'apps', 'web-1');
    await statefulSetController.reconcile(key('web'), world.controllerContext());
    const replacement = await world.raw.get(types.pods, 'apps', 'web-1');
    assert.notEqual(replacement.metadata.uid, relabelled.metadata.uid);
    assert.equal(controllerUid(replacement), sts.metadata.uid);
  });

  it('wakes no StatefulSet for an orphan that is only relabelled, nor for a removed pod another controller had', () => {
    const orphan: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-1', namespace: 'apps' } };
    assert.deepEqual(statefulSetController.keysFor({ typeId: types.pods.id, namespace: 'apps', name: 'web-1', oldObject: orphan, newObject: orphan }), []);
    const owned: KubeObject = {
      ...orphan,
      metadata: { ...orphan.metadata, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: 'u', controller: true }] },
    };
    assert.deepEqual(statefulSetController.keysFor({ typeId: types.pods.id, namespace: 'apps', name: 'web-1', oldObject: owned }), []);
  });

  it('is woken by a new orphan pod its selector matches, through the orphan’s key, and adopts it', async () => {
    const sts = await world.admission.create(types.statefulsets, statefulSet('web', 1));
    await world.admission.create(types.statefulsets, statefulSet('db', 1));
    const orphan = await world.admission.create(types.pods, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web-0', namespace: 'apps', labels: { app: 'web' } },
      spec: { containers: [{ name: 'web', image: 'nginx' }] },
    });
    const keys = statefulSetController.keysFor({ typeId: types.pods.id, namespace: 'apps', name: 'web-0', newObject: orphan });
    assert.deepEqual(keys, [{ typeId: types.pods.id, namespace: 'apps', name: 'web-0' }]);
    const ctx = world.controllerContext();
    const woken = await statefulSetController.reconcile(keys[0] ?? key('none'), ctx);
    assert.deepEqual(woken?.enqueue, [key('web')]);
    await statefulSetController.reconcile(key('web'), ctx);
    assert.equal(controllerUid(await world.raw.get(types.pods, 'apps', 'web-0')), sts.metadata.uid);
  });
});

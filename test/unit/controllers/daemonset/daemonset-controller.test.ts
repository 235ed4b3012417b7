/** The DaemonSet controller's claims against the memory store: which pods and revisions it adopts and releases. */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { controllerRefOf } from '../../../../functions/controller-runtime/owner-references.ts';
import { daemonSetController } from '../../../../functions/controllers/daemonset/daemonset-controller.ts';
import { targetNodeOf } from '../../../../functions/controllers/daemonset/plan-daemonset.ts';
import type { KubeObject } from '../../../../schemas/meta.ts';
import { type ResourceType, types } from '../../../../schemas/registry.ts';
import { type MemoryCluster, memoryCluster } from '../../../support/memory-cluster.ts';

function daemonSet(name: string): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name, namespace: 'apps' },
    spec: {
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'agent', image: 'busybox' }] } },
    },
  };
}

const key = (name: string) => ({ typeId: types.daemonsets.id, namespace: 'apps', name });
const listed = async (world: MemoryCluster, type: ResourceType) => (await world.raw.list(type, { namespace: 'apps' })).items;
const controllerUid = (object: KubeObject) => controllerRefOf(object)?.uid;
const withLabels = (object: KubeObject, labels: Record<string, string>): KubeObject => ({ ...object, metadata: { ...object.metadata, labels } });

let world: MemoryCluster;
beforeEach(async () => {
  world = await memoryCluster();
  await world.namespace('apps');
  for (const name of ['node-a', 'node-b']) await world.raw.create(types.nodes, { apiVersion: 'v1', kind: 'Node', metadata: { name }, spec: {} });
});
afterEach(() => world.close());

describe('daemonSetController.reconcile claims', () => {
  it('adopts the pods and the revision a DaemonSet deleted with --cascade=orphan left, creating and deleting nothing', async () => {
    await world.admission.create(types.daemonsets, daemonSet('agent'));
    await daemonSetController.reconcile(key('agent'), world.controllerContext());
    const before = await listed(world, types.pods);
    assert.equal(before.length, 2);
    for (const type of [types.pods, types.controllerrevisions]) {
      for (const child of await listed(world, type)) {
        const { ownerReferences: _dropped, ...metadata } = child.metadata;
        await world.raw.update(type, { ...child, metadata });
      }
    }
    await world.raw.delete(types.daemonsets, 'apps', 'agent');
    const again = await world.admission.create(types.daemonsets, daemonSet('agent'));
    const ctx = world.controllerContext();
    await daemonSetController.reconcile(key('agent'), ctx);
    await daemonSetController.reconcile(key('agent'), ctx);
    const after = await listed(world, types.pods);
    assert.deepEqual(
      after.map((pod) => [pod.metadata.uid, targetNodeOf(pod), controllerUid(pod), pod.metadata.deletionTimestamp]),
      before.map((pod) => [pod.metadata.uid, targetNodeOf(pod), again.metadata.uid, undefined]),
    );
    assert.deepEqual((await listed(world, types.controllerrevisions)).map(controllerUid), [again.metadata.uid]);
    assert.deepEqual(ctx.recorded, [], 'no pod created or deleted');
  });

  it('releases a pod and a revision relabelled out of its selector, and replaces the pod', async () => {
    const ds = await world.admission.create(types.daemonsets, daemonSet('agent'));
    await daemonSetController.reconcile(key('agent'), world.controllerContext());
    const [first] = await listed(world, types.pods);
    const [revision] = await listed(world, types.controllerrevisions);
    assert.ok(first && revision);
    await world.raw.update(types.pods, withLabels(first, { app: 'debugging' }));
    await world.raw.update(types.controllerrevisions, withLabels(revision, { app: 'elsewhere' }));
    await daemonSetController.reconcile(key('agent'), world.controllerContext());
    const pods = await listed(world, types.pods);
    const released = pods.find((pod) => pod.metadata.uid === first.metadata.uid);
    assert.deepEqual(released?.metadata.ownerReferences, undefined);
    const owned = pods.filter((pod) => controllerUid(pod) === ds.metadata.uid);
    assert.deepEqual(owned.map(targetNodeOf).sort(), ['node-a', 'node-b'], 'a new pod on the released one’s node');
    assert.equal((await world.raw.get(types.controllerrevisions, 'apps', revision.metadata.name ?? '')).metadata.ownerReferences, undefined);
  });

  it('leaves alone a pod another controller controls, whatever its labels', async () => {
    await world.admission.create(types.daemonsets, daemonSet('agent'));
    const other = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'other', uid: 'other-uid', controller: true };
    await world.admission.create(types.pods, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'theirs', namespace: 'apps', labels: { app: 'agent' }, ownerReferences: [other] },
      spec: { containers: [{ name: 'agent', image: 'busybox' }] },
    });
    await daemonSetController.reconcile(key('agent'), world.controllerContext());
    assert.equal(controllerUid(await world.raw.get(types.pods, 'apps', 'theirs')), 'other-uid');
  });

  it('is woken by an orphan pod or revision its selector matches, through the orphan’s key', async () => {
    await world.admission.create(types.daemonsets, daemonSet('agent'));
    const pod = await world.admission.create(types.pods, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'stray', namespace: 'apps', labels: { app: 'agent' } },
      spec: { containers: [{ name: 'agent', image: 'busybox' }] },
    });
    const revision = await world.admission.create(types.controllerrevisions, {
      apiVersion: 'apps/v1',
      kind: 'ControllerRevision',
      metadata: { name: 'agent-old', namespace: 'apps', labels: { app: 'agent' } },
      revision: 1,
    } as KubeObject);
    for (const [type, child] of [
      [types.pods, pod],
      [types.controllerrevisions, revision],
    ] as const) {
      const keys = daemonSetController.keysFor({ typeId: type.id, namespace: 'apps', name: child.metadata.name ?? '', newObject: child });
      assert.deepEqual(keys, [{ typeId: type.id, namespace: 'apps', name: child.metadata.name }]);
      const woken = await daemonSetController.reconcile(keys[0] ?? key('none'), world.controllerContext());
      assert.deepEqual(woken?.enqueue, [key('agent')], `${type.kind} wakes its DaemonSet`);
    }
    const owned = {
      ...revision,
      metadata: { ...revision.metadata, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'agent', uid: 'u', controller: true }] },
    };
    assert.deepEqual(
      daemonSetController.keysFor({ typeId: types.controllerrevisions.id, namespace: 'apps', name: 'agent-old', oldObject: owned, newObject: owned }),
      [],
      'its own revision’s change is not news to it',
    );
  });
});

/** Which owners a changed child wakes: its controller, or for an orphan every owner whose selector matches it. */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { specSelectorOf } from '../../../functions/controller-runtime/claims.ts';
import type { ObjectChange } from '../../../functions/controller-runtime/controller.ts';
import { memoryEventRecorder } from '../../../functions/controller-runtime/events.ts';
import { orphanKeys, ownerKeys, ownersOfOrphan } from '../../../functions/controller-runtime/owner-keys.ts';
import { controllerRefTo } from '../../../functions/controller-runtime/owner-references.ts';
import { handleStreamEvent, type StreamDeps, type StreamRecordLike } from '../../../functions/controller-runtime/run-controllers.ts';
import { replicaSetController, replicationControllerManager } from '../../../functions/controllers/replicaset/replicaset-controller.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import { type MemoryCluster, memoryCluster } from '../../support/memory-cluster.ts';

const owner: KubeObject = { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'web', namespace: 'apps', uid: 'rs-uid' } };

function pod(labels: Record<string, string>, extra: Partial<KubeObject['metadata']> = {}, status?: Record<string, unknown>): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'apps', labels, ...extra },
    spec: { containers: [{ name: 'web', image: 'nginx' }] },
    ...(status ? { status } : {}),
  };
}

const podChange = (oldObject?: KubeObject, newObject?: KubeObject): ObjectChange => ({
  typeId: types.pods.id,
  namespace: 'apps',
  name: 'p',
  ...(oldObject ? { oldObject } : {}),
  ...(newObject ? { newObject } : {}),
});

const orphanKey = { typeId: types.pods.id, namespace: 'apps', name: 'p' };
const controlled = { ownerReferences: [controllerRefTo(owner)] };

describe('orphanKeys', () => {
  const cases: readonly [string, ObjectChange, readonly unknown[]][] = [
    ['a new orphan', podChange(undefined, pod({ app: 'web' })), [orphanKey]],
    ['an orphan replayed without its old image', podChange(undefined, pod({ app: 'web' }, {}, { phase: 'Running' })), [orphanKey]],
    ['an orphan whose labels changed', podChange(pod({ app: 'debug' }), pod({ app: 'web' })), [orphanKey]],
    ['an orphan that lost a label', podChange(pod({ app: 'web', tier: 'x' }), pod({ app: 'web' })), [orphanKey]],
    ['a pod that just lost its controller reference', podChange(pod({ app: 'web' }, controlled), pod({ app: 'web' })), [orphanKey]],
    ['an orphan whose status alone changed', podChange(pod({ app: 'web' }), pod({ app: 'web' }, {}, { phase: 'Running' })), []],
    ['an orphan with the same labels in another order', podChange(pod({ a: '1', b: '2' }), pod({ b: '2', a: '1' })), []],
    ['a new pod with a controller reference', podChange(undefined, pod({ app: 'web' }, controlled)), []],
    ['a pod given a controller reference', podChange(pod({ app: 'web' }), pod({ app: 'web' }, controlled)), []],
    ['an orphan being deleted', podChange(pod({ app: 'web' }), pod({ app: 'other' }, { deletionTimestamp: '2026-01-01T00:00:00Z' })), []],
    ['an orphan deleted', podChange(pod({ app: 'web' }), undefined), []],
  ];
  for (const [what, change, keys] of cases) {
    it(`${keys.length > 0 ? 'names' : 'does not name'} ${what}`, () => {
      assert.deepEqual(orphanKeys(change), keys);
    });
  }
});

describe('ownerKeys', () => {
  it('names the controller of the old and the new object, of the given kind only', () => {
    const other = { ...owner, metadata: { ...owner.metadata, name: 'next', uid: 'next-uid' } };
    const change = podChange(pod({}, controlled), pod({}, { ownerReferences: [controllerRefTo(other)] }));
    assert.deepEqual(ownerKeys(change, 'ReplicaSet', types.replicasets.id), [
      { typeId: types.replicasets.id, namespace: 'apps', name: 'web' },
      { typeId: types.replicasets.id, namespace: 'apps', name: 'next' },
    ]);
    assert.deepEqual(ownerKeys(change, 'Job', types.jobs.id), []);
  });
});

function replicaSet(name: string, selector: Record<string, unknown> | undefined, extra: Partial<KubeObject['metadata']> = {}): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name, namespace: 'apps', ...extra },
    spec: {
      replicas: 0,
      ...(selector ? { selector } : {}),
      template: { metadata: { labels: { app: 'web', tier: 'front' } }, spec: { containers: [{ name: 'web', image: 'nginx' }] } },
    },
  };
}

let world: MemoryCluster;
beforeEach(async () => {
  world = await memoryCluster();
  await world.namespace('apps');
});
afterEach(() => world.close());

describe('ownersOfOrphan', () => {
  const owners = { childType: types.pods, ownerType: types.replicasets, selectorOf: specSelectorOf };

  it('names the owners of the namespace whose selector matches the orphan, and no other', async () => {
    await world.raw.create(types.replicasets, replicaSet('by-app', { matchLabels: { app: 'web' } }));
    await world.raw.create(types.replicasets, replicaSet('by-tier', { matchExpressions: [{ key: 'tier', operator: 'In', values: ['front', 'back'] }] }));
    await world.raw.create(types.replicasets, replicaSet('other-app', { matchLabels: { app: 'db' } }));
    await world.raw.create(types.replicasets, replicaSet('empty-selector', {}));
    await world.namespace('elsewhere');
    await world.raw.create(types.replicasets, {
      ...replicaSet('by-app', { matchLabels: { app: 'web' } }),
      metadata: { name: 'by-app', namespace: 'elsewhere' },
    });
    await world.raw.create(types.pods, pod({ app: 'web', tier: 'front' }));
    const result = await ownersOfOrphan(world.controllerContext(), orphanKey, owners);
    assert.deepEqual(
      result?.enqueue?.map((key) => key.name).sort(),
      ['by-app', 'by-tier'],
      'an empty selector adopts nothing, another namespace is not looked at',
    );
    assert.ok(result?.enqueue?.every((key) => key.typeId === types.replicasets.id && key.namespace === 'apps'));
  });

  it('names nobody when the orphan was adopted or deleted meanwhile', async () => {
    await world.raw.create(types.replicasets, replicaSet('by-app', { matchLabels: { app: 'web' } }));
    await world.raw.create(types.pods, pod({ app: 'web' }, controlled));
    assert.equal(await ownersOfOrphan(world.controllerContext(), orphanKey, owners), undefined);
    assert.equal(await ownersOfOrphan(world.controllerContext(), { ...orphanKey, name: 'gone' }, owners), undefined);
  });

  it('lists the owners of a namespace once a batch, and reads no orphan where none could adopt it', async () => {
    await world.raw.create(types.replicasets, replicaSet('other-app', { matchLabels: { app: 'db' } }));
    await world.raw.create(types.replicasets, replicaSet('empty-selector', {}));
    world.resetCalls();
    const batch = world.controllerContext();
    for (const name of ['a', 'b', 'c']) assert.equal(await ownersOfOrphan(batch, { ...orphanKey, name }, owners), undefined);
    assert.equal(world.calls.list, 1, 'one list for the batch');
    assert.equal(world.calls.get, 3, 'one read of each orphan: an owner has a selector');
    await world.namespace('bare');
    world.resetCalls();
    const next = world.controllerContext();
    for (const name of ['a', 'b', 'c']) assert.equal(await ownersOfOrphan(next, { typeId: types.pods.id, namespace: 'bare', name }, owners), undefined);
    assert.deepEqual([world.calls.list, world.calls.get], [1, 0], 'no owner in the namespace: no orphan read');
  });
});

describe('an orphan pod reaches the ReplicaSets that match it in the batch that made it', () => {
  interface ChangeRecord extends StreamRecordLike {
    readonly change: ObjectChange;
  }
  const deps = (controllers = [replicaSetController]): StreamDeps<ChangeRecord> => ({
    store: world.store,
    controllers,
    events: memoryEventRecorder(),
    parseRecord: (record) => record.change,
  });
  const record = (change: ObjectChange): ChangeRecord => ({ eventID: 'e1', dynamodb: { SequenceNumber: '1' }, change });
  const template = { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx' }] } };

  it('adopts a bare pod made with a ReplicaSet’s labels, and makes one pod fewer', async () => {
    const rs = await world.admission.create(types.replicasets, {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'web', namespace: 'apps' },
      spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template },
    });
    const bare = await world.admission.create(types.pods, pod({ app: 'web' }));
    const result = await handleStreamEvent({ Records: [record(podChange(undefined, bare))] }, deps());
    assert.deepEqual(result.batchItemFailures, []);
    const pods = (await world.raw.list(types.pods, { namespace: 'apps' })).items;
    assert.deepEqual(
      pods.map((p) => [p.metadata.name, p.metadata.ownerReferences?.[0]?.uid]),
      [['p', rs.metadata.uid]],
    );
  });

  it('has a ReplicationController adopt a pod relabelled into its selector', async () => {
    const rc = await world.admission.create(types.replicationcontrollers, {
      apiVersion: 'v1',
      kind: 'ReplicationController',
      metadata: { name: 'legacy', namespace: 'apps' },
      spec: { replicas: 1, selector: { app: 'legacy' }, template: { ...template, metadata: { labels: { app: 'legacy' } } } },
    });
    await world.admission.create(types.pods, pod({ app: 'debug' }));
    const listed = (await world.raw.get(types.pods, 'apps', 'p')) as KubeObject;
    const relabelled = await world.admission.update(types.pods, { ...listed, metadata: { ...listed.metadata, labels: { app: 'legacy' } } }, listed);
    const result = await handleStreamEvent({ Records: [record(podChange(listed, relabelled))] }, deps([replicaSetController, replicationControllerManager]));
    assert.deepEqual(result.batchItemFailures, []);
    const pods = (await world.raw.list(types.pods, { namespace: 'apps' })).items;
    assert.deepEqual(
      pods.map((p) => [p.metadata.name, p.metadata.ownerReferences?.[0]?.uid]),
      [['p', rc.metadata.uid]],
    );
  });

  it('lists no owner for an orphan’s status update', async () => {
    await world.admission.create(types.replicasets, {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'web', namespace: 'apps' },
      spec: { replicas: 0, selector: { matchLabels: { app: 'web' } }, template },
    });
    const before = await world.admission.create(types.pods, pod({ app: 'other' }));
    const after = { ...before, status: { phase: 'Running' } };
    world.resetCalls();
    const result = await handleStreamEvent({ Records: [record(podChange(before, after))] }, deps());
    assert.deepEqual(result.batchItemFailures, []);
    assert.equal(world.calls.list + world.calls.get, 0);
  });
});

/**
 * The incremental resync (docs/adr/053): between full passes it does not list the types of the
 * controllers that depend on objects only (the garbage collector's every namespaced type); it
 * feeds every controller the changes since its last pass, read from the change log. A change
 * whose stream record never reached the controllers is still caught (DESIGN decision 4).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { newResyncState, resyncAll, resyncFullPassSeconds } from '../../../functions/controller-runtime/run-controllers.ts';
import { controllersWith } from '../../../functions/controllers/controllers.ts';
import { ensureSystemNamespaces } from '../../../functions/controllers/namespaces/system-namespaces.ts';
import { schedulerControllers } from '../../../functions/scheduler/scheduler-controller.ts';
import { createDynamoDbStore, type DynamoDbStore } from '../../../functions/store/dynamodb-store.ts';
import type { ObjectStore } from '../../../functions/store/store.ts';
import { buildNode } from '../../../node-agent/index.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import { type TestDynamoDb, useDynamoDb } from '../../support/dynamodb.ts';

let db: TestDynamoDb;
let store: DynamoDbStore;
let changes: DynamoDbStore;
/** Lists by type id, counted. */
const lists = new Map<string, number>();
/** Reads of a type's changes since a revision (the scheduler's pod view, docs/adr/202), by type id. */
const changeReads = new Map<string, number>();
let counting: ObjectStore;
let clock = Date.parse('2026-06-01T00:00:00Z');

before(async () => {
  db = await useDynamoDb();
  store = createDynamoDbStore({ client: db.client, tables: db.tables, pollIntervalMs: 50, plainUpdates: true });
  changes = createDynamoDbStore({ client: db.client, tables: db.tables, pollIntervalMs: 50, bookmarkIntervalMs: 0 });
  await ensureSystemNamespaces(store);
  counting = {
    ...store,
    get: (...args) => store.get(...args),
    create: (...args) => store.create(...args),
    update: (...args) => store.update(...args),
    delete: (...args) => store.delete(...args),
    batch: (...args) => store.batch(...args),
    watch: (...args) => store.watch(...args),
    currentRevision: (...args) => store.currentRevision(...args),
    list(type, options) {
      lists.set(type.id, (lists.get(type.id) ?? 0) + 1);
      return store.list(type, options);
    },
    changesSince(type, resourceVersion, limit) {
      changeReads.set(type.id, (changeReads.get(type.id) ?? 0) + 1);
      return store.changesSince!(type, resourceVersion, limit);
    },
  };
});

after(async () => {
  store.close();
  changes.close();
  await db.cleanup();
});

const state = newResyncState();
async function pass(): Promise<{ keys: number; failed: number; podLists: number; podReads: number; lists: number }> {
  lists.clear();
  changeReads.clear();
  const result = await resyncAll(
    { store: counting, controllers: [...controllersWith({}), ...schedulerControllers], now: () => new Date(clock) },
    { state, changes, fullPassSeconds: resyncFullPassSeconds },
  );
  const podLists = lists.get(types.pods.id) ?? 0;
  // A scheduling pass reads every pod: listed, or its view brought up to date from the change log.
  return { ...result, podLists, podReads: podLists + (changeReads.get(types.pods.id) ?? 0), lists: [...lists.values()].reduce((sum, n) => sum + n, 0) };
}

function orphan(name: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'incremental',
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'gone', uid: '00000000-0000-4000-8000-00000000dead', controller: true }],
    },
    spec: { containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.9' }] },
  };
}

describe('incremental resync', () => {
  it('makes a full pass first, then reads only the changes, and catches one whose stream record was lost', async () => {
    await store.create(types.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'incremental' } });
    const first = await pass();
    assert.equal(first.failed, 0);
    assert.ok(first.podLists > 0, 'the first pass is full: it lists pods');

    // What the first pass wrote (each namespace's ServiceAccount and CA ConfigMap) reaches the
    // controllers that count such objects (the quota controller) through the change log on the
    // next pass; after that, nothing changes.
    clock += 60_000;
    await pass();
    // Nothing changed: the garbage collector's types are not listed, nothing is reconciled for them.
    clock += 60_000;
    const quiet = await pass();
    assert.equal(quiet.podLists, 0, 'a quiet pass lists no pods');
    assert.ok(quiet.lists < first.lists, `a quiet pass lists less (${quiet.lists} lists against ${first.lists})`);

    // A pod whose owner is gone, written with no stream consumer running: only the resync can find it.
    await store.create(types.pods, orphan('orphan'));
    clock += 60_000;
    const caught = await pass();
    assert.equal(caught.failed, 0);
    // No controller but the garbage collector (not listed between full passes) resyncs pods: the
    // pod's change reached it through the change log.
    assert.ok(caught.keys > quiet.keys, `the pod's change named keys (${caught.keys} against ${quiet.keys})`);
    await assert.rejects(store.get(types.pods, 'incremental', 'orphan'), (error: { code?: number }) => error.code === 404);
  });

  it('makes a full pass again once the full-pass period has passed', async () => {
    clock += resyncFullPassSeconds * 1000;
    const full = await pass();
    assert.ok(full.podLists > 0, 'a full pass lists pods');
    clock += 60_000;
    assert.equal((await pass()).podLists, 0);
  });

  it("replays a Node's change against the Node as the last pass listed it: a heartbeat makes no scheduling pass, a new label does", async () => {
    const node = buildNode(
      {
        name: 'incremental-node',
        address: '10.0.0.10',
        podCidr: '10.200.0.0/24',
        cpu: '4',
        memory: '8Gi',
        pods: 110,
        kubeletPort: 10250,
        containerRuntimeVersion: 'containerd://1.7.0',
        labels: { zone: 'a' },
      },
      new Date(clock).toISOString(),
    );
    await store.create(types.nodes, node);
    clock += 60_000;
    assert.ok((await pass()).podReads > 0, 'a new Node: the scheduler looks at the pods');
    // What that pass wrote (if anything) is replayed in the next one; after that nothing changes.
    clock += 60_000;
    await pass();
    clock += 60_000;
    assert.equal((await pass()).podReads, 0, 'nothing changed: no pass over the pods, though the Nodes are listed every minute');

    // The Ready heartbeat only (what an agent writes every 300 s): not a change of where pods fit.
    const current = await store.get(types.nodes, undefined, 'incremental-node');
    const status = current.status as { conditions: { type: string; lastHeartbeatTime?: string }[] };
    const beat = new Date(clock + 1000).toISOString().replace(/\.\d+Z$/, 'Z');
    await store.update(types.nodes, { ...current, status: { ...status, conditions: status.conditions.map((c) => ({ ...c, lastHeartbeatTime: beat })) } });
    clock += 60_000;
    assert.equal((await pass()).podReads, 0, 'a heartbeat replayed from the log makes no pass over the pods');

    // A new label (its stream record lost: only the resync sees it) may let pending pods fit.
    const beaten = await store.get(types.nodes, undefined, 'incremental-node');
    await store.update(types.nodes, { ...beaten, metadata: { ...beaten.metadata, labels: { ...beaten.metadata.labels, zone: 'b' } } });
    clock += 60_000;
    assert.ok((await pass()).podReads > 0, 'a changed label replayed from the log makes the scheduler look at the pods');
    await store.delete(types.nodes, undefined, 'incremental-node');
  });

  it('lists a type whose position the change log no longer holds (410), and still catches its change', async () => {
    // A state whose positions are older than the log's compaction point, as after a long pause.
    const stale = newResyncState();
    await resyncAll(
      { store, controllers: [...controllersWith({}), ...schedulerControllers], now: () => new Date(clock) },
      { state: stale, changes, fullPassSeconds: resyncFullPassSeconds },
    );
    for (const id of stale.positions.keys()) stale.positions.set(id, '1');
    const compactor = createDynamoDbStore({ client: db.client, tables: db.tables, changeRetentionSeconds: 0, now: () => new Date(Date.now() + 10_000) });
    try {
      await store.create(types.pods, orphan('orphan-two'));
      await compactor.compactChangeLog(types.pods);
    } finally {
      compactor.close();
    }
    lists.clear();
    const result = await resyncAll(
      { store: counting, controllers: [...controllersWith({}), ...schedulerControllers], now: () => new Date(clock) },
      { state: stale, changes, fullPassSeconds: resyncFullPassSeconds },
    );
    assert.equal(result.failed, 0);
    assert.ok((lists.get(types.pods.id) ?? 0) > 0, 'pods listed: their position was compacted');
    await assert.rejects(store.get(types.pods, 'incremental', 'orphan-two'), (error: { code?: number }) => error.code === 404);
  });
});

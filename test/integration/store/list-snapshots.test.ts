/**
 * Lists served from a snapshot kept in memory (docs/adr/198): another process's writes are in
 * the next list, a compaction that deleted entries this process never read makes it read the
 * type afresh, `continue` tokens go on in a store without snapshots (another Lambda instance) and
 * back, and the objects handed out are the caller's own.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GoneError } from '../../../functions/core/errors.ts';
import { createDynamoDbStore, type DynamoDbStore } from '../../../functions/store/dynamodb-store.ts';
import type { ListResult } from '../../../functions/store/store.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { type ResourceType, types } from '../../../schemas/registry.ts';
import { type TestDynamoDb, useDynamoDb } from '../../support/dynamodb.ts';

let db: TestDynamoDb;
const opened: DynamoDbStore[] = [];
const suffix = `${process.pid}-${Math.floor(Math.random() * 1e6)}`;

before(async () => {
  db = await useDynamoDb();
});

after(async () => {
  for (const store of opened) store.close();
  await db.cleanup();
});

function open(options: {
  readonly snapshots: boolean;
  readonly now?: () => Date;
  readonly changeRetentionSeconds?: number;
  readonly afterAllocate?: (type: ResourceType, from: number, through: number) => Promise<void>;
}): DynamoDbStore {
  const store = createDynamoDbStore({
    client: db.client,
    tables: db.tables,
    pollIntervalMs: 50,
    ...(options.snapshots ? { listSnapshots: { fillAfterLists: 1, counterCheckMs: 0 } } : {}),
    ...(options.now ? { now: options.now } : {}),
    ...(options.changeRetentionSeconds !== undefined ? { changeRetentionSeconds: options.changeRetentionSeconds } : {}),
    ...(options.afterAllocate ? { afterAllocate: options.afterAllocate } : {}),
  });
  opened.push(store);
  return store;
}

function configMap(namespace: string, name: string, data: Record<string, string> = {}, labels?: Record<string, string>): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, ...(labels ? { labels } : {}) }, data };
}

function secret(namespace: string, name: string, data: Record<string, string>): KubeObject {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, data };
}

const names = (result: ListResult): string[] => result.items.map((item) => `${item.metadata.namespace ?? ''}/${item.metadata.name ?? ''}`);
const dataOf = (result: ListResult, name: string): unknown => result.items.find((item) => item.metadata.name === name)?.data;

/** The whole list in pages of `limit`, each page asked of the next store in turn. */
async function pagesAcross(stores: readonly DynamoDbStore[], type: ResourceType, options: { namespace?: string; labelSelector?: string }, limit: number) {
  const pages: ListResult[] = [];
  let token: string | undefined;
  do {
    const store = stores[pages.length % stores.length];
    assert.ok(store);
    const page = await store.list(type, { ...options, limit, ...(token ? { continue: token } : {}) });
    pages.push(page);
    token = page.continue;
  } while (token);
  return pages;
}

describe('lists from snapshots', () => {
  it("serves another process's writes in the next list", async () => {
    const namespace = `snap-a-${suffix}`;
    const cached = open({ snapshots: true });
    const other = open({ snapshots: false });
    await other.create(types.configmaps, configMap(namespace, 'one', { v: '1' }));
    await other.create(types.configmaps, configMap(namespace, 'two', { v: '1' }));
    const first = await cached.list(types.configmaps, { namespace });
    assert.deepEqual(names(first), [`${namespace}/one`, `${namespace}/two`]);
    const served = cached.listSnapshotStats.served;
    assert.ok(served >= 1, 'the first list is answered from the snapshot it filled');

    const one = await other.get(types.configmaps, namespace, 'one');
    await other.update(types.configmaps, { ...one, data: { v: '2' } });
    await other.delete(types.configmaps, namespace, 'two');
    await other.create(types.configmaps, configMap(namespace, 'three', { v: '1' }));
    const second = await cached.list(types.configmaps, { namespace });
    assert.deepEqual(names(second), [`${namespace}/one`, `${namespace}/three`]);
    assert.deepEqual(dataOf(second, 'one'), { v: '2' });
    assert.equal(cached.listSnapshotStats.served, served + 1, 'answered from the snapshot, kept current from the change log');
    assert.ok(Number(second.resourceVersion) >= Number(await other.currentRevision(types.configmaps)));
    // The list's revision is settled: a watch from it has nothing of the above to replay.
    assert.equal(
      second.items.every((item) => Number(item.metadata.resourceVersion) <= Number(second.resourceVersion)),
      true,
    );
  });

  it('answers a write acknowledged while an earlier revision is still being committed elsewhere', async () => {
    // A type of its own, so that no other test's writes are in flight in it.
    const namespace = `snap-g-${suffix}`;
    const type = types.serviceaccounts;
    const account = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace } });
    let release: () => void = () => undefined;
    let allocated: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const heldAllocated = new Promise<void>((resolve) => {
      allocated = resolve;
    });
    const cached = open({ snapshots: true });
    const slow = open({
      snapshots: false,
      afterAllocate: async (t) => {
        if (t.id !== type.id) return;
        allocated();
        await held;
      },
    });
    const other = open({ snapshots: false });
    await other.create(type, account('first'));
    assert.deepEqual(names(await cached.list(type, { namespace })), [`${namespace}/first`]);
    // One writer holds revision r (allocated, not committed); another commits r + 1 and is answered.
    const holding = slow.create(type, account('held'));
    await heldAllocated;
    await other.create(type, account('later'));
    try {
      const listed = await cached.list(type, { namespace });
      assert.deepEqual(names(listed), [`${namespace}/first`, `${namespace}/later`], 'the acknowledged write is listed');
    } finally {
      release();
      await holding;
    }
    assert.deepEqual(names(await cached.list(type, { namespace })), [`${namespace}/first`, `${namespace}/held`, `${namespace}/later`]);
  });

  it('reads the type afresh after a compaction deleted entries it never read', async () => {
    // A type of its own: compaction stops at the first entry still retained, of any namespace.
    const namespace = `snap-c-${suffix}`;
    let offsetMs = 0;
    const now = (): Date => new Date(Date.now() + offsetMs);
    const cached = open({ snapshots: true, now, changeRetentionSeconds: 1 });
    const other = open({ snapshots: false, now, changeRetentionSeconds: 1 });
    await other.create(types.secrets, secret(namespace, 'kept', { v: '1' }));
    await other.create(types.secrets, secret(namespace, 'gone', { v: '1' }));
    const before = await cached.list(types.secrets, { namespace });
    assert.deepEqual(names(before), [`${namespace}/gone`, `${namespace}/kept`]);

    const kept = await other.get(types.secrets, namespace, 'kept');
    await other.update(types.secrets, { ...kept, data: { v: '2' } });
    await other.delete(types.secrets, namespace, 'gone');
    offsetMs = 10_000;
    await other.compactChangeLog(types.secrets);

    const reads = cached.listSnapshotStats.read;
    const afterCompaction = await cached.list(types.secrets, { namespace });
    assert.deepEqual(names(afterCompaction), [`${namespace}/kept`]);
    assert.deepEqual(dataOf(afterCompaction, 'kept'), { v: '2' });
    assert.equal(cached.listSnapshotStats.read, reads + 1, 'the snapshot behind the compaction point is not served');
    // A watch from the list before the compaction must list again; from the new list it runs.
    await assert.rejects(async () => {
      for await (const _ of cached.watch(types.secrets, { namespace, resourceVersion: before.resourceVersion, signal: AbortSignal.timeout(5000) })) break;
    }, GoneError);
    const again = await cached.list(types.secrets, { namespace });
    assert.deepEqual(names(again), [`${namespace}/kept`]);
    assert.ok(Number(again.resourceVersion) >= Number(afterCompaction.resourceVersion));
  });

  it('pages with one token across a store with snapshots and one without, in both directions', async () => {
    const namespace = `snap-p-${suffix}`;
    const cached = open({ snapshots: true });
    const plain = open({ snapshots: false });
    await plain.batch(
      types.configmaps,
      Array.from({ length: 11 }, (_, i) => ({
        op: 'create' as const,
        object: configMap(namespace, `cm-${String(i).padStart(2, '0')}`, {}, { even: String(i % 2 === 0) }),
      })),
    );
    // A neighbouring namespace whose keys sort right after this one's: no page may run into it.
    await plain.create(types.configmaps, configMap(`${namespace}x`, 'outside'));
    const whole = await plain.list(types.configmaps, { namespace });
    assert.equal(whole.items.length, 11);
    for (const options of [{ namespace }, { namespace, labelSelector: 'even=true' }]) {
      const expected = names(await plain.list(types.configmaps, options));
      for (const order of [
        [cached, plain],
        [plain, cached],
      ]) {
        const served = cached.listSnapshotStats.served;
        const pages = await pagesAcross(order, types.configmaps, options, 3);
        assert.deepEqual(pages.flatMap(names), expected);
        assert.ok(pages.length >= 2);
        // Every page reports the first page's revision.
        assert.equal(new Set(pages.map((page) => page.resourceVersion)).size, 1);
        assert.ok(cached.listSnapshotStats.served > served, 'some pages came from the snapshot');
      }
      // The same page from either store ends at the same key with the same token.
      const fromSnapshot = await cached.list(types.configmaps, { ...options, limit: 3 });
      const fromTable = await plain.list(types.configmaps, { ...options, limit: 3 });
      assert.deepEqual(names(fromSnapshot), names(fromTable));
      assert.equal(fromSnapshot.continue === undefined, fromTable.continue === undefined);
      if (fromSnapshot.resourceVersion === fromTable.resourceVersion) assert.equal(fromSnapshot.continue, fromTable.continue);
    }
    // Cluster-wide pages too (every namespace's keys in one order).
    const everything = names(await plain.list(types.configmaps, {}));
    assert.deepEqual((await pagesAcross([cached, plain], types.configmaps, {}, 4)).flatMap(names), everything);
  });

  it('hands out objects the caller owns', async () => {
    const namespace = `snap-o-${suffix}`;
    const cached = open({ snapshots: true });
    await cached.create(types.configmaps, configMap(namespace, 'mine', { v: '1' }, { app: 'a' }));
    const first = await cached.list(types.configmaps, { namespace });
    const second = await cached.list(types.configmaps, { namespace });
    const [a] = first.items;
    const [b] = second.items;
    assert.ok(a && b);
    assert.notEqual(a, b);
    assert.notEqual(a.metadata, b.metadata);
    // A caller changes what it got (as a careless controller might): nobody else sees it.
    (a.data as Record<string, string>).v = 'changed';
    (a.metadata.labels as Record<string, string>).app = 'changed';
    Object.assign(a, { extra: true });
    const third = await cached.list(types.configmaps, { namespace, labelSelector: 'app=a' });
    assert.deepEqual(names(third), [`${namespace}/mine`]);
    assert.deepEqual(third.items[0]?.data, { v: '1' });
    assert.equal(third.items[0]?.extra, undefined);
    assert.deepEqual(b.data, { v: '1' });
    assert.ok(cached.listSnapshotStats.served >= 3);
    // What the store reads back for an update is untouched too.
    const current = await cached.get(types.configmaps, namespace, 'mine');
    assert.deepEqual(current.data, { v: '1' });
  });
});

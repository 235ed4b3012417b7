/**
 * Claimed revisions (docs/adr/189): the Lease type's writes take the change log's next revision
 * by the entry's own conditional put, with no counter call. A renewal is two plain puts; a claim
 * lost to another writer is claimed again past it; a writer killed between its two puts stalls
 * nobody; compaction never lets a claim fall below the compaction point.
 */
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { localDynamoDbClient } from '../../../functions/local/dynamodb-local.ts';
import { awsStoreSettings, createDynamoDbStore, type DynamoDbStore } from '../../../functions/store/dynamodb-store.ts';
import type { WatchEvent } from '../../../functions/store/store.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { type ResourceType, types } from '../../../schemas/registry.ts';
import { type TestDynamoDb, useDynamoDb } from '../../support/dynamodb.ts';
import { waitFor } from '../../support/wait.ts';

let db: TestDynamoDb;
let store: DynamoDbStore;
const gapTimeoutMs = 1000;
const claimed = { plainUpdates: true, claimedRevisionTypes: [...awsStoreSettings.claimedRevisionTypes, types.configmaps.id] } as const;

before(async () => {
  db = await useDynamoDb();
  store = createDynamoDbStore({ client: db.client, tables: db.tables, pollIntervalMs: 50, gapTimeoutMs, ...claimed });
});

after(async () => {
  store.close();
  await db.cleanup();
});

function lease(name: string, renewTime: string): KubeObject {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name, namespace: 'kube-node-lease' },
    spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime },
  };
}

const renewed = (object: KubeObject, renewTime: string): KubeObject => ({ ...object, spec: { ...(object.spec as object), renewTime } });

function collect(type: ResourceType, from: string, namespace: string) {
  const controller = new AbortController();
  const events: WatchEvent[] = [];
  const done = (async () => {
    for await (const event of store.watch(type, { resourceVersion: from, namespace, signal: controller.signal })) events.push(event);
  })();
  return {
    events,
    async stop() {
      controller.abort();
      await done;
    },
  };
}

const describeEvent = (event: WatchEvent): string =>
  `${event.type} ${event.object.metadata.name} ${JSON.stringify((event.object.spec as { renewTime?: string } | undefined)?.renewTime ?? event.object.data)}`;

async function changeEntry(type: ResourceType, revision: number) {
  const { Item } = await db.client.send(
    new GetItemCommand({ TableName: db.tables.changes, Key: { pk: { S: type.id }, sk: { N: String(revision) } }, ConsistentRead: true }),
  );
  return Item;
}

function recordingClient(sent: { command: string; table: string }[]) {
  const client = localDynamoDbClient(db.endpoint);
  client.middlewareStack.add(
    (next, context) => async (args) => {
      sent.push({ command: context.commandName ?? '', table: (args.input as { TableName?: string }).TableName ?? '' });
      return next(args);
    },
    { step: 'initialize', name: 'recordCommands' },
  );
  return client;
}

describe('DynamoDB store with claimed revisions', () => {
  it('renews a Lease with the object and its entry alone, no counter call; watches see every renewal once, in order', async () => {
    const created = await store.create(types.leases, lease('node-a', '2026-11-28T00:00:00.000000Z'));
    const watch = collect(types.leases, created.metadata.resourceVersion ?? '', 'kube-node-lease');
    const sent: { command: string; table: string }[] = [];
    const client = recordingClient(sent);
    const writer = createDynamoDbStore({ client, tables: db.tables, pollIntervalMs: 50, ...claimed });
    try {
      let current = created;
      const revisions: string[] = [];
      for (let i = 1; i <= 3; i++) {
        current = await writer.update(types.leases, renewed(current, `2026-11-28T00:00:0${i}.000000Z`));
        revisions.push(current.metadata.resourceVersion ?? '');
      }
      const writes = sent.filter((call) => !['GetItemCommand', 'BatchGetItemCommand', 'QueryCommand'].includes(call.command));
      assert.deepEqual(
        writes.map((call) => `${call.command} ${call.table === db.tables.objects ? 'object' : 'entry'}`),
        Array.from({ length: 3 }, () => ['PutItemCommand object', 'PutItemCommand entry']).flat(),
        'two puts a renewal, no UpdateItem on the counter',
      );
      // Where the log ends: one read of its last entry a renewal; the counter is not read while that entry is recent.
      assert.deepEqual(
        sent.filter((call) => call.table === db.tables.changes && call.command !== 'PutItemCommand').map((call) => call.command),
        ['QueryCommand', 'QueryCommand', 'QueryCommand'],
      );
      for (let i = 1; i < revisions.length; i++) assert.ok(Number(revisions[i]) > Number(revisions[i - 1]));
      // A stale resourceVersion is still a 409, and writes nothing.
      await assert.rejects(writer.update(types.leases, renewed(created, '2026-11-28T00:00:09.000000Z')), (error: { code?: number }) => error.code === 409);
      await waitFor('the renewals on the watch', () => watch.events.length >= 3, { timeoutMs: 10_000, intervalMs: 20 });
      await new Promise((done) => setTimeout(done, 200));
      await watch.stop();
      assert.deepEqual(
        watch.events.map((event) => `${describeEvent(event)} @${event.object.metadata.resourceVersion}`),
        revisions.map((revision, i) => `MODIFIED node-a "2026-11-28T00:00:0${i + 1}.000000Z" @${revision}`),
      );
      // A list after them reports a revision a watch can start from (past the counter, which claims do not move).
      const listed = await store.list(types.leases, { namespace: 'kube-node-lease' });
      assert.ok(Number(listed.resourceVersion) >= Number(revisions.at(-1)));
      const after = collect(types.leases, listed.resourceVersion, 'kube-node-lease');
      const next = await writer.update(types.leases, renewed(current, '2026-11-28T00:00:10.000000Z'));
      await waitFor('the renewal after the list', () => after.events.length >= 1, { timeoutMs: 10_000, intervalMs: 20 });
      await after.stop();
      assert.deepEqual(
        after.events.map((event) => event.object.metadata.resourceVersion),
        [next.metadata.resourceVersion],
      );
    } finally {
      writer.close();
      client.destroy();
    }
  });

  it('claims again past another writer that took its revision while it stalled after its object put', async () => {
    const created = await store.create(types.leases, lease('node-b', '2026-11-28T00:01:00.000000Z'));
    const other = await store.create(types.leases, lease('node-c', '2026-11-28T00:01:00.000000Z'));
    const watch = collect(types.leases, other.metadata.resourceVersion ?? '', 'kube-node-lease');
    let release: () => void = () => {};
    const released = new Promise<void>((done) => {
      release = done;
    });
    let held = false;
    const client = localDynamoDbClient(db.endpoint);
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (!held && context.commandName === 'PutItemCommand' && (args.input as { TableName?: string }).TableName === db.tables.changes) {
          held = true;
          await released;
        }
        return next(args);
      },
      { step: 'initialize', name: 'stallBeforeTheChangeEntry' },
    );
    const writer = createDynamoDbStore({ client, tables: db.tables, pollIntervalMs: 50, gapTimeoutMs, ...claimed });
    try {
      const slow = writer.update(types.leases, renewed(created, '2026-11-28T00:01:01.000000Z'));
      await waitFor('the writer to stall after its object put', () => held);
      const stalledAt = Number((await store.get(types.leases, 'kube-node-lease', 'node-b')).metadata.resourceVersion);
      // Another writer claims the log's next revision, the one the stalled writer's object holds.
      const taken = await store.update(types.leases, renewed(other, '2026-11-28T00:01:02.000000Z'));
      assert.equal(Number(taken.metadata.resourceVersion), stalledAt);
      release();
      const committed = await slow;
      assert.ok(Number(committed.metadata.resourceVersion) > stalledAt, 'claimed again past the revision it lost');
      await waitFor('both renewals on the watch', () => watch.events.length >= 2, { timeoutMs: 10_000, intervalMs: 20 });
      await new Promise((done) => setTimeout(done, 300));
      await watch.stop();
      assert.deepEqual(watch.events.map(describeEvent), ['MODIFIED node-c "2026-11-28T00:01:02.000000Z"', 'MODIFIED node-b "2026-11-28T00:01:01.000000Z"']);
      assert.equal(watch.events[1]?.object.metadata.resourceVersion, committed.metadata.resourceVersion);
      assert.equal((await store.get(types.leases, 'kube-node-lease', 'node-b')).metadata.resourceVersion, committed.metadata.resourceVersion);
    } finally {
      release();
      writer.close();
      client.destroy();
    }
  });

  it('stalls no watch when a writer process is killed between the object and its entry, and sees the writes after it', async () => {
    const created = await store.create(types.configmaps, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'killed', namespace: 'claimed' },
      data: { v: '1' },
    });
    const watch = collect(types.configmaps, created.metadata.resourceVersion ?? '', 'claimed');
    const child = fork(fileURLToPath(new URL('../../support/plain-update-crash.ts', import.meta.url)), [], {
      execArgv: ['--import', 'tsx'],
      env: {
        ...process.env,
        PLAIN_CRASH_ENDPOINT: db.endpoint,
        PLAIN_CRASH_OBJECTS: db.tables.objects,
        PLAIN_CRASH_CHANGES: db.tables.changes,
        PLAIN_CRASH_NAMESPACE: 'claimed',
        PLAIN_CRASH_NAME: 'killed',
        PLAIN_CRASH_CLAIMED: '1',
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const signal = await new Promise<NodeJS.Signals | null>((done) => child.once('exit', (_code, killedBy) => done(killedBy)));
    assert.equal(signal, 'SIGKILL', 'the writer died before its change entry');
    const dead = await store.get(types.configmaps, 'claimed', 'killed');
    const diedAt = Number(dead.metadata.resourceVersion);
    assert.deepEqual(dead.data, { written: 'by the writer that died' }, 'its object put landed');
    assert.equal(await changeEntry(types.configmaps, diedAt), undefined, 'its change entry was never written');
    // The next write of the type claims the log's next revision: no gap to wait out.
    const started = Date.now();
    await store.create(types.configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'after', namespace: 'claimed' }, data: { v: '1' } });
    await waitFor('the later write on the watch', () => watch.events.length >= 1, { timeoutMs: 10_000, intervalMs: 20 });
    assert.ok(Date.now() - started < 10_000);
    // The next write of the object carries the dead writer's state forward, as a change on the watch.
    const next = await store.update(types.configmaps, { ...dead, data: { ...(dead.data as object), v: '2' } });
    assert.ok(Number(next.metadata.resourceVersion) > diedAt);
    await waitFor('the next write of the object on the watch', () => watch.events.length >= 2, { timeoutMs: 10_000, intervalMs: 20 });
    await new Promise((done) => setTimeout(done, 300));
    await watch.stop();
    assert.deepEqual(
      watch.events.map((event) => `${event.type} ${event.object.metadata.name} ${JSON.stringify(event.object.data)}`),
      ['ADDED after {"v":"1"}', 'MODIFIED killed {"written":"by the writer that died","v":"2"}'],
    );
  });

  it('gives back the free end of a claimed range another writer cut into, so the next claim takes it and no revision goes void', async () => {
    // Revision 0 would mean "list first" to a watch.
    const start = Number((await store.create(types.leases, lease('node-before-cut', '2026-11-28T00:03:00.000000Z'))).metadata.resourceVersion);
    let cutIn: Promise<KubeObject> | undefined;
    const writer = createDynamoDbStore({
      client: db.client,
      tables: db.tables,
      pollIntervalMs: 50,
      gapTimeoutMs,
      ...claimed,
      // The first range of three: another process takes its first revision before the transaction is sent.
      afterAllocate: async (type, from, through) => {
        if (type.id !== types.leases.id || through - from !== 2 || cutIn) return;
        cutIn = store.create(types.leases, lease('node-cut-in', '2026-11-28T00:03:00.000000Z'));
        await cutIn;
      },
    });
    try {
      const watch = collect(types.leases, String(start), 'kube-node-lease');
      const batch = await writer.batch(
        types.leases,
        ['node-e', 'node-f', 'node-g'].map((name) => ({ op: 'create' as const, object: lease(name, '2026-11-28T00:03:00.000000Z') })),
      );
      const taken = await cutIn;
      assert.equal(Number(taken?.metadata.resourceVersion), start + 1);
      assert.deepEqual(
        batch.map((object) => Number(object.metadata.resourceVersion)),
        [start + 2, start + 3, start + 4],
      );
      for (let revision = start + 1; revision <= start + 4; revision++) {
        const entry = await changeEntry(types.leases, revision);
        assert.ok(entry?.body && !entry.void, `revision ${revision} holds a change, not a void mark`);
      }
      await waitFor('the four creates on the watch', () => watch.events.length >= 4, { timeoutMs: 10_000, intervalMs: 20 });
      await watch.stop();
      assert.deepEqual(
        watch.events.map((event) => `${event.type} ${event.object.metadata.name} ${event.object.metadata.resourceVersion}`),
        [`ADDED node-cut-in ${start + 1}`, `ADDED node-e ${start + 2}`, `ADDED node-f ${start + 3}`, `ADDED node-g ${start + 4}`],
      );
      assert.equal(await writer.currentRevision(types.leases), String(start + 4));
    } finally {
      writer.close();
    }
  });

  it('claims above the compaction point once compaction deleted the log', async () => {
    let clock = Date.now();
    const compacting = createDynamoDbStore({
      client: db.client,
      tables: db.tables,
      pollIntervalMs: 50,
      changeRetentionSeconds: 1,
      now: () => new Date(clock),
      ...claimed,
    });
    try {
      const created = await compacting.create(types.leases, lease('node-d', '2026-11-28T00:02:00.000000Z'));
      const first = await compacting.update(types.leases, renewed(created, '2026-11-28T00:02:01.000000Z'));
      clock += 10_000;
      await compacting.compactChangeLog(types.leases);
      const second = await compacting.update(types.leases, renewed(first, '2026-11-28T00:02:02.000000Z'));
      assert.ok(Number(second.metadata.resourceVersion) > Number(first.metadata.resourceVersion));
      const listed = await compacting.list(types.leases, { namespace: 'kube-node-lease' });
      assert.ok(Number(listed.resourceVersion) >= Number(second.metadata.resourceVersion));
      // A watch from before the compaction point is told to list again.
      const controller = new AbortController();
      await assert.rejects(
        (async () => {
          for await (const _ of compacting.watch(types.leases, {
            resourceVersion: created.metadata.resourceVersion ?? '',
            namespace: 'kube-node-lease',
            signal: controller.signal,
          }))
            break;
        })(),
        (error: { code?: number }) => error.code === 410,
      );
      controller.abort();
    } finally {
      compacting.close();
    }
  });
});

/**
 * Plain updates (docs/adr/005): a single-object update written as two conditional puts, the
 * object and then its change entry, with no transaction. A writer that stalls or dies between
 * the two puts must not cost a watch the change: the revision is voided by a reader after the
 * gap bound and the object is committed again at a new revision.
 */
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { localDynamoDbClient } from '../../../functions/local/dynamodb-local.ts';
import { createDynamoDbStore, type DynamoDbStore } from '../../../functions/store/dynamodb-store.ts';
import type { WatchEvent } from '../../../functions/store/store.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import { type TestDynamoDb, useDynamoDb } from '../../support/dynamodb.ts';
import { waitFor } from '../../support/wait.ts';

let db: TestDynamoDb;
let store: DynamoDbStore;
const gapTimeoutMs = 1000;

before(async () => {
  db = await useDynamoDb();
  store = createDynamoDbStore({ client: db.client, tables: db.tables, pollIntervalMs: 50, gapTimeoutMs, plainUpdates: true });
});

after(async () => {
  store.close();
  await db.cleanup();
});

function configMap(namespace: string, name: string, data: Record<string, string>): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data };
}

function collect(from: string, namespace: string) {
  const controller = new AbortController();
  const events: WatchEvent[] = [];
  const done = (async () => {
    for await (const event of store.watch(types.configmaps, { resourceVersion: from, namespace, signal: controller.signal })) events.push(event);
  })();
  return {
    events,
    async stop() {
      controller.abort();
      await done;
    },
  };
}

async function storedItem(namespace: string, name: string) {
  const { Item } = await db.client.send(
    new GetItemCommand({ TableName: db.tables.objects, Key: { pk: { S: types.configmaps.id }, sk: { S: `${namespace}/${name}` } }, ConsistentRead: true }),
  );
  return Item;
}

async function changeEntry(revision: number) {
  const { Item } = await db.client.send(
    new GetItemCommand({ TableName: db.tables.changes, Key: { pk: { S: types.configmaps.id }, sk: { N: String(revision) } }, ConsistentRead: true }),
  );
  return Item;
}

const describeEvent = (event: WatchEvent): string => `${event.type} ${event.object.metadata.name} ${JSON.stringify(event.object.data)}`;

describe('DynamoDB store with plain updates', () => {
  it('writes an update as the object and its change entry, without a transaction, and watches see it once', async () => {
    const created = await store.create(types.configmaps, configMap('plain', 'one', { v: '1' }));
    const watch = collect(created.metadata.resourceVersion ?? '', 'plain');
    const sent: string[] = [];
    const client = localDynamoDbClient(db.endpoint);
    client.middlewareStack.add(
      (next, context) => async (args) => {
        sent.push(context.commandName ?? '');
        return next(args);
      },
      { step: 'initialize', name: 'recordCommands' },
    );
    const writer = createDynamoDbStore({ client, tables: db.tables, pollIntervalMs: 50, plainUpdates: true });
    try {
      const updated = await writer.update(types.configmaps, { ...created, data: { v: '2' } });
      assert.deepEqual(
        sent.filter((command) => command !== 'GetItemCommand' && command !== 'BatchGetItemCommand'),
        ['UpdateItemCommand', 'PutItemCommand', 'PutItemCommand'],
      );
      assert.ok(Number(updated.metadata.resourceVersion) > Number(created.metadata.resourceVersion));
      await waitFor('the update on the watch', () => watch.events.length >= 1, { timeoutMs: 10_000, intervalMs: 20 });
      // A stale resourceVersion is still a 409, and writes nothing.
      await assert.rejects(writer.update(types.configmaps, { ...created, data: { v: 'stale' } }), (error: { code?: number }) => error.code === 409);
      const later = await writer.update(types.configmaps, { ...updated, data: { v: '3' } });
      await waitFor('the second update on the watch', () => watch.events.length >= 2, { timeoutMs: 10_000, intervalMs: 20 });
      await watch.stop();
      assert.deepEqual(watch.events.map(describeEvent), ['MODIFIED one {"v":"2"}', 'MODIFIED one {"v":"3"}']);
      assert.deepEqual(
        watch.events.map((event) => event.object.metadata.resourceVersion),
        [updated.metadata.resourceVersion, later.metadata.resourceVersion],
      );
    } finally {
      writer.close();
      client.destroy();
    }
  });

  it('commits a stalled writer again at a new revision when a reader voided the one its object holds', async () => {
    const created = await store.create(types.configmaps, configMap('plain', 'stalled', { v: '1' }));
    const watch = collect(created.metadata.resourceVersion ?? '', 'plain');
    let release: () => void = () => {};
    const released = new Promise<void>((done) => {
      release = done;
    });
    let held = false;
    const client = localDynamoDbClient(db.endpoint);
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { TableName?: string };
        if (!held && context.commandName === 'PutItemCommand' && input.TableName === db.tables.changes) {
          held = true;
          await released;
        }
        return next(args);
      },
      { step: 'initialize', name: 'stallBeforeTheChangeEntry' },
    );
    const writer = createDynamoDbStore({ client, tables: db.tables, pollIntervalMs: 50, gapTimeoutMs, plainUpdates: true });
    try {
      const slow = writer.update(types.configmaps, { ...created, data: { v: 'late' } });
      await waitFor('the writer to stall after its object put', () => held);
      const stored = await storedItem('plain', 'stalled');
      const stalledAt = Number(stored?.rv?.N);
      assert.ok(stalledAt > Number(created.metadata.resourceVersion));
      // Another writer of the type commits after it; the reader voids the stalled revision after the bound.
      const other = await store.create(types.configmaps, configMap('plain', 'other', { v: '1' }));
      await waitFor('the stalled revision to be voided', async () => (await changeEntry(stalledAt))?.void !== undefined, { timeoutMs: 15_000, intervalMs: 50 });
      release();
      const committed = await slow;
      assert.deepEqual(committed.data, { v: 'late' });
      await waitFor(
        'both changes on the watch',
        () => watch.events.filter((event) => event.object.metadata.name === 'stalled').length >= 1 && watch.events.length >= 2,
        {
          timeoutMs: 10_000,
          intervalMs: 20,
        },
      );
      // Nothing more arrives: the change is seen once.
      await new Promise((done) => setTimeout(done, 300));
      await watch.stop();
      assert.deepEqual(watch.events.map(describeEvent), ['ADDED other {"v":"1"}', 'MODIFIED stalled {"v":"late"}']);
      const seenAt = Number(watch.events[1]?.object.metadata.resourceVersion);
      assert.ok(seenAt > stalledAt && seenAt > Number(other.metadata.resourceVersion), 'committed again at a new revision');
      const now = await store.get(types.configmaps, 'plain', 'stalled');
      assert.equal(now.metadata.resourceVersion, String(seenAt));
      assert.deepEqual(now.data, { v: 'late' });
    } finally {
      release();
      writer.close();
      client.destroy();
    }
  });

  it('loses no change when a writer process is killed between the object and its change entry', async () => {
    const created = await store.create(types.configmaps, configMap('plain', 'killed', { v: '1' }));
    const watch = collect(created.metadata.resourceVersion ?? '', 'plain');
    const child = fork(fileURLToPath(new URL('../../support/plain-update-crash.ts', import.meta.url)), [], {
      execArgv: ['--import', 'tsx'],
      env: {
        ...process.env,
        PLAIN_CRASH_ENDPOINT: db.endpoint,
        PLAIN_CRASH_OBJECTS: db.tables.objects,
        PLAIN_CRASH_CHANGES: db.tables.changes,
        PLAIN_CRASH_NAMESPACE: 'plain',
        PLAIN_CRASH_NAME: 'killed',
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const signal = await new Promise<NodeJS.Signals | null>((done) => child.once('exit', (_code, killedBy) => done(killedBy)));
    assert.equal(signal, 'SIGKILL', 'the writer died before its change entry');
    const stored = await storedItem('plain', 'killed');
    const diedAt = Number(stored?.rv?.N);
    assert.ok(diedAt > Number(created.metadata.resourceVersion), 'its object put landed');
    assert.equal(await changeEntry(diedAt), undefined, 'its change entry was never written');
    // A later write of the type: the watch must get past the dead writer's revision to see it.
    await store.create(types.configmaps, configMap('plain', 'after', { v: '1' }));
    await waitFor('the dead writer’s change and the later one on the watch', () => watch.events.length >= 2, { timeoutMs: 20_000, intervalMs: 20 });
    await new Promise((done) => setTimeout(done, 300));
    await watch.stop();
    assert.deepEqual(watch.events.map(describeEvent).sort(), ['ADDED after {"v":"1"}', 'MODIFIED killed {"written":"by the writer that died"}']);
    const repaired = watch.events.find((event) => event.object.metadata.name === 'killed');
    assert.ok(Number(repaired?.object.metadata.resourceVersion) > diedAt, 'committed again at a new revision');
    assert.ok((await changeEntry(diedAt))?.void !== undefined, 'the dead writer’s revision is void');
    const listed = await store.list(types.configmaps, { namespace: 'plain' });
    const killed = listed.items.find((item) => item.metadata.name === 'killed');
    assert.equal(killed?.metadata.resourceVersion, repaired?.object.metadata.resourceVersion);
  });
});

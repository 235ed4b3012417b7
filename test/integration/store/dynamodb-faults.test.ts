/**
 * The DynamoDB store under faults (docs/adr/004): writers that die or stall between taking a
 * revision and committing, throttling and transaction conflicts, calls that never answer, and
 * a change log that must stay bounded as a cluster runs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type DynamoDBClient,
  GetItemCommand,
  ProvisionedThroughputExceededException,
  QueryCommand,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import { errorResponse } from '../../../functions/api/responses.ts';
import { isApiError } from '../../../functions/core/errors.ts';
import { localDynamoDbClient } from '../../../functions/local/dynamodb-local.ts';
import { createDynamoDbStore, type DynamoDbStore } from '../../../functions/store/dynamodb-store.ts';
import type { ObjectStore, WatchEvent } from '../../../functions/store/store.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { type ResourceType, types } from '../../../schemas/registry.ts';
import { type TestDynamoDb, useDynamoDb } from '../../support/dynamodb.ts';
import { waitFor } from '../../support/wait.ts';
import { startWriter } from '../../support/writer-processes.ts';

let db: TestDynamoDb;
let store: DynamoDbStore;
const gapTimeoutMs = 1000;

before(async () => {
  db = await useDynamoDb();
  store = createDynamoDbStore({ client: db.client, tables: db.tables, pollIntervalMs: 50, gapTimeoutMs });
});

after(async () => {
  store.close();
  await db.cleanup();
});

function configMap(namespace: string, name: string, data: Record<string, string> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data };
}

/** Collects a watch's events in the background until `stop`. */
function collect(s: ObjectStore, type: ResourceType, resourceVersion: string, namespace?: string) {
  const controller = new AbortController();
  const events: WatchEvent[] = [];
  const done = (async () => {
    for await (const event of s.watch(type, { resourceVersion, signal: controller.signal, ...(namespace ? { namespace } : {}) })) events.push(event);
  })();
  return {
    events,
    async stop() {
      controller.abort();
      await done;
    },
  };
}

async function changeEntry(type: ResourceType, revision: number) {
  const { Item } = await db.client.send(
    new GetItemCommand({ TableName: db.tables.changes, Key: { pk: { S: type.id }, sk: { N: String(revision) } }, ConsistentRead: true }),
  );
  return Item;
}

describe('DynamoDB store: a writer lost between taking a revision and committing', () => {
  it('holds watches and lists back no longer than the gap bound when the writer is killed, and misses no later write', async () => {
    await store.create(types.configmaps, configMap('killed', 'first'));
    const from = await store.currentRevision(types.configmaps);
    const watch = collect(store, types.configmaps, from, 'killed');
    const writer = await startWriter(db);
    try {
      writer.send({ op: 'stall', namespace: 'killed', name: 'never' });
      const { allocated } = await writer.next((report): report is { allocated: { from: number; through: number } } => 'allocated' in report);
      writer.child.kill('SIGKILL');
      const later = await store.create(types.configmaps, configMap('killed', 'later'));
      assert.ok(Number(later.metadata.resourceVersion) > allocated.through);

      const started = Date.now();
      await waitFor('the later write on the watch', () => watch.events.some((event) => event.object.metadata.name === 'later'), {
        timeoutMs: 15_000,
        intervalMs: 20,
      });
      const waited = Date.now() - started;
      assert.ok(waited < gapTimeoutMs + 3000, `the watch waited ${waited} ms behind the lost writer`);
      // The lost revision is void now: a late commit of it would be refused.
      const entry = await changeEntry(types.configmaps, allocated.from);
      assert.equal(entry?.void?.N, String(allocated.from));
      // Lists and the current revision move past it.
      assert.equal(await store.currentRevision(types.configmaps), later.metadata.resourceVersion);
      const listed = await store.list(types.configmaps, { namespace: 'killed' });
      assert.deepEqual(listed.items.map((item) => item.metadata.name).sort(), ['first', 'later']);
      assert.equal(listed.resourceVersion, later.metadata.resourceVersion);
      assert.deepEqual(
        watch.events.map((event) => `${event.type} ${event.object.metadata.name}`),
        ['ADDED later'],
      );
    } finally {
      await watch.stop();
      await writer.stop();
    }
  });

  it('refuses a stalled writer whose revision was voided, and commits its write at a new revision', async () => {
    let release: () => void = () => {};
    const released = new Promise<void>((done) => {
      release = done;
    });
    let taken: { from: number; through: number } | undefined;
    const stalled = createDynamoDbStore({
      client: db.client,
      tables: db.tables,
      pollIntervalMs: 50,
      gapTimeoutMs,
      afterAllocate: async (type, from, through) => {
        if (type.id !== types.secrets.id || taken) return;
        taken = { from, through };
        await released;
      },
    });
    try {
      await store.create(types.secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'first', namespace: 'late' } });
      const from = await store.currentRevision(types.secrets);
      const watch = collect(store, types.secrets, from, 'late');
      const slow = stalled.create(types.secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'slow', namespace: 'late' } });
      await waitFor('the stalled writer to take its revision', () => taken);
      const other = await store.create(types.secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'other', namespace: 'late' } });
      // A reader voids the stalled revision once it is older than the bound.
      await waitFor('the stalled revision to be voided', async () => (await changeEntry(types.secrets, taken?.from ?? 0))?.void !== undefined, {
        timeoutMs: 15_000,
        intervalMs: 50,
      });
      release();
      const committed = await slow;
      assert.ok(Number(committed.metadata.resourceVersion) > Number(other.metadata.resourceVersion), 'the late write took a new revision');
      await waitFor('both writes on the watch', () => watch.events.length >= 2, { timeoutMs: 10_000, intervalMs: 20 });
      await watch.stop();
      assert.deepEqual(
        watch.events.map((event) => `${event.type} ${event.object.metadata.name} ${event.object.metadata.resourceVersion}`),
        [`ADDED other ${other.metadata.resourceVersion}`, `ADDED slow ${committed.metadata.resourceVersion}`],
      );
    } finally {
      release();
      stalled.close();
    }
  });
});

/**
 * A client whose calls fail as `fault` says, as if DynamoDB had answered so; and, when `hangOn`
 * is given, whose requests of that operation with that text in their body are sent nowhere and never answered,
 * until the caller's abort signal gives up on them.
 */
function faultyClient(fault: (command: string) => Error | undefined, hangOn?: { readonly operation: string; readonly text: string }): DynamoDBClient {
  const client = localDynamoDbClient(db.endpoint);
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const outcome = fault(context.commandName ?? '');
      if (outcome) throw outcome;
      return next(args);
    },
    { step: 'initialize', name: 'injectFaults' },
  );
  const handler = client.config.requestHandler as {
    handle(request: { body?: unknown; headers?: Record<string, string> }, options?: { abortSignal?: AbortSignal }): Promise<unknown>;
  };
  const handle = handler.handle.bind(handler);
  handler.handle = (request, options) => {
    const body = typeof request.body === 'string' ? request.body : request.body instanceof Uint8Array ? new TextDecoder().decode(request.body) : '';
    const target = request.headers?.['x-amz-target'] ?? '';
    if (hangOn === undefined || !target.endsWith(`.${hangOn.operation}`) || !body.includes(hangOn.text)) return handle(request, options);
    return new Promise((_, reject) => {
      const abort = (): void => reject(Object.assign(new Error('Request aborted'), { name: 'AbortError' }));
      if (options?.abortSignal?.aborted) abort();
      options?.abortSignal?.addEventListener('abort', abort, { once: true });
    });
  };
  return client;
}

const throttled = (): Error => new ProvisionedThroughputExceededException({ message: 'throttled (injected)', $metadata: {} });

describe('DynamoDB store: throttling and conflicts', () => {
  it('retries throttled calls with back-off and writes once', async () => {
    let failures = 0;
    const client = faultyClient((command) =>
      ['UpdateItemCommand', 'TransactWriteItemsCommand', 'BatchGetItemCommand'].includes(command) && failures++ < 6 ? throttled() : undefined,
    );
    const flaky = createDynamoDbStore({ client, tables: db.tables, pollIntervalMs: 50 });
    try {
      const created = await flaky.create(types.configmaps, configMap('throttle', 'a', { v: '1' }));
      const updated = await flaky.update(types.configmaps, { ...created, data: { v: '2' } });
      assert.ok(failures >= 6);
      assert.deepEqual((await store.get(types.configmaps, 'throttle', 'a')).data, { v: '2' });
      assert.ok(Number(updated.metadata.resourceVersion) > Number(created.metadata.resourceVersion));
    } finally {
      flaky.close();
      client.destroy();
    }
  });

  it('answers 429 with Retry-After when throttling lasts, and writes nothing', async () => {
    const created = await store.create(types.configmaps, configMap('throttle', 'b', { v: '1' }));
    const from = await store.currentRevision(types.configmaps);
    const client = faultyClient((command) => (command === 'TransactWriteItemsCommand' ? throttled() : undefined));
    const flaky = createDynamoDbStore({ client, tables: db.tables, pollIntervalMs: 50 });
    try {
      const error = await flaky.update(types.configmaps, { ...created, data: { v: '2' } }).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      assert.ok(isApiError(error, 429), `got ${String(error)}`);
      assert.equal(error.reason, 'TooManyRequests');
      assert.equal(error.details?.retryAfterSeconds, 1);
      const response = errorResponse(error);
      assert.equal(response.status, 429);
      assert.equal(response.headers['retry-after'], '1');
      assert.deepEqual((await store.get(types.configmaps, 'throttle', 'b')).data, { v: '1' });
      // Its revisions were given back as void: nothing committed after `from`.
      const { Items } = await db.client.send(
        new QueryCommand({
          TableName: db.tables.changes,
          KeyConditionExpression: 'pk = :pk AND sk > :from',
          ExpressionAttributeValues: { ':pk': { S: types.configmaps.id }, ':from': { N: from } },
          ConsistentRead: true,
        }),
      );
      assert.ok((Items ?? []).length > 0);
      assert.deepEqual(
        (Items ?? []).filter((item) => item.void === undefined),
        [],
      );
    } finally {
      flaky.close();
      client.destroy();
    }
  });

  it('answers 429 when transactions keep being cancelled by conflicts, never 409 or 500', async () => {
    const created = await store.create(types.configmaps, configMap('throttle', 'c', { v: '1' }));
    const client = faultyClient((command) =>
      command === 'TransactWriteItemsCommand'
        ? new TransactionCanceledException({
            message: 'Transaction cancelled (injected)',
            $metadata: {},
            CancellationReasons: [{ Code: 'TransactionConflict' }, { Code: 'None' }],
          })
        : undefined,
    );
    const flaky = createDynamoDbStore({ client, tables: db.tables, pollIntervalMs: 50 });
    try {
      await assert.rejects(
        flaky.update(types.configmaps, { ...created, data: { v: '2' } }),
        (error) => isApiError(error, 429) && error.details?.retryAfterSeconds === 1,
      );
      assert.deepEqual((await store.get(types.configmaps, 'throttle', 'c')).data, { v: '1' });
    } finally {
      flaky.close();
      client.destroy();
    }
  });

  it('does not let a call that never answers hold up the other writers of its type, and answers 503 for it', async () => {
    const hung = await store.create(types.configmaps, configMap('hung', 'stuck', { v: '1' }));
    const free = await store.create(types.configmaps, configMap('hung', 'free', { v: '1' }));
    // The transaction that writes this object never gets an answer. The store gives up on it after
    // callTimeoutMs: long enough that the other writer, if it were held up behind the hung call,
    // could only finish after the hung one had failed, whatever the machine's load.
    const client = faultyClient(() => undefined, { operation: 'TransactWriteItems', text: '"hung/stuck"' });
    const flaky = createDynamoDbStore({ client, tables: db.tables, pollIntervalMs: 50, callTimeoutMs: 5_000 });
    try {
      let stuckSettled = false;
      const stuck = flaky.update(types.configmaps, { ...hung, data: { v: '2' } }).then(
        () => undefined,
        (error: unknown) => error,
      );
      void stuck.finally(() => {
        stuckSettled = true;
      });
      // Let the hung write start first.
      await new Promise((done) => setTimeout(done, 50));
      await flaky.update(types.configmaps, { ...free, data: { v: '2' } });
      assert.equal(stuckSettled, false, 'the other writer finished only after the hung call had failed');
      const error = await stuck;
      assert.ok(isApiError(error, 503), `got ${String(error)}`);
      assert.equal(error.details?.retryAfterSeconds, 1);
      assert.deepEqual((await store.get(types.configmaps, 'hung', 'stuck')).data, { v: '1' });
    } finally {
      flaky.close();
      client.destroy();
    }
  });
});

describe('DynamoDB store: the change log stays bounded', () => {
  it('keeps an hour of Lease renewals (clock fast-forwarded) within the retention window', async () => {
    let clock = Date.parse('2026-06-01T00:00:00Z');
    const retention = 300;
    const compactInterval = 60;
    const renewer = createDynamoDbStore({
      client: db.client,
      tables: db.tables,
      pollIntervalMs: 50,
      changeRetentionSeconds: retention,
      compactIntervalSeconds: compactInterval,
      now: () => new Date(clock),
    });
    const leaseCount = 4;
    const countEntries = async (): Promise<number> => {
      let count = 0;
      let start: Record<string, import('@aws-sdk/client-dynamodb').AttributeValue> | undefined;
      do {
        const page = await db.client.send(
          new QueryCommand({
            TableName: db.tables.changes,
            KeyConditionExpression: 'pk = :pk AND sk > :zero',
            ExpressionAttributeValues: { ':pk': { S: types.leases.id }, ':zero': { N: '0' } },
            Select: 'COUNT',
            ConsistentRead: true,
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        count += page.Count ?? 0;
        start = page.LastEvaluatedKey;
      } while (start);
      return count;
    };
    try {
      let leases = await Promise.all(
        Array.from({ length: leaseCount }, (_, i) =>
          renewer.create(types.leases, {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name: `node-${i}`, namespace: 'kube-node-lease' },
            spec: { holderIdentity: `node-${i}`, renewTime: new Date(clock).toISOString() },
          }),
        ),
      );
      const early = leases[0]?.metadata.resourceVersion ?? '';
      // One entry per renewal; retention plus one compaction interval of them is what may be kept.
      const bound = ((retention + 2 * compactInterval) / 10 + 2) * leaseCount;
      let most = 0;
      for (let second = 10; second <= 3600; second += 10) {
        clock += 10_000;
        leases = await Promise.all(
          leases.map((lease) => renewer.update(types.leases, { ...lease, spec: { ...(lease.spec as object), renewTime: new Date(clock).toISOString() } })),
        );
        if (second % 300 === 0) {
          // Compaction runs in the background as writes come; wait for this round's to finish.
          await renewer.compactChangeLog(types.leases);
          const entries = await countEntries();
          most = Math.max(most, entries);
          assert.ok(entries <= bound, `${entries} change-log entries after ${second} s of renewals (bound ${bound})`);
        }
      }
      assert.ok(most > 0);
      // A watch from the start of the hour is long compacted; one from now works.
      const old = renewer.watch(types.leases, { resourceVersion: early, signal: AbortSignal.timeout(5000) })[Symbol.asyncIterator]();
      await assert.rejects(old.next(), (error) => isApiError(error, 410));
      const current = await renewer.currentRevision(types.leases);
      const controller = new AbortController();
      const fresh = renewer.watch(types.leases, { resourceVersion: current, signal: controller.signal })[Symbol.asyncIterator]();
      const next = fresh.next();
      clock += 10_000;
      const lease = leases[0];
      assert.ok(lease);
      await renewer.update(types.leases, { ...lease, spec: { ...(lease.spec as object), renewTime: new Date(clock).toISOString() } });
      assert.equal((await next).value?.type, 'MODIFIED');
      controller.abort();
    } finally {
      renewer.close();
    }
  });
});

/**
 * The local stream poller against DynamoDB Local's real stream: Lambda-shaped batches in commit
 * order, re-acquired iterators after an expiry or trimmed data, and redelivery of the records a
 * handler reports as failed. Faults are injected into the real Streams client one call at a time.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DynamoDBStreamsClient, GetRecordsCommand } from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { type StreamPoller, startStreamPoller } from '../../../functions/local/stream-poller.ts';
import { createDynamoDbStore, type DynamoDbStore, parseStreamRecord } from '../../../functions/store/dynamodb-store.ts';
import { types } from '../../../schemas/registry.ts';
import { type TestDynamoDb, useDynamoDb } from '../../support/dynamodb.ts';
import { waitFor } from '../../support/wait.ts';

let db: TestDynamoDb;
let store: DynamoDbStore;
let streams: DynamoDBStreamsClient;

/** The real client, except that the next GetRecords fails once with `faultName`. */
function faulty(faults: string[]): DynamoDBStreamsClient {
  return {
    send(command: unknown, options?: unknown) {
      if (command instanceof GetRecordsCommand && faults.length > 0) {
        const name = faults.shift() ?? '';
        return Promise.reject(Object.assign(new Error(name), { name }));
      }
      return (streams.send as (c: unknown, o?: unknown) => Promise<unknown>)(command, options);
    },
  } as DynamoDBStreamsClient;
}

const configMap = (name: string, value: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'poller' }, data: { value } });

describe('stream poller', { timeout: 120_000 }, () => {
  before(async () => {
    db = await useDynamoDb();
    store = createDynamoDbStore({ client: db.client, tables: db.tables });
    streams = new DynamoDBStreamsClient({ endpoint: db.endpoint, region: db.client.config.region, credentials: db.client.config.credentials });
  });
  after(async () => {
    streams?.destroy();
    store?.close();
    await db?.cleanup();
  });

  async function withPoller(
    client: DynamoDBStreamsClient,
    consume: (event: DynamoDBStreamEvent) => Promise<{ batchItemFailures: { itemIdentifier: string }[] }>,
    body: () => Promise<void>,
  ) {
    const poller: StreamPoller = await startStreamPoller({
      dynamoDb: db.client,
      streams: client,
      tableName: db.tables.objects,
      consumers: [consume],
      pollIntervalMs: 50,
    });
    try {
      await body();
    } finally {
      await poller.stop();
    }
  }

  it('delivers writes as Lambda-shaped records, in order', async () => {
    const seen: DynamoDBRecord[] = [];
    await withPoller(
      streams,
      async (event) => {
        seen.push(...event.Records);
        return { batchItemFailures: [] };
      },
      async () => {
        await store.create(types.configmaps, configMap('ordered', '1'));
        await store.update(types.configmaps, { ...(await store.get(types.configmaps, 'poller', 'ordered')), data: { value: '2' } });
        await store.delete(types.configmaps, 'poller', 'ordered');
        await waitFor('three records', () => seen.filter((r) => parseStreamRecord(r)?.name === 'ordered').length === 3);
      },
    );
    const mine = seen.filter((r) => parseStreamRecord(r)?.name === 'ordered');
    assert.deepEqual(
      mine.map((r) => r.eventName),
      ['INSERT', 'MODIFY', 'REMOVE'],
    );
    for (const record of mine) {
      assert.equal(record.eventSource, 'aws:dynamodb');
      assert.match(record.eventSourceARN ?? '', /stream/);
      assert.ok(record.eventID);
      assert.equal(typeof record.dynamodb?.ApproximateCreationDateTime, 'number');
    }
    const changes = mine.map((r) => parseStreamRecord(r));
    assert.deepEqual(changes[1]?.oldObject?.data, { value: '1' });
    assert.deepEqual(changes[1]?.newObject?.data, { value: '2' });
    assert.equal(changes[2]?.newObject, undefined);
  });

  for (const fault of ['ExpiredIteratorException', 'TrimmedDataAccessException']) {
    it(`keeps delivering after ${fault}`, async () => {
      const names = new Set<string>();
      const faults: string[] = [];
      await withPoller(
        faulty(faults),
        async (event) => {
          for (const record of event.Records) names.add(parseStreamRecord(record)?.name ?? '');
          return { batchItemFailures: [] };
        },
        async () => {
          await store.create(types.configmaps, configMap(`before-${fault}`, '1'));
          await waitFor('the first record', () => names.has(`before-${fault}`));
          faults.push(fault);
          await waitFor('the fault to be hit', () => faults.length === 0);
          await store.create(types.configmaps, configMap(`after-${fault}`, '1'));
          await waitFor('the record after the fault', () => names.has(`after-${fault}`));
        },
      );
    });
  }

  it('delivers a record again while the handler reports it failed', async () => {
    const deliveries = new Map<string, number>();
    await withPoller(
      streams,
      async (event) => {
        const failures: { itemIdentifier: string }[] = [];
        for (const record of event.Records) {
          const name = parseStreamRecord(record)?.name ?? '';
          const count = (deliveries.get(name) ?? 0) + 1;
          deliveries.set(name, count);
          if (name === 'retried' && count < 3) failures.push({ itemIdentifier: record.dynamodb?.SequenceNumber ?? '' });
        }
        return { batchItemFailures: failures };
      },
      async () => {
        await store.create(types.configmaps, configMap('fine', '1'));
        await store.create(types.configmaps, configMap('retried', '1'));
        await waitFor('three deliveries', () => deliveries.get('retried') === 3);
      },
    );
    assert.equal(deliveries.get('fine'), 1);
    assert.equal(deliveries.get('retried'), 3);
  });

  it('retries a partial failure from the reported record on, as Lambda checkpoints at the lowest SequenceNumber', async () => {
    const batches: string[][] = [];
    let failedOnce = false;
    await withPoller(
      streams,
      async (event) => {
        const names = event.Records.map((record) => parseStreamRecord(record)?.name ?? '');
        if (!names.some((name) => name.startsWith('partial-'))) return { batchItemFailures: [] };
        batches.push(names);
        const middle = event.Records[names.indexOf('partial-b')];
        if (failedOnce || !middle) return { batchItemFailures: [] };
        failedOnce = true;
        // The middle record failed: everything from it on comes again, the first does not.
        return { batchItemFailures: [{ itemIdentifier: middle.dynamodb?.SequenceNumber ?? '' }] };
      },
      async () => {
        // One transaction: three records that reach the poller in one GetRecords.
        await store.batch(types.configmaps, [
          { op: 'create', object: configMap('partial-a', '1') },
          { op: 'create', object: configMap('partial-b', '1') },
          { op: 'create', object: configMap('partial-c', '1') },
        ]);
        await waitFor('the retried batch', () => batches.length >= 2);
      },
    );
    assert.deepEqual(batches, [
      ['partial-a', 'partial-b', 'partial-c'],
      ['partial-b', 'partial-c'],
    ]);
  });

  it('delivers the whole batch again when an itemIdentifier names no record of it', async () => {
    const batches: string[][] = [];
    await withPoller(
      streams,
      async (event) => {
        const names = event.Records.map((record) => parseStreamRecord(record)?.name ?? '');
        if (!names.some((name) => name.startsWith('unknown-'))) return { batchItemFailures: [] };
        batches.push(names);
        // An eventID is not what Lambda checkpoints on: it counts as a failure of the whole batch.
        return { batchItemFailures: batches.length === 1 ? [{ itemIdentifier: event.Records[1]?.eventID ?? '' }] : [] };
      },
      async () => {
        await store.batch(types.configmaps, [
          { op: 'create', object: configMap('unknown-a', '1') },
          { op: 'create', object: configMap('unknown-b', '1') },
        ]);
        await waitFor('the retried batch', () => batches.length >= 2);
      },
    );
    assert.deepEqual(batches, [
      ['unknown-a', 'unknown-b'],
      ['unknown-a', 'unknown-b'],
    ]);
  });
});

/**
 * The stream consumers' Lambda entry point, driven with the batches Lambda's event source mapping
 * sends (records read from DynamoDB Local's real stream, in Lambda's shape, with their
 * SequenceNumbers): a key that fails is reported by its records' SequenceNumbers, and the batch
 * Lambda then delivers again (from the lowest one reported) is reconciled without the records
 * that already succeeded.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import type { Controller } from '../../../functions/controller-runtime/controller.ts';
import { createStreamBatchHandler } from '../../../functions/lambda/lambda-runtime.ts';
import { remainderAfterResponse, startStreamPoller } from '../../../functions/local/stream-poller.ts';
import { createDynamoDbStore, type DynamoDbStore, parseStreamRecord } from '../../../functions/store/dynamodb-store.ts';
import { types } from '../../../schemas/registry.ts';
import { type TestDynamoDb, useDynamoDb } from '../../support/dynamodb.ts';
import { waitFor } from '../../support/wait.ts';

let db: TestDynamoDb;
let store: DynamoDbStore;

const configMap = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'lambda-stream' }, data: { value: name } });
const context = { awsRequestId: 'test', getRemainingTimeInMillis: () => 60_000 } as unknown as Context;

/** Records of the objects stream as the event source mapping hands them over. */
async function recordsOf(write: () => Promise<void>, count: number): Promise<DynamoDBRecord[]> {
  const streams = new DynamoDBStreamsClient({ endpoint: db.endpoint, region: db.client.config.region, credentials: db.client.config.credentials });
  const seen: DynamoDBRecord[] = [];
  const poller = await startStreamPoller({
    dynamoDb: db.client,
    streams,
    tableName: db.tables.objects,
    pollIntervalMs: 50,
    consumers: [
      async (event) => {
        seen.push(...event.Records);
        return { batchItemFailures: [] };
      },
    ],
  });
  try {
    await write();
    await waitFor(`${count} stream records`, () => seen.length >= count);
  } finally {
    await poller.stop();
    streams.destroy();
  }
  return seen;
}

describe('stream consumer Lambda handler', { timeout: 120_000 }, () => {
  before(async () => {
    db = await useDynamoDb();
    store = createDynamoDbStore({ client: db.client, tables: db.tables });
  });
  after(async () => {
    store?.close();
    await db?.cleanup();
  });

  it('reports the failed key by SequenceNumber, and the retried batch from that record on succeeds', async () => {
    const records = await recordsOf(async () => {
      await store.batch(
        types.configmaps,
        ['first', 'flaky', 'last'].map((name) => ({ op: 'create' as const, object: configMap(name) })),
      );
    }, 3);
    const reconciled: string[] = [];
    let flakyFailures = 0;
    const controller: Controller = {
      name: 'configmap-echo',
      resyncTypes: [],
      keysFor: (change) => [{ typeId: change.typeId, ...(change.namespace ? { namespace: change.namespace } : {}), name: change.name }],
      async reconcile(key, ctx) {
        // A real read of the object, failing once for one of them.
        await ctx.store.get(types.configmaps, key.namespace, key.name);
        if (key.name === 'flaky' && flakyFailures++ === 0) throw new Error('the store was briefly unreachable');
        reconciled.push(key.name);
        return undefined;
      },
    };
    const handler = createStreamBatchHandler(() => ({ store, controllers: [controller] })) as unknown as (
      event: DynamoDBStreamEvent,
      context: Context,
    ) => Promise<DynamoDBBatchResponse>;

    const event: DynamoDBStreamEvent = { Records: records };
    const names = records.map((record) => parseStreamRecord(record)?.name);
    assert.deepEqual(names, ['first', 'flaky', 'last']);
    const response = await handler(event, context);
    const flakyRecord = records[1];
    assert.ok(flakyRecord?.dynamodb?.SequenceNumber);
    assert.deepEqual(response, { batchItemFailures: [{ itemIdentifier: flakyRecord.dynamodb.SequenceNumber }] });
    assert.deepEqual(reconciled.sort(), ['first', 'last']);

    // What Lambda delivers next: the batch from the checkpoint on.
    const retry = remainderAfterResponse(records, response);
    assert.deepEqual(
      retry.map((record) => parseStreamRecord(record)?.name),
      ['flaky', 'last'],
    );
    reconciled.length = 0;
    assert.deepEqual(await handler({ Records: retry }, context), { batchItemFailures: [] });
    assert.deepEqual(reconciled.sort(), ['flaky', 'last']);
  });
});

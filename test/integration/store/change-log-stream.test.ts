/**
 * The change log's stream on DynamoDB Local: turned on for an existing table when the watch
 * channel needs it, and its records read back by `parseChangeStreamRecord` as the changes the
 * store committed — the revision counter's own updates and TTL compaction read as nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord } from 'aws-lambda';
import { startStreamPoller } from '../../../functions/local/stream-poller.ts';
import { parseChangeStreamRecord } from '../../../functions/store/change-stream.ts';
import { createDynamoDbStore, type DynamoDbStore } from '../../../functions/store/dynamodb-store.ts';
import { ensureTables } from '../../../functions/store/tables.ts';
import { types } from '../../../schemas/registry.ts';
import { type TestDynamoDb, useDynamoDb } from '../../support/dynamodb.ts';
import { waitFor } from '../../support/wait.ts';

describe('the change log stream', { timeout: 120_000 }, () => {
  let db: TestDynamoDb;
  let store: DynamoDbStore;

  before(async () => {
    db = await useDynamoDb();
    store = createDynamoDbStore({ client: db.client, tables: db.tables });
  });
  after(async () => {
    store?.close();
    await db?.cleanup();
  });

  const streamOf = async (table: string) => (await db.client.send(new DescribeTableCommand({ TableName: table }))).Table?.StreamSpecification;

  it('is off unless asked for, and turned on for a table made without it', async () => {
    assert.equal((await streamOf(db.tables.changes))?.StreamEnabled ?? false, false);
    await ensureTables(db.client, db.tables, { changeLogStream: true });
    assert.deepEqual(await streamOf(db.tables.changes), { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' });
  });

  it('reads back each committed change, and nothing for the revision counter', async () => {
    const streams = new DynamoDBStreamsClient({ endpoint: db.endpoint, region: db.client.config.region, credentials: db.client.config.credentials });
    const records: DynamoDBRecord[] = [];
    const poller = await startStreamPoller({
      dynamoDb: db.client,
      streams,
      tableName: db.tables.changes,
      pollIntervalMs: 50,
      consumers: [
        async (event) => {
          records.push(...event.Records);
          return { batchItemFailures: [] };
        },
      ],
    });
    try {
      const created = await store.create(types.configmaps, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'logged', namespace: 'cls', labels: { a: '1' } },
      });
      await store.update(types.configmaps, { ...created, metadata: { ...created.metadata, labels: { a: '2' } } });
      await store.delete(types.configmaps, 'cls', 'logged');
      await waitFor('three change entries', () => records.filter((record) => parseChangeStreamRecord(record)).length >= 3);
    } finally {
      await poller.stop();
      streams.destroy();
    }
    const changes = records.flatMap((record) => {
      const change = parseChangeStreamRecord(record);
      return change ? [change] : [];
    });
    assert.deepEqual(
      changes.map((change) => [change.typeId, change.type, change.object.metadata.name, change.prior?.labels]),
      [
        ['core/configmaps', 'ADDED', 'logged', undefined],
        ['core/configmaps', 'MODIFIED', 'logged', { a: '1' }],
        ['core/configmaps', 'DELETED', 'logged', undefined],
      ],
    );
    assert.deepEqual(
      changes.map((change) => String(change.revision)),
      changes.map((change) => change.object.metadata.resourceVersion),
    );
    assert.ok(records.length > changes.length, 'the counter item is in the stream too, and is not a change');
  });
});

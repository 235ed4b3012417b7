import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createMeter, meterDynamoDb, usageBetween } from '../../../bench/metering.ts';
import { createDynamoDbStore, type DynamoDbStore } from '../../../functions/store/dynamodb-store.ts';
import { types } from '../../../schemas/registry.ts';
import { type TestDynamoDb, useDynamoDb } from '../../support/dynamodb.ts';

describe('bench metering on DynamoDB Local', () => {
  let db: TestDynamoDb;
  let store: DynamoDbStore;
  const meter = createMeter();

  before(async () => {
    db = await useDynamoDb();
    meterDynamoDb(db.client, meter);
    store = createDynamoDbStore({ client: db.client, tables: db.tables });
  });
  after(async () => {
    store.close();
    await db.cleanup();
  });

  const configMap = (name: string, bytes = 10) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: 'metering' },
    data: { key: 'x'.repeat(bytes) },
  });

  it('counts a create as a revision from the counter (1 write unit) and one transaction of the object and its change entry (2 units per kilobyte of each, as AWS bills them)', async () => {
    const before = meter.usage();
    const recorder = meter.recordCalls();
    await store.create(types.configmaps, configMap('small'));
    const calls = recorder.stop();
    const used = usageBetween(before, meter.usage());
    assert.deepEqual(
      calls.map((call) => call.command),
      ['UpdateItemCommand', 'TransactWriteItemsCommand'],
    );
    const [counter, transaction] = calls;
    assert.equal(counter?.writeUnits, 1);
    assert.equal(transaction?.writeUnits, 4);
    // DynamoDB Local's own figure for the same transaction: 4 per table it touches.
    assert.equal(transaction?.reportedWriteUnits, 8);
    assert.equal(used.dynamoDb.writeUnits, 5);
    assert.equal(used.dynamoDb.calls, calls.length);
  });

  it('bills a bigger object by the kilobyte: a 3 KB object costs 2 units per started kilobyte of each item', async () => {
    const recorder = meter.recordCalls();
    await store.create(types.configmaps, configMap('big', 3000));
    const [transaction] = recorder.stop().filter((call) => call.command === 'TransactWriteItemsCommand');
    // The object item and the change entry are each a little over 3 KB: 4 started kilobytes, 8 units each.
    assert.equal(transaction?.writeUnits, 16);
  });

  it('counts a strongly consistent get as read units and no write units', async () => {
    const before = meter.usage();
    await store.get(types.configmaps, 'metering', 'small');
    const used = usageBetween(before, meter.usage());
    assert.equal(used.dynamoDb.writeUnits, 0);
    assert.ok(used.dynamoDb.readUnits >= 1);
  });

  it('counts a call that fails (a create of a taken name) as a call', async () => {
    const before = meter.usage();
    await assert.rejects(store.create(types.configmaps, configMap('small')));
    assert.ok(usageBetween(before, meter.usage()).dynamoDb.calls >= 1);
  });
});

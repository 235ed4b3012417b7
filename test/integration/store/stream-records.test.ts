import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { type _Record, DescribeStreamCommand, DynamoDBStreamsClient, GetRecordsCommand, GetShardIteratorCommand } from '@aws-sdk/client-dynamodb-streams';
import { localCredentials } from '../../../functions/local/dynamodb-local.ts';
import { createDynamoDbStore, type DynamoDbStore, parseStreamRecord } from '../../../functions/store/dynamodb-store.ts';
import { types } from '../../../schemas/registry.ts';
import { type TestDynamoDb, useDynamoDb } from '../../support/dynamodb.ts';

let db: TestDynamoDb;
let store: DynamoDbStore;
let streams: DynamoDBStreamsClient;

before(async () => {
  db = await useDynamoDb();
  store = createDynamoDbStore({ client: db.client, tables: db.tables });
  streams = new DynamoDBStreamsClient({ endpoint: db.endpoint, region: 'us-east-1', credentials: localCredentials });
});

after(async () => {
  store.close();
  streams.destroy();
  await db.cleanup();
});

/** Every record of the objects table's stream so far, read through the Streams API. */
async function streamRecords(): Promise<_Record[]> {
  const { Table } = await db.client.send(new DescribeTableCommand({ TableName: db.tables.objects }));
  const streamArn = Table?.LatestStreamArn;
  assert.ok(streamArn, 'the objects table has a stream');
  const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
  const records: _Record[] = [];
  for (const shard of StreamDescription?.Shards ?? []) {
    const { ShardIterator } = await streams.send(
      new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }),
    );
    let iterator = ShardIterator;
    // An open shard always hands out a next iterator: stop at the first empty page.
    for (let page = 0; iterator && page < 50; page++) {
      const result = await streams.send(new GetRecordsCommand({ ShardIterator: iterator }));
      if ((result.Records ?? []).length === 0) break;
      records.push(...(result.Records ?? []));
      iterator = result.NextShardIterator;
    }
  }
  return records;
}

describe('parseStreamRecord', () => {
  it('turns INSERT, MODIFY and REMOVE records into the objects before and after', async () => {
    const created = await store.create(types.pods, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'streamed', namespace: 'default', labels: { app: 'web' } },
      spec: { containers: [{ name: 'c', image: 'busybox' }] },
    });
    const bound = await store.update(types.pods, { ...created, spec: { ...(created.spec as object), nodeName: 'node-1' } });
    const removed = await store.delete(types.pods, 'default', 'streamed');
    await store.create(types.nodes, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1' }, spec: {} });

    const changes = (await streamRecords()).map((record) => ({ event: record.eventName, change: parseStreamRecord(record) }));
    assert.equal(changes.length, 4);
    const [insert, modify, remove, node] = changes;

    assert.equal(insert?.event, 'INSERT');
    assert.deepEqual(insert?.change, { typeId: 'core/pods', namespace: 'default', name: 'streamed', newObject: created });
    assert.equal(modify?.event, 'MODIFY');
    assert.deepEqual(modify?.change, { typeId: 'core/pods', namespace: 'default', name: 'streamed', oldObject: created, newObject: bound });
    assert.equal(remove?.event, 'REMOVE');
    // The item's last stored state: the DELETED change entry carries it with a newer revision.
    assert.deepEqual(remove?.change, { typeId: 'core/pods', namespace: 'default', name: 'streamed', oldObject: bound });
    assert.ok(Number(removed.object.metadata.resourceVersion) > Number(bound.metadata.resourceVersion));
    assert.equal(node?.change?.typeId, 'core/nodes');
    assert.equal(node?.change?.namespace, undefined);
    assert.equal(node?.change?.name, 'node-1');
  });

  it('ignores records that are not object items', () => {
    assert.equal(parseStreamRecord({ dynamodb: { Keys: { pk: { S: 'x' } }, NewImage: { pk: { S: 'x' } } } }), undefined);
    assert.equal(
      parseStreamRecord({ dynamodb: { Keys: { pk: { S: 'core/pods' }, sk: { S: 'ns/a' } }, NewImage: { pk: { S: 'core/pods' }, sk: { S: 'ns/a' } } } }),
      undefined,
    );
    assert.equal(parseStreamRecord({}), undefined);
  });
});

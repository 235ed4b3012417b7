/**
 * The scheduled resync Lambda against DynamoDB Local: configured only by its environment, as the
 * stack configures it (`OBJECTS_TABLE`, `CHANGES_TABLE`, and `AWS_ENDPOINT_URL` pointing the SDK
 * at the emulator), invoked with the EventBridge scheduled event shape AWS documents and a Lambda
 * context. It reconciles every key and logs the result with the invocation's context.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Context, ScheduledEvent } from 'aws-lambda';
import type { ResyncResult } from '../../../functions/controller-runtime/run-controllers.ts';
import { createDynamoDbStore } from '../../../functions/store/dynamodb-store.ts';
import { types } from '../../../schemas/registry.ts';
import { type TestDynamoDb, useDynamoDb } from '../../support/dynamodb.ts';
import { logLines } from '../../support/log-lines.ts';
import { deploymentObject, namespaceObject } from '../controllers/control-plane.ts';

const event: ScheduledEvent = {
  version: '0',
  id: '89d1a02d-5ec7-412e-82f5-13505f849b41',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '123456789012',
  time: '2026-01-01T00:00:00Z',
  region: 'us-east-1',
  resources: ['arn:aws:events:us-east-1:123456789012:rule/skiff-resync'],
  detail: {},
};

const context = {
  functionName: 'skiff-resync',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:skiff-resync',
  memoryLimitInMB: '1024',
  awsRequestId: '0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0',
  getRemainingTimeInMillis: () => 300_000,
} as unknown as Context;

const variables = ['OBJECTS_TABLE', 'CHANGES_TABLE', 'AWS_ENDPOINT_URL', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] as const;

describe('resync Lambda', () => {
  let db: TestDynamoDb;
  const saved = Object.fromEntries(variables.map((name) => [name, process.env[name]]));

  before(async () => {
    db = await useDynamoDb();
    Object.assign(process.env, {
      OBJECTS_TABLE: db.tables.objects,
      CHANGES_TABLE: db.tables.changes,
      AWS_ENDPOINT_URL: db.endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'skiff',
      AWS_SECRET_ACCESS_KEY: 'skiff',
    });
  });

  after(async () => {
    for (const name of variables) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
    await db?.cleanup();
  });

  it('reconciles every key and logs the result with the invocation’s context', async () => {
    const store = createDynamoDbStore({ client: db.client, tables: db.tables });
    await store.create(types.namespaces, namespaceObject('resync-lambda'));
    await store.create(types.deployments, deploymentObject('resync-lambda', 'web'));
    const { handler } = (await import('../../../functions/lambda/resync-handler.ts')) as {
      handler: (event: ScheduledEvent, context: Context) => Promise<ResyncResult>;
    };
    let result: ResyncResult | undefined;
    const entries = await logLines(async () => {
      result = await handler(event, context);
    });
    assert.equal(result?.failed, 0);
    assert.ok((result?.keys ?? 0) >= 1, JSON.stringify(result));
    const done = entries.find((entry) => entry.message === 'resync done');
    assert.ok(done, JSON.stringify(entries));
    assert.equal(done.level, 'INFO');
    assert.equal(done.component, 'resync');
    assert.equal(done.keys, result?.keys);
    assert.equal(done.function_name, 'skiff-resync');
    assert.equal(done.function_request_id, context.awsRequestId);
    // The Deployment the stream never announced got its ReplicaSet.
    const replicaSets = await store.list(types.replicasets, { namespace: 'resync-lambda' });
    store.close();
    assert.equal(replicaSets.items.length, 1);
  });
});

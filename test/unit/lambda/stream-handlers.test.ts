/**
 * The controller-manager and scheduler Lambdas, driven with the DynamoDB Streams event shape AWS
 * documents and a Lambda context: each writes its structured log with the invocation's context
 * (`injectLambdaContext` in its middy chain) and reports no batch item failure for a record that
 * can never be read.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { logLines } from '../../support/log-lines.ts';

type StreamHandler = (event: DynamoDBStreamEvent, context: Context) => Promise<DynamoDBBatchResponse>;

const context = {
  functionName: 'skiff-controllers',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:skiff-controllers',
  memoryLimitInMB: '1024',
  awsRequestId: '8f507cfc-c1a5-4c4a-9e1b-7d1c0a1e2f3a',
  getRemainingTimeInMillis: () => 60_000,
} as unknown as Context;

/** One INSERT record whose item body is not JSON: what no retry will ever make readable. */
const unreadable: DynamoDBStreamEvent = {
  Records: [
    {
      eventID: '1',
      eventName: 'INSERT',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: 'us-east-1',
      dynamodb: {
        ApproximateCreationDateTime: 1_767_268_800,
        Keys: { pk: { S: 'v1/pods' }, sk: { S: 'default/web' } },
        NewImage: { pk: { S: 'v1/pods' }, sk: { S: 'default/web' }, body: { S: 'not json' }, rv: { N: '7' } },
        SequenceNumber: '111',
        SizeBytes: 26,
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
      eventSourceARN: 'arn:aws:dynamodb:us-east-1:123456789012:table/skiff-objects/stream/2026-01-01T00:00:00.000',
    },
  ],
};

describe('stream Lambda handlers', () => {
  const saved = { ...process.env };
  before(() => {
    Object.assign(process.env, { OBJECTS_TABLE: 'skiff-objects', CHANGES_TABLE: 'skiff-changes', AWS_REGION: 'us-east-1' });
  });
  after(() => {
    for (const name of ['OBJECTS_TABLE', 'CHANGES_TABLE', 'AWS_REGION']) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });

  for (const [file, component] of [
    ['controllers-handler.ts', 'controller-manager'],
    ['scheduler-handler.ts', 'scheduler'],
  ] as const) {
    it(`${file}: skips an unreadable record with an ERROR entry carrying the invocation's context`, async () => {
      const { handler } = (await import(`../../../functions/lambda/${file}`)) as { handler: StreamHandler };
      let result: DynamoDBBatchResponse | undefined;
      const entries = await logLines(async () => {
        result = await handler(unreadable, context);
      });
      assert.deepEqual(result, { batchItemFailures: [] });
      const entry = entries.find((e) => e.message === 'unreadable stream record skipped');
      assert.ok(entry, JSON.stringify(entries));
      assert.equal(entry.level, 'ERROR');
      assert.equal(entry.service, 'skiff');
      assert.equal(entry.component, component);
      assert.equal(entry.eventID, '1');
      assert.equal(entry.function_name, 'skiff-controllers');
      assert.equal(entry.function_request_id, context.awsRequestId);
    });
  }
});

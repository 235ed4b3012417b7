/**
 * The controller-manager Lambda's requeues (docs/adr/138): driven with the DynamoDB Streams event
 * shape and then the SQS event shape AWS documents, against DynamoDB Local. A LoadBalancer
 * Service's new target is still registering after the first pass, so the reconcile asks to look
 * again in 15 s: the handler sends that as one SQS message with `DelaySeconds: 15`; the message,
 * delivered back as an SQS event, reconciles the Service again and finds the target healthy —
 * without waiting for the minute's resync. ELBv2 and SQS cannot run here: every client of the
 * process is answered by aws-sdk-client-mock (`test/support/fake-elbv2.ts`, and the SQS mock
 * below, whose calls are asserted exactly).
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { type AttributeValue, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, DynamoDBRecord, DynamoDBStreamEvent, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { createDynamoDbStore } from '../../../functions/store/dynamodb-store.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import { type TestDynamoDb, useDynamoDb } from '../../support/dynamodb.ts';
import { FakeElbv2, testNetwork } from '../../support/fake-elbv2.ts';
import { acceptEveryMessageBatch, sqsRecord } from '../../support/lambda-events.ts';
import { namespaceObject } from '../controllers/control-plane.ts';

type Handler = (event: DynamoDBStreamEvent | SQSEvent, context: Context) => Promise<SQSBatchResponse>;

const context = {
  functionName: 'skiff-controllers',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:skiff-controllers',
  memoryLimitInMB: '1024',
  awsRequestId: '5e1d2c3b-7b61-11e6-9a41-93e8deadbeef',
  getRemainingTimeInMillis: () => 60_000,
} as unknown as Context;

const queueUrl = 'https://sqs.eu-west-1.amazonaws.com/123456789012/skiff-ControllerRequeue';
const variables = [
  'OBJECTS_TABLE',
  'CHANGES_TABLE',
  'AWS_ENDPOINT_URL',
  'AWS_REGION',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'CLUSTER_NAME',
  'LB_VPC_ID',
  'LB_PUBLIC_SUBNETS',
  'LB_PRIVATE_SUBNETS',
  'LB_SECURITY_GROUPS',
  'REQUEUE_QUEUE_URL',
] as const;

const namespace = `requeue-${process.pid}`;
const targetHealthType = 'target-health.skiff.io/web';

/** One message as Lambda's SQS event source mapping delivers it. */
describe('controller-manager Lambda requeues through SQS', () => {
  let db: TestDynamoDb;
  let store: ReturnType<typeof createDynamoDbStore>;
  let fake: FakeElbv2;
  let handler: Handler;
  const sqs = mockClient(SQSClient);
  const saved = Object.fromEntries(variables.map((name) => [name, process.env[name]]));

  before(async () => {
    db = await useDynamoDb();
    Object.assign(process.env, {
      OBJECTS_TABLE: db.tables.objects,
      CHANGES_TABLE: db.tables.changes,
      AWS_ENDPOINT_URL: db.endpoint,
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'skiff',
      AWS_SECRET_ACCESS_KEY: 'skiff',
      CLUSTER_NAME: testNetwork.clusterName,
      LB_VPC_ID: testNetwork.vpcId,
      LB_PUBLIC_SUBNETS: testNetwork.publicSubnets.join(','),
      LB_PRIVATE_SUBNETS: testNetwork.privateSubnets.join(','),
      LB_SECURITY_GROUPS: testNetwork.securityGroups.join(','),
      REQUEUE_QUEUE_URL: queueUrl,
    });
    fake = new FakeElbv2({ everyClient: true });
    store = createDynamoDbStore({ client: db.client, tables: db.tables });
    ({ handler } = (await import('../../../functions/lambda/controllers-handler.ts')) as unknown as { handler: Handler });
    await store.create(types.namespaces, namespaceObject(namespace));
    await store.create(types.pods, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web-1', namespace, labels: { app: 'web' } },
      spec: { nodeName: 'ip-10-0-1-20', containers: [{ name: 'web', image: 'nginx', ports: [{ containerPort: 8080 }] }] },
      status: { phase: 'Running', podIP: '10.0.1.5', conditions: [{ type: 'ContainersReady', status: 'True' }] },
    } satisfies KubeObject);
  });

  beforeEach(() => {
    acceptEveryMessageBatch(sqs);
  });

  after(async () => {
    sqs.restore();
    fake?.restore();
    store?.close();
    for (const name of variables) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
    await db?.cleanup();
  });

  async function item(typeId: string, name: string): Promise<Record<string, AttributeValue> | undefined> {
    const out = await db.client.send(
      new GetItemCommand({ TableName: db.tables.objects, Key: { pk: { S: typeId }, sk: { S: `${namespace}/${name}` } }, ConsistentRead: true }),
    );
    return out.Item;
  }

  function insertRecord(typeId: string, name: string, image: Record<string, AttributeValue>): DynamoDBRecord {
    return {
      eventID: '1',
      eventName: 'INSERT',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: 'eu-west-1',
      dynamodb: {
        ApproximateCreationDateTime: Math.floor(Date.now() / 1000),
        Keys: { pk: { S: typeId }, sk: { S: `${namespace}/${name}` } },
        NewImage: image as never,
        SequenceNumber: '101',
        SizeBytes: 512,
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
      eventSourceARN: `arn:aws:dynamodb:eu-west-1:123456789012:table/${db.tables.objects}/stream/2026-01-01T00:00:00.000`,
    };
  }

  async function targetHealth(): Promise<{ status: string; reason?: string } | undefined> {
    const pod = await store.get(types.pods, namespace, 'web-1');
    return ((pod.status as { conditions?: { type: string; status: string; reason?: string }[] }).conditions ?? []).find((c) => c.type === targetHealthType);
  }

  const requeueBody = JSON.stringify({ controller: 'service-controller', key: { typeId: types.services.id, namespace, name: 'web' } });

  it('sends a registering target’s recheck as one delayed message, and reconciles again when it is delivered', async () => {
    await store.create(types.services, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace },
      spec: { type: 'LoadBalancer', selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }] },
    });
    const created = await item(types.services.id, 'web');
    assert.ok(created);
    assert.deepEqual(await handler({ Records: [insertRecord(types.services.id, 'web', created)] }, context), { batchItemFailures: [] });
    assert.equal((await targetHealth())?.reason, 'Registering');
    // Exactly one call: the Service's key, after the provider's 15 s recheck.
    assert.deepEqual(
      sqs.commandCalls(SendMessageBatchCommand).map((call) => call.args[0].input),
      [{ QueueUrl: queueUrl, Entries: [{ Id: '0', MessageBody: requeueBody, DelaySeconds: 15 }] }],
    );
    assert.equal(sqs.calls().length, 1);

    // ELBv2 finds the target healthy; the message comes back (twice: SQS delivers at least once).
    const group = [...fake.groups.keys()][0] ?? '';
    fake.setHealth(group, 'healthy');
    sqs.reset();
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
    fake.reset();
    const delivered = await handler({ Records: [sqsRecord('msg-1', requeueBody), sqsRecord('msg-2', requeueBody)] }, context);
    assert.deepEqual(delivered, { batchItemFailures: [] });
    const health = await targetHealth();
    assert.equal(health?.status, 'True');
    assert.equal(health?.reason, 'Healthy');
    assert.equal(fake.calls().filter((call) => call === 'DescribeTargetHealth').length, 1, 'the key was reconciled once for both messages');
    // Settled: nothing asks for another look.
    assert.equal(sqs.calls().length, 0);
  });

  it('reports a key that fails by its messages’ ids, and sends the requeue of what still settles', async () => {
    const group = [...fake.groups.keys()][0] ?? '';
    fake.setHealth(group, 'initial');
    // A pass that fails on ELBv2 (an error the provider does not retry): the message is delivered again later.
    fake.failNext(
      'DescribeLoadBalancers',
      Object.assign(new Error('internal failure'), { name: 'InternalFailure', $fault: 'server', $metadata: { httpStatusCode: 500 } }),
    );
    const failed = await handler({ Records: [sqsRecord('msg-3', requeueBody)] }, context);
    assert.deepEqual(failed, { batchItemFailures: [{ itemIdentifier: 'msg-3' }] });
    assert.equal(sqs.calls().length, 0, 'a failed pass asks for no requeue: the message itself comes back');

    const again = await handler({ Records: [sqsRecord('msg-3', requeueBody)] }, context);
    assert.deepEqual(again, { batchItemFailures: [] });
    assert.equal((await targetHealth())?.reason, 'Registering');
    assert.deepEqual(
      sqs.commandCalls(SendMessageBatchCommand).map((call) => call.args[0].input),
      [{ QueueUrl: queueUrl, Entries: [{ Id: '0', MessageBody: requeueBody, DelaySeconds: 15 }] }],
    );
  });

  it('drops a message that is not a requeue, or names a controller it does not run, without failing the batch', async () => {
    const response = await handler(
      {
        Records: [
          sqsRecord('junk-1', 'not json'),
          sqsRecord('junk-2', JSON.stringify({ controller: 'no-such-controller', key: { typeId: types.services.id, namespace, name: 'web' } })),
          sqsRecord('junk-3', JSON.stringify({ controller: 'service-controller', key: { name: 'web' } })),
        ],
      },
      context,
    );
    assert.deepEqual(response, { batchItemFailures: [] });
    assert.equal(sqs.calls().length, 0);
  });
});

/**
 * Resource metrics and the HorizontalPodAutoscaler on AWS (docs/adr/193), through the Lambda
 * entry points as the stack configures them, against DynamoDB Local: a node's agent sends its
 * figures as a `nodeStats` message (API Gateway's WebSocket event shapes, on the route of that
 * name); the channel Lambda keeps them as one item with a TTL in the channel's table; the API
 * Lambda serves `metrics.k8s.io` from those items (REST proxy events); the controllers Lambda runs
 * the autoscaler on them (a stream record, then the SQS requeue it sent itself 15 s later). What
 * cannot run here is answered by aws-sdk-client-mock, its calls asserted: API Gateway's management
 * API, SQS and Secrets Manager (the ServiceAccount key). Tokens come from the break-glass secret
 * through a stand-in of the Parameters and Secrets extension (an HTTP server on loopback).
 */
import '../../unit/lambda/fake-lambda-runtime.ts';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { type AttributeValue, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, DynamoDBRecord, DynamoDBStreamEvent, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import type { StatsSummary } from '../../../functions/domain/metrics/node-stats.ts';
import { createAdmission } from '../../../functions/domain/object-admission/admission.ts';
import type { RestProxyEvent } from '../../../functions/lambda/api-handler.ts';
import { localCredentials } from '../../../functions/local/dynamodb-local.ts';
import { createDynamoDbStore, type DynamoDbStore } from '../../../functions/store/dynamodb-store.ts';
import { ensureTable } from '../../../functions/store/tables.ts';
import { channelTableDefinition } from '../../../functions/watch/channel-registry.ts';
import { dynamoDbNodeStats, nodeStatsLifetimeSeconds } from '../../../functions/watch/node-stats-items.ts';
import type { WebSocketEvent, WebSocketResult } from '../../../functions/watch/websocket-events.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import { type TestDynamoDb, useDynamoDb } from '../../support/dynamodb.ts';
import { restoreEnvironment, setEnvironment } from '../../support/environment.ts';
import { acceptEveryMessageBatch, sqsRecord, webSocketEvent } from '../../support/lambda-events.ts';
import { FakeResponseStream } from '../../unit/lambda/fake-lambda-runtime.ts';
import { deploymentObject, namespaceObject } from '../controllers/control-plane.ts';

const adminToken = 'metrics-test-admin-token-0123456789';
const nodeToken = 'metrics-test-node-token-0123456789ab';
const region = 'eu-west-1';
const namespace = `metrics-${process.pid}`;
const node = 'ip-10-0-1-20.eu-west-1.compute.internal';
const queueUrl = 'https://sqs.eu-west-1.amazonaws.com/123456789012/skiff-ControllerRequeue';
const context = { awsRequestId: 'test', getRemainingTimeInMillis: () => 29_000 } as unknown as Context;

const management = mockClient(ApiGatewayManagementApiClient);
const sqs = mockClient(SQSClient);
const secrets = mockClient(SecretsManagerClient);

type ChannelHandler = (event: WebSocketEvent, context: Context) => Promise<WebSocketResult>;
type ControllersHandler = (event: DynamoDBStreamEvent | SQSEvent, context: Context) => Promise<SQSBatchResponse>;
type ApiHandler = (event: RestProxyEvent, stream: FakeResponseStream, context: Context) => Promise<void>;

function proxyEvent(path: string): RestProxyEvent {
  const headers: Record<string, string> = {
    Accept: 'application/json',
    Host: 'abc123.execute-api.eu-west-1.amazonaws.com',
    Authorization: `Bearer ${adminToken}`,
  };
  return {
    httpMethod: 'GET',
    path,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]])),
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    body: null,
    isBase64Encoded: false,
    requestContext: { requestId: `req-${Math.random().toString(36).slice(2)}` },
  };
}

/** The figures an agent reports: each of `pods` uses `nanoCores` and 64 MiB. */
function summaryOf(nodeName: string, pods: readonly KubeObject[], nanoCores: number): StatsSummary {
  const time = new Date().toISOString();
  const cpu = { time, usageNanoCores: nanoCores, usageCoreNanoSeconds: 5e11 };
  const memory = { time, workingSetBytes: 64 * 1024 * 1024 };
  return {
    node: {
      nodeName,
      cpu: { time, usageNanoCores: nanoCores * pods.length + 50_000_000, usageCoreNanoSeconds: 9e12 },
      memory: { time, workingSetBytes: 900 * 1024 * 1024 },
    },
    pods: pods.map((pod) => ({
      podRef: { name: pod.metadata.name ?? '', namespace: pod.metadata.namespace ?? '', uid: pod.metadata.uid ?? '' },
      containers: [{ name: 'nginx', cpu, memory }],
      cpu,
      memory,
    })),
    windowSeconds: 10,
  };
}

describe('resource metrics and autoscaling on AWS, through the Lambda entry points', { timeout: 120_000 }, () => {
  let db: TestDynamoDb;
  let store: DynamoDbStore;
  let extension: Server;
  let channelTable: string;
  let channelHandler: ChannelHandler;
  let controllersHandler: ControllersHandler;
  let apiHandler: ApiHandler;
  let pods: KubeObject[] = [];

  const items = () => dynamoDbNodeStats({ client: db.client, tableName: channelTable });
  const send = (connectionId: string, body: unknown) =>
    channelHandler(webSocketEvent(connectionId, 'MESSAGE', { body: JSON.stringify(body) }, (body as { action?: string }).action ?? '$default'), context);
  const posted = () =>
    management.commandCalls(PostToConnectionCommand).map((call) => ({
      connectionId: call.args[0].input.ConnectionId ?? '',
      message: JSON.parse(Buffer.from(call.args[0].input.Data as Uint8Array).toString('utf8')) as Record<string, any>,
    }));
  async function get(path: string): Promise<{ statusCode: number; body: Record<string, any> }> {
    const stream = new FakeResponseStream();
    await apiHandler(proxyEvent(path), stream, { awsRequestId: 'aws-req', getRemainingTimeInMillis: () => 60_000 } as unknown as Context);
    const prelude = stream.events.find((e) => e.kind === 'prelude');
    assert.ok(prelude?.kind === 'prelude');
    const text = stream.events.map((e) => (e.kind === 'chunk' ? e.text : '')).join('');
    return { statusCode: prelude.prelude.statusCode as number, body: text ? JSON.parse(text) : {} };
  }
  async function rawItem(typeId: string, name: string): Promise<Record<string, AttributeValue>> {
    const out = await db.client.send(
      new GetItemCommand({ TableName: db.tables.objects, Key: { pk: { S: typeId }, sk: { S: `${namespace}/${name}` } }, ConsistentRead: true }),
    );
    assert.ok(out.Item);
    return out.Item;
  }
  function insertRecord(typeId: string, name: string, image: Record<string, AttributeValue>): DynamoDBRecord {
    return {
      eventID: '1',
      eventName: 'INSERT',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: region,
      dynamodb: {
        ApproximateCreationDateTime: Math.floor(Date.now() / 1000),
        Keys: { pk: { S: typeId }, sk: { S: `${namespace}/${name}` } },
        NewImage: image as never,
        SequenceNumber: '4242',
        SizeBytes: 900,
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
      eventSourceARN: `arn:aws:dynamodb:${region}:123456789012:table/${db.tables.objects}/stream/2026-01-01T00:00:00.000`,
    };
  }

  before(async () => {
    db = await useDynamoDb();
    store = createDynamoDbStore({ client: db.client, tables: db.tables });
    channelTable = `${db.tables.objects}-channel`;
    await ensureTable(db.client, channelTable, channelTableDefinition);
    extension = createServer((request, response) => {
      const secretId = new URL(request.url ?? '/', 'http://localhost').searchParams.get('secretId');
      if (secretId !== `arn:aws:secretsmanager:${region}:111122223333:secret:tokens`) {
        response.writeHead(400).end();
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          SecretString: JSON.stringify({ adminToken, tokens: [{ token: nodeToken, username: `system:node:${node}`, groups: ['system:nodes'] }] }),
        }),
      );
    });
    await new Promise<void>((done) => extension.listen(0, 'localhost', done));
    secrets.on(GetSecretValueCommand, { VersionStage: 'AWSCURRENT' }).resolves({ SecretString: JSON.stringify({ seed: 'b'.repeat(48) }) });
    secrets
      .on(GetSecretValueCommand, { VersionStage: 'AWSPREVIOUS' })
      .rejects(new ResourceNotFoundException({ message: 'no previous version', $metadata: {} }));
    setEnvironment({
      AWS_ENDPOINT_URL: db.endpoint,
      AWS_REGION: region,
      AWS_ACCESS_KEY_ID: localCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: localCredentials.secretAccessKey,
      AWS_SESSION_TOKEN: 'session',
      OBJECTS_TABLE: db.tables.objects,
      CHANGES_TABLE: db.tables.changes,
      CHANNEL_TABLE: channelTable,
      CLUSTER_ID: 'skiff-metrics-test',
      TOKEN_SECRET_ARN: `arn:aws:secretsmanager:${region}:111122223333:secret:tokens`,
      PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: String((extension.address() as AddressInfo).port),
      SERVICE_ACCOUNT_KEY_SECRET_ARN: `arn:aws:secretsmanager:${region}:111122223333:secret:skiff-sa-key`,
      REQUEUE_QUEUE_URL: queueUrl,
    });
    channelHandler = (await import('../../../functions/lambda/channel-handler.ts')).handler as unknown as ChannelHandler;
    controllersHandler = (await import('../../../functions/lambda/controllers-handler.ts')).handler as unknown as ControllersHandler;
    apiHandler = (await import('../../../functions/lambda/api-handler.ts')).handler as unknown as ApiHandler;

    await store.create(types.namespaces, namespaceObject(namespace));
    await store.create(types.nodes, {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: node, labels: { 'kubernetes.io/hostname': node } },
      spec: {},
      status: { capacity: { cpu: '2', memory: '4Gi', pods: '10' }, allocatable: { cpu: '2', memory: '4Gi', pods: '10' } },
    });
    // The Deployment's running pod, started and ready well before the figures (past the CPU warm-up).
    const started = new Date(Date.now() - 10 * 60_000).toISOString();
    await store.create(types.deployments, deploymentObject(namespace, 'web', { replicas: 1, cpu: '100m' }));
    pods = [
      await store.create(types.pods, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'web-1', namespace, labels: { app: 'web' } },
        spec: { nodeName: node, containers: [{ name: 'nginx', image: 'nginx', resources: { requests: { cpu: '100m' } } }] },
        status: { phase: 'Running', startTime: started, conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: started }] },
      }),
    ];
    assert.deepEqual(await channelHandler(webSocketEvent('conn-node', 'CONNECT', { headers: { Authorization: `Bearer ${nodeToken}` } }, '$connect'), context), {
      statusCode: 200,
    });
  });

  beforeEach(() => {
    management.reset();
    management.on(PostToConnectionCommand).resolves({});
    acceptEveryMessageBatch(sqs);
  });

  after(async () => {
    management.restore();
    sqs.restore();
    secrets.restore();
    restoreEnvironment();
    store?.close();
    await db?.cleanup();
    await new Promise<void>((done) => (extension ? extension.close(() => done()) : done()));
  });

  it('the channel Lambda keeps a node’s figures from its nodeStats message as one item with a TTL, and answers nothing', async () => {
    const summary = summaryOf(node, pods, 200_000_000);
    const before = Math.floor(Date.now() / 1000);
    assert.deepEqual(await send('conn-node', { action: 'nodeStats', nodeName: node, summary }), { statusCode: 200 });
    const { Item } = await db.client.send(
      new GetItemCommand({ TableName: channelTable, Key: { pk: { S: `node-stats#${node}` }, sk: { S: 'node-stats' } }, ConsistentRead: true }),
    );
    assert.ok(Item);
    assert.deepEqual(JSON.parse(Item.summary?.S ?? ''), summary);
    const receivedAt = Number(Item.receivedAt?.N);
    assert.ok(receivedAt >= before && receivedAt <= Math.floor(Date.now() / 1000) + 1);
    assert.equal(Number(Item.expiresAt?.N), receivedAt + nodeStatsLifetimeSeconds, 'the TTL attribute: three reports from now');
    assert.deepEqual(await items().read(node), summary);
    assert.equal(management.calls().length, 0, 'a report is not answered');
  });

  it('refuses figures for another node (403), and a summary not in the Summary API’s shape or naming another node (400), keeping nothing', async () => {
    const other = 'ip-10-0-9-9.eu-west-1.compute.internal';
    await send('conn-node', { action: 'nodeStats', nodeName: other, summary: summaryOf(other, [], 0) });
    await send('conn-node', { action: 'nodeStats', nodeName: node, summary: { node: { nodeName: node } } });
    await send('conn-node', { action: 'nodeStats', nodeName: node, summary: summaryOf(other, [], 0) });
    await send('conn-node', { action: 'nodeStats', nodeName: node });
    assert.deepEqual(
      posted().map((m) => [m.connectionId, m.message.type, m.message.id, m.message.status?.code, m.message.status?.reason]),
      [
        ['conn-node', 'error', `stats/${other}`, 403, 'Forbidden'],
        ['conn-node', 'error', `stats/${node}`, 400, 'BadRequest'],
        ['conn-node', 'error', `stats/${node}`, 400, 'BadRequest'],
        ['conn-node', 'error', undefined, 400, 'BadRequest'],
      ],
    );
    assert.match(posted()[0]?.message.status?.message ?? '', /is not allowed to modify node/);
    assert.equal(await items().read(other), undefined);
    assert.equal((await items().read(node))?.node.nodeName, node, 'the good figures before are kept');
  });

  it('the API Lambda serves NodeMetrics and PodMetrics from the kept figures, and none once they expired', async () => {
    await items().record(node, summaryOf(node, pods, 200_000_000));
    const nodes = await get('/apis/metrics.k8s.io/v1beta1/nodes');
    assert.equal(nodes.statusCode, 200, JSON.stringify(nodes.body));
    assert.equal(nodes.body.kind, 'NodeMetricsList');
    assert.deepEqual(
      nodes.body.items.map((item: any) => [item.metadata.name, item.usage, item.window]),
      [[node, { cpu: '250000000n', memory: `${900 * 1024}Ki` }, '10s']],
    );
    const podList = await get(`/apis/metrics.k8s.io/v1beta1/namespaces/${namespace}/pods`);
    assert.equal(podList.statusCode, 200, JSON.stringify(podList.body));
    assert.deepEqual(
      podList.body.items.map((item: any) => [item.metadata.name, item.metadata.labels, item.containers]),
      [['web-1', { app: 'web' }, [{ name: 'nginx', usage: { cpu: '200000000n', memory: `${64 * 1024}Ki` } }]]],
    );
    const one = await get(`/apis/metrics.k8s.io/v1beta1/namespaces/${namespace}/pods/web-1`);
    assert.equal(one.statusCode, 200);
    assert.equal(one.body.kind, 'PodMetrics');

    // Figures past their TTL that DynamoDB has not deleted yet are not served.
    await db.client.send(
      new PutItemCommand({
        TableName: channelTable,
        Item: {
          pk: { S: `node-stats#${node}` },
          sk: { S: 'node-stats' },
          summary: { S: JSON.stringify(summaryOf(node, pods, 200_000_000)) },
          receivedAt: { N: String(Math.floor(Date.now() / 1000) - 200) },
          expiresAt: { N: String(Math.floor(Date.now() / 1000) - 20) },
        },
      }),
    );
    assert.deepEqual((await get('/apis/metrics.k8s.io/v1beta1/nodes')).body.items, []);
    const gone = await get(`/apis/metrics.k8s.io/v1beta1/namespaces/${namespace}/pods/web-1`);
    assert.equal(gone.statusCode, 404);
    assert.equal(gone.body.kind, 'Status');
  });

  it('the controllers Lambda autoscales on the kept figures and sends its next sync as a 15 s requeue', async () => {
    await items().record(node, summaryOf(node, pods, 200_000_000));
    await createAdmission({ store }).create(types.horizontalpodautoscalers, {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'web', namespace },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
        minReplicas: 1,
        maxReplicas: 5,
        metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } }],
      },
    });
    const image = await rawItem(types.horizontalpodautoscalers.id, 'web');
    assert.deepEqual(await controllersHandler({ Records: [insertRecord(types.horizontalpodautoscalers.id, 'web', image)] }, context), {
      batchItemFailures: [],
    });
    assert.equal(((await store.get(types.deployments, namespace, 'web')).spec as { replicas: number }).replicas, 4, 'ceil(1 × 200% / 50%) = 4');
    const status = (await store.get(types.horizontalpodautoscalers, namespace, 'web')).status as { desiredReplicas?: number; currentMetrics?: unknown };
    assert.equal(status.desiredReplicas, 4);
    assert.deepEqual(status.currentMetrics, [{ type: 'Resource', resource: { name: 'cpu', current: { averageValue: '200m', averageUtilization: 200 } } }]);
    const requeueBody = JSON.stringify({ controller: 'horizontal-pod-autoscaler', key: { typeId: types.horizontalpodautoscalers.id, namespace, name: 'web' } });
    assert.deepEqual(
      sqs.commandCalls(SendMessageBatchCommand).map((call) => call.args[0].input),
      [{ QueueUrl: queueUrl, Entries: [{ Id: '0', MessageBody: requeueBody, DelaySeconds: 15 }] }],
    );
    assert.equal(sqs.calls().length, 1);

    // The message comes back 15 s later: the autoscaler syncs again and asks for the next one.
    sqs.resetHistory();
    assert.deepEqual(await controllersHandler({ Records: [sqsRecord('msg-1', requeueBody)] }, context), { batchItemFailures: [] });
    const again = (await store.get(types.horizontalpodautoscalers, namespace, 'web')).status as { currentReplicas?: number };
    assert.equal(again.currentReplicas, 4, 'the second sync saw the new size');
    assert.deepEqual(
      sqs.commandCalls(SendMessageBatchCommand).map((call) => call.args[0].input),
      [{ QueueUrl: queueUrl, Entries: [{ Id: '0', MessageBody: requeueBody, DelaySeconds: 15 }] }],
    );
  });
});

/**
 * The watch channel's Lambda entry points as AWS runs them: the exported handlers, configured by
 * their environment, against DynamoDB Local (AWS_ENDPOINT_URL), driven with API Gateway's
 * WebSocket events ($connect, messages, $disconnect) and with change-log stream batches in
 * Lambda's shape (real records of DynamoDB Local's stream, SequenceNumbers and all). API
 * Gateway's management API is mocked with aws-sdk-client-mock: every PostToConnection is checked.
 * Tokens come from the break-glass secret through a stand-in of the Parameters and Secrets
 * extension (an HTTP server on loopback), as the API Lambda reads them.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, afterEach, before, describe, it } from 'node:test';
import { ApiGatewayManagementApiClient, GoneException, LimitExceededException, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { localCredentials } from '../../../functions/local/dynamodb-local.ts';
import { startStreamPoller } from '../../../functions/local/stream-poller.ts';
import { createDynamoDbStore, type DynamoDbStore } from '../../../functions/store/dynamodb-store.ts';
import { ensureTable } from '../../../functions/store/tables.ts';
import { channelTableDefinition, dynamoDbChannelRegistry } from '../../../functions/watch/channel-registry.ts';
import type { WebSocketEvent, WebSocketResult } from '../../../functions/watch/websocket-events.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import { type TestDynamoDb, useDynamoDb } from '../../support/dynamodb.ts';
import { webSocketEvent } from '../../support/lambda-events.ts';
import { waitFor } from '../../support/wait.ts';

const adminToken = 'channel-test-admin-token-0123456789';
const nodeToken = 'channel-test-node-token-0123456789ab';
const context = { awsRequestId: 'test', getRemainingTimeInMillis: () => 29_000 } as unknown as Context;
const management = mockClient(ApiGatewayManagementApiClient);

let db: TestDynamoDb;
let store: DynamoDbStore;
let extension: Server;
let channelTable: string;
let channelHandler: (event: WebSocketEvent, context: Context) => Promise<WebSocketResult>;
let fanOutHandler: (event: DynamoDBStreamEvent, context: Context) => Promise<DynamoDBBatchResponse>;

const connect = (connectionId: string, token?: string) =>
  channelHandler(
    webSocketEvent(connectionId, 'CONNECT', { headers: token ? { Authorization: `Bearer ${token}`, Host: 'abc123' } : { Host: 'abc123' } }),
    context,
  );
const message = (connectionId: string, body: unknown) =>
  channelHandler(webSocketEvent(connectionId, 'MESSAGE', { body: JSON.stringify(body) }, (body as { action?: string }).action ?? '$default'), context);

/** What was posted to each connection, parsed, in order. */
function posted(): { connectionId: string; message: Record<string, any> }[] {
  return management.commandCalls(PostToConnectionCommand).map((call) => ({
    connectionId: call.args[0].input.ConnectionId ?? '',
    message: JSON.parse(Buffer.from(call.args[0].input.Data as Uint8Array).toString('utf8')),
  }));
}

const pod = (name: string, nodeName: string, labels: Record<string, string> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default', labels },
  spec: { nodeName, containers: [{ name: 'c', image: 'nginx' }] },
});

/** Stream records of the change log for what `write` commits, in Lambda's shape. */
async function changeRecords(write: () => Promise<void>, count: number): Promise<DynamoDBRecord[]> {
  const streams = new DynamoDBStreamsClient({ endpoint: db.endpoint, region: 'us-east-1', credentials: localCredentials });
  const seen: DynamoDBRecord[] = [];
  const poller = await startStreamPoller({
    dynamoDb: db.client,
    streams,
    tableName: db.tables.changes,
    pollIntervalMs: 50,
    consumers: [
      async (event) => {
        seen.push(...event.Records.filter((record) => record.eventName === 'INSERT'));
        return { batchItemFailures: [] };
      },
    ],
  });
  try {
    await write();
    await waitFor(`${count} change log records`, () => seen.length >= count);
  } finally {
    await poller.stop();
    streams.destroy();
  }
  return seen;
}

describe('watch channel Lambda handlers', { timeout: 180_000 }, () => {
  before(async () => {
    db = await useDynamoDb({ changeLogStream: true });
    store = createDynamoDbStore({ client: db.client, tables: db.tables });
    channelTable = `${db.tables.objects}-channel`;
    await ensureTable(db.client, channelTable, channelTableDefinition);
    await store.create(types.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } }).catch(() => undefined);
    await store.create(types.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kube-node-lease' } }).catch(() => undefined);
    extension = createServer((request, response) => {
      const secretId = new URL(request.url ?? '/', 'http://localhost').searchParams.get('secretId');
      if (secretId !== 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:tokens') {
        response.writeHead(400).end();
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({ SecretString: JSON.stringify({ adminToken, tokens: [{ token: nodeToken, username: 'system:node:n1', groups: ['system:nodes'] }] }) }),
      );
    });
    await new Promise<void>((done) => extension.listen(0, 'localhost', done));
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: db.endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: localCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: localCredentials.secretAccessKey,
      OBJECTS_TABLE: db.tables.objects,
      CHANGES_TABLE: db.tables.changes,
      CHANNEL_TABLE: channelTable,
      CHANNEL_ENDPOINT: 'https://abc123.execute-api.eu-west-1.amazonaws.com/cluster',
      CLUSTER_ID: 'skiff-test',
      TOKEN_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:tokens',
      PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: String((extension.address() as AddressInfo).port),
      AWS_SESSION_TOKEN: 'session',
    });
    channelHandler = (await import('../../../functions/lambda/channel-handler.ts')).handler as unknown as typeof channelHandler;
    fanOutHandler = (await import('../../../functions/lambda/fan-out-handler.ts')).handler as unknown as typeof fanOutHandler;
  });
  afterEach(() => management.reset());
  after(async () => {
    management.restore();
    store?.close();
    await db?.cleanup();
    await new Promise<void>((done) => (extension ? extension.close(() => done()) : done()));
  });

  const registry = () => dynamoDbChannelRegistry({ client: db.client, tableName: channelTable });

  it('$connect refuses a missing or unknown token with 401 and registers an authenticated connection', async () => {
    assert.deepEqual(await connect('conn-none'), { statusCode: 401 });
    assert.deepEqual(await connect('conn-bad', 'not-a-token-of-this-cluster'), { statusCode: 401 });
    assert.equal(await registry().connection('conn-bad'), undefined);
    assert.deepEqual(await connect('conn-admin', adminToken), { statusCode: 200 });
    assert.deepEqual((await registry().connection('conn-admin'))?.user, { username: 'skiff-admin', groups: ['system:masters', 'system:authenticated'] });
    assert.equal(posted().length, 0, 'nothing is posted before the connection is open');
  });

  it('subscribe sends what changed since the resourceVersion, then synced, through PostToConnection', async () => {
    const start = (await store.list(types.pods, { namespace: 'default' })).resourceVersion;
    await store.create(types.pods, pod('on-n1', 'n1'));
    await store.create(types.pods, pod('on-n2', 'n2'));
    assert.deepEqual(await connect('conn-node', nodeToken), { statusCode: 200 });
    const result = await message('conn-node', {
      action: 'subscribe',
      id: 'pods-1',
      group: '',
      version: 'v1',
      resource: 'pods',
      fieldSelector: 'spec.nodeName=n1',
      resourceVersion: start,
    });
    assert.deepEqual(result, { statusCode: 200 });
    const messages = posted();
    assert.ok(messages.every((m) => m.connectionId === 'conn-node'));
    assert.deepEqual(
      messages.map((m) => [m.message.type, m.message.id, m.message.event?.type, m.message.event?.object?.metadata?.name]),
      [
        ['event', 'pods-1', 'ADDED', 'on-n1'],
        ['synced', 'pods-1', undefined, undefined],
      ],
    );
    assert.equal(messages[1]?.message.resourceVersion, (await store.get(types.pods, 'default', 'on-n2')).metadata.resourceVersion);
  });

  it('answers a bad message and a type the channel does not serve with Kubernetes Status errors', async () => {
    await connect('conn-errors', nodeToken);
    await message('conn-errors', { action: 'subscribe', id: 'x' });
    await message('conn-errors', { action: 'subscribe', id: 'cms', group: '', version: 'v1', resource: 'configmaps', resourceVersion: '1' });
    await channelHandler(webSocketEvent('conn-errors', 'MESSAGE', { body: 'not json' }), context);
    assert.deepEqual(
      posted().map((m) => [m.message.type, m.message.id, m.message.status?.code, m.message.status?.reason]),
      [
        ['error', undefined, 400, 'BadRequest'],
        ['error', 'cms', 405, 'MethodNotAllowed'],
        ['error', undefined, 400, 'BadRequest'],
      ],
    );
  });

  it('renewLease renews the node Lease in the store and posts nothing', async () => {
    const lease = await store.create(types.leases, {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'n1', namespace: 'kube-node-lease' },
      spec: { holderIdentity: 'n1', leaseDurationSeconds: 40, renewTime: '2026-01-01T00:00:00.000000Z' },
    });
    await connect('conn-lease', nodeToken);
    await message('conn-lease', { action: 'renewLease', nodeName: 'n1', leaseDurationSeconds: 40 });
    const renewed = await store.get(types.leases, 'kube-node-lease', 'n1');
    assert.notEqual(renewed.metadata.resourceVersion, lease.metadata.resourceVersion);
    assert.ok(Date.parse((renewed.spec as { renewTime: string }).renewTime) > Date.now() - 60_000);
    assert.equal(posted().length, 0);
  });

  it('the fan-out posts each change to the connections subscribed to it, drops a gone one, and reports a failed post by SequenceNumber', async () => {
    const list = await store.list(types.pods, { namespace: 'default' });
    await connect('conn-a', nodeToken);
    await connect('conn-gone', nodeToken);
    await connect('conn-busy', adminToken);
    for (const connectionId of ['conn-a', 'conn-gone', 'conn-busy']) {
      await message(connectionId, {
        action: 'subscribe',
        id: 'pods',
        group: '',
        version: 'v1',
        resource: 'pods',
        fieldSelector: 'spec.nodeName=n1',
        resourceVersion: list.resourceVersion,
      });
    }
    management.reset();
    management
      .on(PostToConnectionCommand, { ConnectionId: 'conn-gone' })
      .rejects(new GoneException({ message: 'gone', $metadata: {} }))
      .on(PostToConnectionCommand, { ConnectionId: 'conn-busy' })
      .rejectsOnce(new LimitExceededException({ message: 'slow down', $metadata: {} }))
      .resolves({});
    const records = await changeRecords(async () => {
      await store.create(types.pods, pod('fan-1', 'n1'));
      await store.create(types.pods, pod('fan-elsewhere', 'n2'));
      await store.create(types.pods, pod('fan-2', 'n1'));
    }, 3);
    const response = await fanOutHandler({ Records: records }, context);

    const sent = posted();
    const names = (connectionId: string) => sent.filter((m) => m.connectionId === connectionId).map((m) => m.message.event.object.metadata.name);
    assert.deepEqual(names('conn-a'), ['fan-1', 'fan-2'], 'in commit order, only the pods bound to n1');
    assert.deepEqual(names('conn-gone'), ['fan-1'], 'one attempt, then the connection is dropped');
    assert.deepEqual(names('conn-busy'), ['fan-1'], 'the failed post stops that connection');
    assert.equal(await registry().connection('conn-gone'), undefined);
    assert.deepEqual(
      (await registry().subscriptionsOf('core/pods')).filter((s) => s.connectionId === 'conn-gone'),
      [],
    );
    assert.deepEqual(response, { batchItemFailures: [{ itemIdentifier: records[0]?.dynamodb?.SequenceNumber }] });

    // Lambda delivers the batch again from the failed record: the busy connection gets both.
    management.reset();
    management.on(PostToConnectionCommand).resolves({});
    assert.deepEqual(await fanOutHandler({ Records: records }, context), { batchItemFailures: [] });
    assert.deepEqual(
      posted()
        .filter((m) => m.connectionId === 'conn-busy')
        .map((m) => m.message.event.object.metadata.name),
      ['fan-1', 'fan-2'],
    );
  });

  it('$disconnect forgets the connection and its subscriptions', async () => {
    await connect('conn-bye', adminToken);
    await message('conn-bye', { action: 'subscribe', id: 'svc', group: '', version: 'v1', resource: 'services', resourceVersion: '0' });
    assert.ok((await registry().subscriptionsOf('core/services')).some((s) => s.connectionId === 'conn-bye'));
    assert.deepEqual(await channelHandler(webSocketEvent('conn-bye', 'DISCONNECT'), context), { statusCode: 200 });
    assert.equal(await registry().connection('conn-bye'), undefined);
    assert.ok(!(await registry().subscriptionsOf('core/services')).some((s) => s.connectionId === 'conn-bye'));
  });
});

/**
 * The deployed API's Lambda entry (`functions/lambda/api-handler.ts`'s `handler`, as the stack
 * names it) driven with API Gateway REST proxy events against DynamoDB Local, built from the
 * environment the stack gives it: the store tables, the cluster id and region IAM tokens are
 * checked against, the ServiceAccount key secret. What cannot run here is stood in for: STS (the
 * GetCallerIdentity the handler calls with `fetch`, answered by test/support/fake-sts.ts for STS
 * hosts only) and Secrets Manager (aws-sdk-client-mock).
 */
import '../../unit/lambda/fake-lambda-runtime.ts';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { awsToken } from '../../../bin/aws-token.ts';
import { NotFoundError } from '../../../functions/core/errors.ts';
import type { RestProxyEvent } from '../../../functions/lambda/api-handler.ts';
import { bootstrapCluster } from '../../../functions/lambda/bootstrap-handler.ts';
import { createDynamoDbStore, type DynamoDbStore } from '../../../functions/store/dynamodb-store.ts';
import { types } from '../../../schemas/registry.ts';
import { type TestDynamoDb, useDynamoDb } from '../../support/dynamodb.ts';
import { restoreEnvironment, setEnvironment } from '../../support/environment.ts';
import { fakeSts } from '../../support/fake-sts.ts';
import { FakeResponseStream } from '../../unit/lambda/fake-lambda-runtime.ts';

const clusterId = 'skiff-handler-test';
const region = 'eu-west-1';
const admin = {
  accessKeyId: 'AKIAHANDLERADMIN0001',
  secretAccessKey: 'handler-admin-secret-0001',
  arn: 'arn:aws:iam::111122223333:user/ops/alice',
  userId: 'AIDAALICE',
};
const stranger = {
  accessKeyId: 'AKIAHANDLERSTRANGER1',
  secretAccessKey: 'handler-stranger-secret-01',
  arn: 'arn:aws:iam::111122223333:user/eve',
  userId: 'AIDAEVE',
};

function proxyEvent(method: string, path: string, options: { token?: string; body?: unknown; query?: Record<string, string> } = {}): RestProxyEvent {
  const headers: Record<string, string> = { Accept: 'application/json', Host: 'abc123.execute-api.eu-west-1.amazonaws.com' };
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  const body = options.body === undefined ? null : Buffer.from(JSON.stringify(options.body)).toString('base64');
  return {
    httpMethod: method,
    path,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]])),
    queryStringParameters: options.query ?? null,
    multiValueQueryStringParameters: options.query ? Object.fromEntries(Object.entries(options.query).map(([name, value]) => [name, [value]])) : null,
    // The stack's REST API passes every body as binary (binaryMediaTypes */*): base64 in the event.
    body,
    isBase64Encoded: body !== null,
    requestContext: { requestId: `req-${Math.random().toString(36).slice(2)}` },
  };
}

interface HandlerResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: Record<string, unknown>;
}

describe('API Lambda handler with REST proxy events against DynamoDB Local', { timeout: 120_000 }, () => {
  let db: TestDynamoDb;
  let store: DynamoDbStore;
  let invoke: (event: RestProxyEvent) => Promise<HandlerResponse>;
  const sts = fakeSts([admin, stranger]);
  const secrets = mockClient(SecretsManagerClient);
  const realFetch = globalThis.fetch;
  const stsHosts: string[] = [];

  before(async () => {
    db = await useDynamoDb();
    store = createDynamoDbStore({ client: db.client, tables: db.tables });
    await bootstrapCluster(store, { AdminPrincipalArns: [admin.arn], NodeRoleArns: [] });
    secrets.on(GetSecretValueCommand, { VersionStage: 'AWSCURRENT' }).resolves({ SecretString: JSON.stringify({ seed: 'a'.repeat(48) }) });
    secrets
      .on(GetSecretValueCommand, { VersionStage: 'AWSPREVIOUS' })
      .rejects(new ResourceNotFoundException({ message: 'no previous version', $metadata: {} }));
    // STS is reached with fetch (functions/domain/authentication/aws-iam-token.ts's fetchSts): answer STS hosts, nothing else.
    globalThis.fetch = (async (input: string | URL | Request, init?: RequestInit) => {
      const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
      if (!/^sts(\.[a-z0-9-]+)?\.amazonaws\.com$/.test(url.hostname)) return realFetch(input, init);
      stsHosts.push(url.hostname);
      const answer = await sts.callSts({ url: url.href, headers: Object.fromEntries(new Headers(init?.headers).entries()) });
      return new Response(answer.body, { status: answer.status, headers: { 'content-type': 'application/json' } });
    }) as typeof fetch;
    setEnvironment({
      OBJECTS_TABLE: db.tables.objects,
      CHANGES_TABLE: db.tables.changes,
      CLUSTER_ID: clusterId,
      AWS_REGION: region,
      SERVICE_ACCOUNT_KEY_SECRET_ARN: `arn:aws:secretsmanager:${region}:111122223333:secret:skiff-sa-key`,
      // The handler's own DynamoDB client, as on AWS but aimed at DynamoDB Local.
      AWS_ENDPOINT_URL_DYNAMODB: db.endpoint,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
    });
    const { handler } = await import('../../../functions/lambda/api-handler.ts');
    const run = handler as unknown as (event: RestProxyEvent, stream: FakeResponseStream, context: Context) => Promise<void>;
    invoke = async (event) => {
      const stream = new FakeResponseStream();
      const context = { awsRequestId: 'aws-req', getRemainingTimeInMillis: () => 60_000 } as unknown as Context;
      await run(event, stream, context);
      const prelude = stream.events.find((e) => e.kind === 'prelude');
      assert.ok(prelude?.kind === 'prelude', 'the response prelude was written');
      const text = stream.events.map((e) => (e.kind === 'chunk' ? e.text : '')).join('');
      assert.equal(stream.events.at(-1)?.kind, 'end');
      return {
        statusCode: prelude.prelude.statusCode as number,
        headers: prelude.prelude.headers as Record<string, string>,
        body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
      };
    };
  });

  after(async () => {
    globalThis.fetch = realFetch;
    restoreEnvironment();
    secrets.restore();
    store?.close();
    await db?.cleanup();
  });

  const token = async (principal: typeof admin, options: { clusterId?: string } = {}) =>
    (await awsToken({ clusterId: options.clusterId ?? clusterId, region, credentials: principal })).token;

  it('lists the namespaces the bootstrap made for an IAM admin, after asking STS once', async () => {
    const response = await invoke(proxyEvent('GET', '/api/v1/namespaces', { token: await token(admin) }));
    assert.equal(response.statusCode, 200, JSON.stringify(response.body));
    const names = (response.body.items as { metadata: { name: string } }[]).map((n) => n.metadata.name).sort();
    assert.deepEqual(names, ['default', 'kube-node-lease', 'kube-public', 'kube-system']);
    assert.deepEqual(stsHosts, [`sts.${region}.amazonaws.com`]);
    assert.equal(sts.calls[0]?.headers['x-k8s-aws-id'], clusterId);
  });

  it('creates an object from a base64 body, stores it, and reads it back with a query', async () => {
    const signedIn = await token(admin);
    const configMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'from-lambda', labels: { via: 'rest-proxy' } }, data: { a: '1' } };
    const created = await invoke(proxyEvent('POST', '/api/v1/namespaces/default/configmaps', { token: signedIn, body: configMap }));
    assert.equal(created.statusCode, 201, JSON.stringify(created.body));
    assert.deepEqual((await store.get(types.configmaps, 'default', 'from-lambda')).data, { a: '1' });
    const listed = await invoke(proxyEvent('GET', '/api/v1/namespaces/default/configmaps', { token: signedIn, query: { labelSelector: 'via=rest-proxy' } }));
    assert.equal(listed.statusCode, 200);
    assert.deepEqual(
      (listed.body.items as { metadata: { name: string } }[]).map((c) => c.metadata.name),
      ['from-lambda'],
    );
  });

  it('answers 401 Status without a token, for a token of another cluster, and for a principal aws-auth does not name', async () => {
    const existing = await store.list(types.configmaps, { namespace: 'default' });
    for (const [what, bearer] of [
      ['no token', undefined],
      ['another cluster', await token(admin, { clusterId: 'skiff-other' })],
      ['an unmapped principal', await token(stranger)],
    ] as const) {
      const response = await invoke(
        proxyEvent('POST', '/api/v1/namespaces/default/configmaps', {
          ...(bearer ? { token: bearer } : {}),
          body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'refused' } },
        }),
      );
      assert.equal(response.statusCode, 401, what);
      assert.equal(response.body.kind, 'Status', what);
      assert.equal(response.body.reason, 'Unauthorized', what);
    }
    const afterwards = await store.list(types.configmaps, { namespace: 'default' });
    assert.deepEqual(
      afterwards.items.map((c) => c.metadata.name),
      existing.items.map((c) => c.metadata.name),
    );
  });

  it('answers an invalid object with a 422 Status and changes nothing', async () => {
    const response = await invoke(
      proxyEvent('POST', '/api/v1/namespaces/default/configmaps', {
        token: await token(admin),
        body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'Not_A_Valid_Name' } },
      }),
    );
    assert.equal(response.statusCode, 422, JSON.stringify(response.body));
    assert.equal(response.body.kind, 'Status');
    await assert.rejects(store.get(types.configmaps, 'default', 'Not_A_Valid_Name'), NotFoundError);
  });
});

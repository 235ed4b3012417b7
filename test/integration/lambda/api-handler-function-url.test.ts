/**
 * The API's Lambda entry behind its function URL (docs/adr/147): the stack's `handler` driven
 * with the event Lambda documents for function URLs (payload format 2.0: `rawPath`,
 * `rawQueryString`, comma-joined lower-case headers, `requestContext.http.method`) against
 * DynamoDB Local, as an in-cluster client sends it — a ServiceAccount's bearer token, no base
 * path. STS (for the administrator's IAM token) and Secrets Manager (the signing key's seed)
 * cannot run here: test/support/fake-sts.ts answers STS hosts only, aws-sdk-client-mock the rest.
 */
import '../../unit/lambda/fake-lambda-runtime.ts';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context, LambdaFunctionURLEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { awsToken } from '../../../bin/aws-token.ts';
import type { FunctionUrlEvent } from '../../../functions/lambda/api-handler.ts';
import { bootstrapCluster } from '../../../functions/lambda/bootstrap-handler.ts';
import { createDynamoDbStore, type DynamoDbStore } from '../../../functions/store/dynamodb-store.ts';
import { types } from '../../../schemas/registry.ts';
import { type TestDynamoDb, useDynamoDb } from '../../support/dynamodb.ts';
import { restoreEnvironment, setEnvironment } from '../../support/environment.ts';
import { fakeSts } from '../../support/fake-sts.ts';
import { functionUrlEvent } from '../../support/lambda-events.ts';
import { waitFor } from '../../support/wait.ts';
import { FakeResponseStream } from '../../unit/lambda/fake-lambda-runtime.ts';

const clusterId = 'skiff-function-url-test';
const region = 'eu-west-1';
const account = '111122223333';
const urlHost = 'a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6.lambda-url.eu-west-1.on.aws';
const admin = {
  accessKeyId: 'AKIAFURLADMIN0000001',
  secretAccessKey: 'furl-admin-secret-0001',
  arn: `arn:aws:iam::${account}:user/ops/alice`,
  userId: 'AIDAALICE',
};

/** A function URL event as Lambda documents it, for a request client-go would send in a pod. */
function urlEvent(method: string, path: string, token: string, options: { query?: string; body?: unknown } = {}): LambdaFunctionURLEvent {
  return functionUrlEvent(method, path, {
    ...options,
    host: urlHost,
    sourceIp: '10.0.12.34',
    headers: { accept: 'application/json, */*', authorization: `Bearer ${token}`, 'user-agent': 'in-cluster-client/v0.31.0 (linux/arm64) kubernetes/$Format' },
  });
}

type Run = (event: FunctionUrlEvent, stream: FakeResponseStream, context: Context) => Promise<void>;

describe('API Lambda handler behind its function URL, against DynamoDB Local', { timeout: 120_000 }, () => {
  let db: TestDynamoDb;
  let store: DynamoDbStore;
  let run: Run;
  const sts = fakeSts([admin]);
  const secrets = mockClient(SecretsManagerClient);
  const realFetch = globalThis.fetch;
  let podToken = '';

  const context = (remainingMs = 60_000) => ({ awsRequestId: 'aws-req', getRemainingTimeInMillis: () => remainingMs }) as unknown as Context;
  async function invoke(event: FunctionUrlEvent): Promise<{ statusCode: number; body: Record<string, unknown> }> {
    const stream = new FakeResponseStream();
    await run(event, stream, context());
    const prelude = stream.events.find((e) => e.kind === 'prelude');
    assert.ok(prelude?.kind === 'prelude', 'the response prelude was written');
    const text = stream.events.map((e) => (e.kind === 'chunk' ? e.text : '')).join('');
    return { statusCode: prelude.prelude.statusCode as number, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  }

  before(async () => {
    db = await useDynamoDb();
    store = createDynamoDbStore({ client: db.client, tables: db.tables });
    await bootstrapCluster(store, { AdminPrincipalArns: [admin.arn], NodeRoleArns: [] });
    secrets.on(GetSecretValueCommand, { VersionStage: 'AWSCURRENT' }).resolves({ SecretString: JSON.stringify({ seed: 'c'.repeat(48) }) });
    secrets
      .on(GetSecretValueCommand, { VersionStage: 'AWSPREVIOUS' })
      .rejects(new ResourceNotFoundException({ message: 'no previous version', $metadata: {} }));
    globalThis.fetch = (async (input: string | URL | Request, init?: RequestInit) => {
      const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
      if (!/^sts(\.[a-z0-9-]+)?\.amazonaws\.com$/.test(url.hostname)) return realFetch(input, init);
      const answer = await sts.callSts({ url: url.href, headers: Object.fromEntries(new Headers(init?.headers).entries()) });
      return new Response(answer.body, { status: answer.status, headers: { 'content-type': 'application/json' } });
    }) as typeof fetch;
    setEnvironment({
      OBJECTS_TABLE: db.tables.objects,
      CHANGES_TABLE: db.tables.changes,
      CLUSTER_ID: clusterId,
      AWS_REGION: region,
      SERVICE_ACCOUNT_KEY_SECRET_ARN: `arn:aws:secretsmanager:${region}:${account}:secret:skiff-sa-key`,
      AWS_ENDPOINT_URL_DYNAMODB: db.endpoint,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
    });
    const { handler } = await import('../../../functions/lambda/api-handler.ts');
    run = handler as unknown as Run;

    // The administrator (an IAM token, through the same URL): a namespace, its ServiceAccount,
    // a Role that lets it list and watch pods there, and a token bound to the account.
    const asAdmin = (await awsToken({ clusterId, region, credentials: admin })).token;
    const setup: [string, unknown][] = [
      ['/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'apps' } }],
      ['/api/v1/namespaces/apps/serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'reader' } }],
      [
        '/apis/rbac.authorization.k8s.io/v1/namespaces/apps/roles',
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'Role',
          metadata: { name: 'pod-reader' },
          rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }],
        },
      ],
      [
        '/apis/rbac.authorization.k8s.io/v1/namespaces/apps/rolebindings',
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'RoleBinding',
          metadata: { name: 'pod-reader' },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pod-reader' },
          subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: 'apps' }],
        },
      ],
    ];
    for (const [path, body] of setup) {
      const created = await invoke(urlEvent('POST', path, asAdmin, { body }));
      assert.equal(created.statusCode, 201, `${path}: ${JSON.stringify(created.body)}`);
    }
    const issued = await invoke(
      urlEvent('POST', '/api/v1/namespaces/apps/serviceaccounts/reader/token', asAdmin, {
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } },
      }),
    );
    assert.equal(issued.statusCode, 201, JSON.stringify(issued.body));
    podToken = String((issued.body.status as { token?: string }).token);
    await store.create(types.pods, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web', namespace: 'apps' },
      spec: { containers: [{ name: 'web', image: 'nginx' }] },
    });
  });

  after(async () => {
    globalThis.fetch = realFetch;
    restoreEnvironment();
    secrets.restore();
    store?.close();
    await db?.cleanup();
  });

  it("lists pods with the ServiceAccount's token at the path client-go builds (no base path), and refuses what its Role does not allow", async () => {
    const listed = await invoke(urlEvent('GET', '/api/v1/namespaces/apps/pods', podToken, { query: 'limit=500' }));
    assert.equal(listed.statusCode, 200, JSON.stringify(listed.body));
    assert.equal(listed.body.kind, 'PodList');
    assert.deepEqual(
      (listed.body.items as { metadata: { name: string } }[]).map((p) => p.metadata.name),
      ['web'],
    );
    const elsewhere = await invoke(urlEvent('GET', '/api/v1/namespaces/default/pods', podToken));
    assert.equal(elsewhere.statusCode, 403, JSON.stringify(elsewhere.body));
    assert.equal(
      elsewhere.body.message,
      'pods is forbidden: User "system:serviceaccount:apps:reader" cannot list resource "pods" in API group "" in the namespace "default"',
    );
    const noToken = await invoke(urlEvent('GET', '/api/v1/namespaces/apps/pods', 'not-a-token'));
    assert.equal(noToken.statusCode, 401, JSON.stringify(noToken.body));
  });

  it("reads a repeated query parameter from rawQueryString, not from Lambda's comma-joined map", async () => {
    const listed = await invoke(
      urlEvent('GET', '/api/v1/namespaces/apps/pods', podToken, { query: 'fieldSelector=metadata.name%3Dweb&fieldSelector=metadata.name%3Dother' }),
    );
    // Two field selectors: kube-apiserver takes the first, as Go's url.Values.Get does.
    assert.equal(listed.statusCode, 200, JSON.stringify(listed.body));
    assert.deepEqual(
      (listed.body.items as { metadata: { name: string } }[]).map((p) => p.metadata.name),
      ['web'],
    );
  });

  it('streams a watch: the head at once, then each event as it happens, and ends cleanly before the invocation would time out', async () => {
    const listed = await invoke(urlEvent('GET', '/api/v1/namespaces/apps/pods', podToken));
    const resourceVersion = String((listed.body.metadata as { resourceVersion?: string }).resourceVersion);
    const stream = new FakeResponseStream();
    // 6 s left: the handler ends the watch 2 s before the deadline, as client-go then re-watches.
    const done = run(
      urlEvent('GET', '/api/v1/namespaces/apps/pods', podToken, { query: `watch=1&resourceVersion=${resourceVersion}&allowWatchBookmarks=true` }),
      stream,
      context(6_000),
    );
    const prelude = await waitFor('the response head', async () => stream.events.find((e) => e.kind === 'prelude'));
    assert.ok(prelude.kind === 'prelude');
    assert.equal(prelude.prelude.statusCode, 200);
    assert.equal(stream.events.filter((e) => e.kind === 'chunk').length, 0, 'the head came before any event');
    await store.create(types.pods, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'later', namespace: 'apps' },
      spec: { containers: [{ name: 'web', image: 'nginx' }] },
    });
    const added = await waitFor('the ADDED event of the new pod', async () => {
      const lines = stream.events.flatMap((e) => (e.kind === 'chunk' ? e.text.split('\n').filter(Boolean) : []));
      return lines.map((line) => JSON.parse(line) as { type: string; object: { metadata: { name: string } } }).find((e) => e.type === 'ADDED');
    });
    assert.equal(added.object.metadata.name, 'later');
    await done;
    assert.equal(stream.events.at(-1)?.kind, 'end', 'the watch ended with a complete response');
  });
});

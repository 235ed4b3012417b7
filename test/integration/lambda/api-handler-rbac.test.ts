/**
 * RBAC on the deployed API: the Lambda entry (`functions/lambda/api-handler.ts`'s `handler`)
 * driven with API Gateway REST proxy events against DynamoDB Local, with the authorizer the
 * stack's handler builds (system:masters, the node authorizer, RBAC over the stored roles and
 * bindings). A non-admin IAM user is mapped by `kube-system/aws-auth` (`mapUsers`) into a group
 * that a RoleBinding in `team-a` binds to the bootstrapped ClusterRole `view`. STS cannot run
 * here: the GetCallerIdentity the handler calls with `fetch` is answered by
 * test/support/fake-sts.ts for STS hosts only; Secrets Manager by aws-sdk-client-mock.
 */
import '../../unit/lambda/fake-lambda-runtime.ts';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { parse, stringify } from 'yaml';
import { awsToken } from '../../../bin/aws-token.ts';
import type { RestProxyEvent } from '../../../functions/lambda/api-handler.ts';
import { bootstrapCluster } from '../../../functions/lambda/bootstrap-handler.ts';
import { createDynamoDbStore, type DynamoDbStore } from '../../../functions/store/dynamodb-store.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import { type TestDynamoDb, useDynamoDb } from '../../support/dynamodb.ts';
import { restoreEnvironment, setEnvironment } from '../../support/environment.ts';
import { fakeSts } from '../../support/fake-sts.ts';
import { FakeResponseStream } from '../../unit/lambda/fake-lambda-runtime.ts';

const clusterId = 'skiff-rbac-handler-test';
const region = 'eu-west-1';
const account = '111122223333';
const admin = {
  accessKeyId: 'AKIARBACADMIN0000001',
  secretAccessKey: 'rbac-admin-secret-0001',
  arn: `arn:aws:iam::${account}:user/ops/alice`,
  userId: 'AIDAALICE',
};
const viewer = {
  accessKeyId: 'AKIARBACVIEWER000001',
  secretAccessKey: 'rbac-viewer-secret-001',
  arn: `arn:aws:iam::${account}:user/dev/bob`,
  userId: 'AIDABOB',
};

function proxyEvent(method: string, path: string, token: string, body?: unknown): RestProxyEvent {
  const headers: Record<string, string> = {
    Accept: 'application/json',
    Host: 'abc123.execute-api.eu-west-1.amazonaws.com',
    Authorization: `Bearer ${token}`,
    'User-Agent': 'kubectl/v1.31.0 (linux/amd64) kubernetes/abcdef0',
  };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const encoded = body === undefined ? null : Buffer.from(JSON.stringify(body)).toString('base64');
  return {
    httpMethod: method,
    path,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]])),
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    // The stack's REST API passes every body as binary (binaryMediaTypes */*): base64 in the event.
    body: encoded,
    isBase64Encoded: encoded !== null,
    requestContext: { requestId: `req-${Math.random().toString(36).slice(2)}` },
  };
}

interface HandlerResponse {
  readonly statusCode: number;
  readonly body: Record<string, unknown>;
}

function pod(namespace: string, name: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace },
    spec: { containers: [{ name: 'web', image: 'nginx' }] },
  };
}

describe('the API Lambda handler authorizes an IAM-mapped non-admin user with RBAC', { timeout: 120_000 }, () => {
  let db: TestDynamoDb;
  let store: DynamoDbStore;
  let invoke: (event: RestProxyEvent) => Promise<HandlerResponse>;
  const sts = fakeSts([admin, viewer]);
  const secrets = mockClient(SecretsManagerClient);
  const realFetch = globalThis.fetch;
  const token = async (principal: typeof admin) => (await awsToken({ clusterId, region, credentials: principal })).token;

  before(async () => {
    db = await useDynamoDb();
    store = createDynamoDbStore({ client: db.client, tables: db.tables });
    await bootstrapCluster(store, { AdminPrincipalArns: [admin.arn], NodeRoleArns: [] });
    // What an administrator adds to aws-auth (`kubectl edit configmap aws-auth -n kube-system`):
    // bob, an IAM user, is the Kubernetes user "bob" in the group "team-a-viewers".
    const mapping = (await store.get(types.configmaps, 'kube-system', 'aws-auth')) as KubeObject & { data: Record<string, string> };
    const users = [...((parse(mapping.data.mapUsers ?? '[]') as unknown[] | null) ?? []), { userarn: viewer.arn, username: 'bob', groups: ['team-a-viewers'] }];
    await store.update(types.configmaps, { ...mapping, data: { ...mapping.data, mapUsers: stringify(users) } });

    secrets.on(GetSecretValueCommand, { VersionStage: 'AWSCURRENT' }).resolves({ SecretString: JSON.stringify({ seed: 'b'.repeat(48) }) });
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
    const run = handler as unknown as (event: RestProxyEvent, stream: FakeResponseStream, context: Context) => Promise<void>;
    invoke = async (event) => {
      const stream = new FakeResponseStream();
      await run(event, stream, { awsRequestId: 'aws-req', getRemainingTimeInMillis: () => 60_000 } as unknown as Context);
      const prelude = stream.events.find((e) => e.kind === 'prelude');
      assert.ok(prelude?.kind === 'prelude', 'the response prelude was written');
      const text = stream.events.map((e) => (e.kind === 'chunk' ? e.text : '')).join('');
      return { statusCode: prelude.prelude.statusCode as number, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
    };

    // The administrator, through the handler: two team namespaces and the binding of the group to `view` in team-a.
    const asAdmin = await token(admin);
    for (const name of ['team-a', 'team-b']) {
      const created = await invoke(proxyEvent('POST', '/api/v1/namespaces', asAdmin, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }));
      assert.equal(created.statusCode, 201, JSON.stringify(created.body));
    }
    const binding = await invoke(
      proxyEvent('POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/team-a/rolebindings', asAdmin, {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'team-a-viewers', namespace: 'team-a' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'team-a-viewers' }],
      }),
    );
    assert.equal(binding.statusCode, 201, JSON.stringify(binding.body));
    // A pod in each namespace (written to the store: no ServiceAccount controller runs here).
    await store.create(types.pods, pod('team-a', 'web'));
    await store.create(types.pods, pod('team-b', 'web'));
  });

  after(async () => {
    globalThis.fetch = realFetch;
    restoreEnvironment();
    secrets.restore();
    store?.close();
    await db?.cleanup();
  });

  it('lets the user get and list pods in team-a, as view allows', async () => {
    const asViewer = await token(viewer);
    const got = await invoke(proxyEvent('GET', '/api/v1/namespaces/team-a/pods/web', asViewer));
    assert.equal(got.statusCode, 200, JSON.stringify(got.body));
    assert.equal((got.body.metadata as { name?: string }).name, 'web');
    const listed = await invoke(proxyEvent('GET', '/api/v1/namespaces/team-a/pods', asViewer));
    assert.equal(listed.statusCode, 200, JSON.stringify(listed.body));
    assert.deepEqual(
      (listed.body.items as { metadata: { name: string } }[]).map((p) => p.metadata.name),
      ['web'],
    );
  });

  it("refuses delete in team-a with Kubernetes' exact 403 Status, and deletes nothing", async () => {
    const response = await invoke(proxyEvent('DELETE', '/api/v1/namespaces/team-a/pods/web', await token(viewer)));
    assert.equal(response.statusCode, 403, JSON.stringify(response.body));
    assert.deepEqual(response.body, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'pods "web" is forbidden: User "bob" cannot delete resource "pods" in API group "" in the namespace "team-a"',
      reason: 'Forbidden',
      details: { name: 'web', kind: 'pods' },
      code: 403,
    });
    const still = await store.get(types.pods, 'team-a', 'web');
    assert.equal(still.metadata.deletionTimestamp, undefined);
  });

  it('refuses get and list of pods in team-b with 403', async () => {
    const asViewer = await token(viewer);
    const listed = await invoke(proxyEvent('GET', '/api/v1/namespaces/team-b/pods', asViewer));
    assert.equal(listed.statusCode, 403, JSON.stringify(listed.body));
    assert.equal(listed.body.reason, 'Forbidden');
    assert.equal(listed.body.message, 'pods is forbidden: User "bob" cannot list resource "pods" in API group "" in the namespace "team-b"');
    const got = await invoke(proxyEvent('GET', '/api/v1/namespaces/team-b/pods/web', asViewer));
    assert.equal(got.statusCode, 403, JSON.stringify(got.body));
    assert.equal(got.body.message, 'pods "web" is forbidden: User "bob" cannot get resource "pods" in API group "" in the namespace "team-b"');
  });

  it('refuses a write even in team-a (view is read-only), changing nothing', async () => {
    const response = await invoke(
      proxyEvent('POST', '/api/v1/namespaces/team-a/configmaps', await token(viewer), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'nope' } }),
    );
    assert.equal(response.statusCode, 403, JSON.stringify(response.body));
    assert.equal(response.body.message, 'configmaps is forbidden: User "bob" cannot create resource "configmaps" in API group "" in the namespace "team-a"');
    const list = await store.list(types.configmaps, { namespace: 'team-a' });
    assert.deepEqual(
      list.items.map((c) => c.metadata.name).filter((n) => n === 'nope'),
      [],
    );
  });
});

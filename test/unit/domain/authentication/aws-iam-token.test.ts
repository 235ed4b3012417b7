/**
 * IAM sign-in: tokens made by `skiff token` (a presigned STS GetCallerIdentity) are accepted and
 * mapped through aws-auth; expired, wrong-region, wrong-cluster-id, tampered and non-STS-host
 * tokens are refused, through the API with a 401 Status. STS itself is a stand-in that checks
 * signatures as STS does (test/support/fake-sts.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { awsToken } from '../../../../bin/aws-token.ts';
import { createApi } from '../../../../functions/api/app.ts';
import { awsIamAuthenticator, canonicalArn, checkTokenUrl, decodeToken, TokenRefused } from '../../../../functions/domain/authentication/aws-iam-token.ts';
import { parseIamIdentityMapping } from '../../../../functions/domain/authentication/iam-identity-mapping.ts';
import { superuserAuthorizer } from '../../../../functions/domain/authorization/authorizer.ts';
import type { ObjectStore } from '../../../../functions/store/store.ts';
import { fakeSts } from '../../../support/fake-sts.ts';

const signedAt = new Date('2026-11-20T10:00:00Z');
const clusterId = 'skiff-prod';
const region = 'eu-west-1';

const admin = {
  accessKeyId: 'AKIAADMINEXAMPLE0001',
  secretAccessKey: 'admin-secret-key-0123456789',
  arn: 'arn:aws:iam::111122223333:user/alice',
  userId: 'AIDAALICE',
};
const node = {
  accessKeyId: 'ASIANODEEXAMPLE00001',
  secretAccessKey: 'node-secret-key-0123456789',
  sessionToken: 'FwoGZXIvYXdzEXAMPLEsessiontoken',
  arn: 'arn:aws:sts::111122223333:assumed-role/skiff-nodes/i-0123456789abcdef0',
  userId: 'AROANODES:i-0123456789abcdef0',
};
const stranger = {
  accessKeyId: 'AKIASTRANGER00000001',
  secretAccessKey: 'stranger-secret-0123456789',
  arn: 'arn:aws:iam::999999999999:user/mallory',
  userId: 'AIDAMAL',
};

const mapping = parseIamIdentityMapping({
  mapRoles: `
- rolearn: arn:aws:iam::111122223333:role/infra/skiff-nodes
  username: system:node:{{SessionName}}
  groups: [system:nodes]
`,
  mapUsers: `
- userarn: arn:aws:iam::111122223333:user/alice
  username: alice
  groups: [system:masters]
`,
}).mapping;

function setUp(now = signedAt.getTime() + 60_000) {
  const sts = fakeSts([admin, node, stranger], () => now);
  const refused: string[] = [];
  const authenticate = awsIamAuthenticator({
    clusterId,
    region,
    callSts: sts.callSts,
    now: () => now,
    mapping: async () => mapping,
    onRefused: (r) => refused.push(r),
  });
  return { sts, refused, authenticate };
}

const tokenFor = (principal: typeof admin | typeof node, overrides: Partial<Parameters<typeof awsToken>[0]> = {}) =>
  awsToken({ clusterId, region, credentials: principal, now: signedAt, ...overrides }).then((t) => t.token);

function tamper(token: string, edit: (url: URL) => void): string {
  const url = decodeToken(token);
  edit(url);
  return `k8s-aws-v1.${Buffer.from(url.href).toString('base64url')}`;
}

describe('IAM sign-in tokens', () => {
  it('makes a token like aws eks get-token: the prefix and a presigned GetCallerIdentity that signs the cluster id', async () => {
    const token = await tokenFor(admin);
    assert.match(token, /^k8s-aws-v1\.[A-Za-z0-9_-]+$/);
    const url = decodeToken(token);
    assert.equal(url.host, 'sts.eu-west-1.amazonaws.com');
    assert.equal(url.searchParams.get('Action'), 'GetCallerIdentity');
    assert.equal(url.searchParams.get('Version'), '2011-06-15');
    assert.deepEqual(url.searchParams.get('X-Amz-SignedHeaders')?.split(';'), ['host', 'x-k8s-aws-id']);
    assert.equal(url.searchParams.get('X-Amz-Credential'), 'AKIAADMINEXAMPLE0001/20261120/eu-west-1/sts/aws4_request');
    assert.equal(url.searchParams.get('X-Amz-Date'), '20261120T100000Z');
  });

  it('accepts a valid token and maps the user through aws-auth', async () => {
    const { authenticate, sts } = setUp();
    assert.deepEqual(await authenticate(await tokenFor(admin)), { username: 'alice', groups: ['system:masters', 'system:authenticated'] });
    assert.equal(sts.calls.length, 1);
    assert.equal(sts.calls[0]?.headers['x-k8s-aws-id'], clusterId);
  });

  it('makes a node whose instance role signed in system:node:<instance id> in system:nodes', async () => {
    const { authenticate } = setUp();
    const token = await tokenFor(node);
    assert.ok(decodeToken(token).searchParams.get('X-Amz-Security-Token'), 'session credentials carry their token');
    assert.deepEqual(await authenticate(token), { username: 'system:node:i-0123456789abcdef0', groups: ['system:nodes', 'system:authenticated'] });
  });

  it('asks STS once per token until it expires', async () => {
    const { authenticate, sts } = setUp();
    const token = await tokenFor(admin);
    await authenticate(token);
    await authenticate(token);
    assert.equal(sts.calls.length, 1);
  });

  it('leaves tokens without the prefix to the other authenticators', async () => {
    const { authenticate, sts } = setUp();
    assert.equal(await authenticate('some-static-token'), undefined);
    assert.equal(sts.calls.length, 0);
  });

  const refusals: Array<[string, () => Promise<string>, number?]> = [
    ['expired (15 minutes after it was signed)', () => tokenFor(admin), signedAt.getTime() + 15 * 60_000],
    ['for another region', () => tokenFor(admin, { region: 'us-west-2' })],
    ['for another cluster id', () => tokenFor(admin, { clusterId: 'skiff-staging' })],
    ['with a tampered signature', async () => tamper(await tokenFor(admin), (url) => url.searchParams.set('X-Amz-Signature', '0'.repeat(64)))],
    ['with a tampered date', async () => tamper(await tokenFor(admin), (url) => url.searchParams.set('X-Amz-Date', '20261120T100500Z'))],
    ['naming a host that is not STS', () => tokenFor(admin, { host: 'sts.eu-west-1.amazonaws.com.evil.example' })],
    ['naming STS of another region', () => tokenFor(admin, { host: 'sts.us-east-1.amazonaws.com' })],
    ['with an extra query parameter', async () => tamper(await tokenFor(admin), (url) => url.searchParams.set('Redirect', 'x'))],
    ['for another action', async () => tamper(await tokenFor(admin), (url) => url.searchParams.set('Action', 'AssumeRole'))],
    ['without the cluster id header signed', async () => tamper(await tokenFor(admin), (url) => url.searchParams.set('X-Amz-SignedHeaders', 'host'))],
    ['over plain http', async () => tamper(await tokenFor(admin), (url) => (url.protocol = 'http:'))],
    ['that is not base64url', async () => 'k8s-aws-v1.not*base64!'],
    ['of a principal aws-auth does not map', () => tokenFor(stranger)],
  ];
  for (const [what, make, at] of refusals) {
    it(`refuses a token ${what}, with a 401 Status`, async () => {
      const { authenticate, refused } = setUp(at);
      // The API answers before it touches the store.
      const store = new Proxy({}, { get: () => assert.fail('the store is not read for a refused token') }) as ObjectStore;
      const api = createApi({ store, authenticators: [authenticate], authorizer: superuserAuthorizer });
      const token = await make();
      const response = await api({
        method: 'GET',
        path: '/api',
        query: new URLSearchParams(),
        headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
        body: Buffer.alloc(0),
        signal: new AbortController().signal,
        requestId: 'r',
      });
      assert.equal(response.status, 401);
      const status = JSON.parse(String(response.body)) as { kind: string; reason: string; code: number };
      assert.deepEqual([status.kind, status.reason, status.code], ['Status', 'Unauthorized', 401]);
      assert.equal(refused.length, 1, 'the reason is reported to the host');
    });
  }

  it('lets the same valid token through the API', async () => {
    const { authenticate } = setUp();
    const store = {} as ObjectStore;
    const api = createApi({ store, authenticators: [authenticate], authorizer: superuserAuthorizer });
    const response = await api({
      method: 'GET',
      path: '/api',
      query: new URLSearchParams(),
      headers: { authorization: `Bearer ${await tokenFor(admin)}`, accept: 'application/json' },
      body: Buffer.alloc(0),
      signal: new AbortController().signal,
      requestId: 'r',
    });
    assert.equal(response.status, 200);
  });
});

describe('checkTokenUrl', () => {
  it('accepts the global endpoint only for a cluster in us-east-1', () => {
    const url = new URL(
      'https://sts.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20261120%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Date=20261120T100000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id&X-Amz-Signature=ab',
    );
    assert.doesNotThrow(() => checkTokenUrl(url, { region: 'us-east-1', now: signedAt.getTime() }));
    assert.throws(() => checkTokenUrl(url, { region: 'eu-west-1', now: signedAt.getTime() }), TokenRefused);
  });
});

describe('canonicalArn', () => {
  it('turns an assumed-role session into its role and keeps the session name', () => {
    assert.deepEqual(canonicalArn('arn:aws:sts::111122223333:assumed-role/Admin/alice@example.com'), {
      canonicalArn: 'arn:aws:iam::111122223333:role/Admin',
      sessionName: 'alice@example.com',
    });
    assert.deepEqual(canonicalArn('arn:aws-cn:sts::111122223333:assumed-role/r/s'), { canonicalArn: 'arn:aws-cn:iam::111122223333:role/r', sessionName: 's' });
    assert.deepEqual(canonicalArn('arn:aws:iam::111122223333:user/alice'), { canonicalArn: 'arn:aws:iam::111122223333:user/alice' });
  });
});

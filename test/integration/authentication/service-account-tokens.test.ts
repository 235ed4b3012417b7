/**
 * ServiceAccount tokens against DynamoDB Local: what TokenRequest issues authenticates as the
 * account (and its bound pod) while both live; expired, wrong-audience, tampered, unsigned and
 * foreign tokens, and tokens of deleted or recreated accounts and pods, do not: the API answers
 * them with kube-apiserver's 401 Status.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt, decodeProtectedHeader, UnsecuredJWT } from 'jose';
import { createApi } from '../../../functions/api/app.ts';
import {
  API_AUDIENCE,
  issueServiceAccountToken,
  type ServiceAccountKeySource,
  serviceAccountTokenAuthenticator,
  signingKeyFromSeed,
} from '../../../functions/domain/authentication/service-account-tokens.ts';
import { type Authorizer, allow, noOpinion, noRules } from '../../../functions/domain/authorization/authorizer.ts';
import { createDynamoDbStore, type DynamoDbStore } from '../../../functions/store/dynamodb-store.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import { type TestDynamoDb, useDynamoDb } from '../../support/dynamodb.ts';

let db: TestDynamoDb;
let store: DynamoDbStore;

const key = signingKeyFromSeed('a-seed-for-the-tests-of-service-account-tokens');
const otherKey = signingKeyFromSeed('another-seed-that-the-cluster-does-not-know-of');
const keys: ServiceAccountKeySource = { signingKey: async () => key, verificationKeys: async () => [key] };
const t0 = new Date('2026-06-01T10:00:00Z');
let clock = t0;

before(async () => {
  db = await useDynamoDb();
  store = createDynamoDbStore({ client: db.client, tables: db.tables, pollIntervalMs: 50 });
});
after(async () => {
  store.close();
  await db.cleanup();
});

async function createAccount(namespace: string, name: string): Promise<KubeObject> {
  return store.create(types.serviceaccounts, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace } });
}

function authenticator() {
  return serviceAccountTokenAuthenticator({ keys, store, now: () => clock, lookupCacheMs: 0 });
}

async function tokenFor(account: KubeObject, options: { audiences?: string[]; seconds?: number; pod?: KubeObject; signWith?: typeof key } = {}) {
  return (
    await issueServiceAccountToken(options.signWith ?? key, {
      namespace: account.metadata.namespace ?? '',
      serviceAccount: { name: account.metadata.name ?? '', uid: account.metadata.uid ?? '' },
      audiences: options.audiences ?? [API_AUDIENCE],
      expirationSeconds: options.seconds ?? 3600,
      ...(options.pod ? { boundObject: { kind: 'Pod' as const, name: options.pod.metadata.name ?? '', uid: options.pod.metadata.uid ?? '' } } : {}),
      now: clock,
    })
  ).token;
}

/** What kube-apiserver answers a request whose credentials it does not accept. */
const unauthorizedStatus = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 };

/** A SelfSubjectReview (`kubectl auth whoami`) through the API core with only this authenticator. */
function throughApi(token: string) {
  const api = createApi({ store, authenticators: [authenticator()], authorizer: allowAuthenticated });
  const body = Buffer.from(JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' }));
  return api({
    method: 'POST',
    path: '/apis/authentication.k8s.io/v1/selfsubjectreviews',
    query: new URLSearchParams(),
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body,
    signal: new AbortController().signal,
    requestId: 'sa-token-test',
  });
}

const allowAuthenticated: Authorizer = {
  async authorize(attributes) {
    return attributes.user.groups.includes('system:authenticated') ? allow() : noOpinion();
  },
  async rulesFor() {
    return noRules;
  },
};

describe('ServiceAccount tokens', () => {
  it("carry Kubernetes' claims and the key id of the signing key", async () => {
    clock = t0;
    const account = await createAccount('claims', 'builder');
    const token = await tokenFor(account);
    assert.deepEqual(decodeProtectedHeader(token), { alg: 'ES256', kid: key.kid });
    const claims = decodeJwt(token);
    assert.equal(claims.sub, 'system:serviceaccount:claims:builder');
    assert.equal(claims.iss, 'https://kubernetes.default.svc.cluster.local');
    assert.deepEqual(claims.aud, [API_AUDIENCE]);
    assert.equal(claims.exp, Math.floor(t0.getTime() / 1000) + 3600);
    assert.deepEqual(claims['kubernetes.io'], { namespace: 'claims', serviceaccount: { name: 'builder', uid: account.metadata.uid } });
  });

  it('authenticate as the account, in its groups, with the credential id', async () => {
    clock = t0;
    const account = await createAccount('valid', 'builder');
    const user = await authenticator()(await tokenFor(account));
    assert.equal(user?.username, 'system:serviceaccount:valid:builder');
    assert.equal(user?.uid, account.metadata.uid);
    assert.deepEqual(user?.groups, ['system:serviceaccounts', 'system:serviceaccounts:valid']);
    assert.match(user?.extra?.['authentication.kubernetes.io/credential-id']?.[0] ?? '', /^JTI=[0-9a-f-]{36}$/);
  });

  it('the same seed signs with the same key in every process', () => {
    assert.equal(signingKeyFromSeed('a-seed-for-the-tests-of-service-account-tokens').kid, key.kid);
    assert.notEqual(otherKey.kid, key.kid);
  });

  const refused: [string, (account: KubeObject) => Promise<string>][] = [
    [
      'an expired token',
      async (account) => {
        clock = t0;
        const token = await tokenFor(account, { seconds: 600 });
        clock = new Date(t0.getTime() + 601_000);
        return token;
      },
    ],
    ['a token for another audience', (account) => tokenFor(account, { audiences: ['vault'] })],
    [
      'a tampered token (another account in the payload, the old signature)',
      async (account) => {
        const [header, payload, signature] = (await tokenFor(account)).split('.');
        const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString());
        claims.sub = 'system:serviceaccount:kube-system:admin';
        return `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
      },
    ],
    [
      'an unsigned token (alg none)',
      async (account) =>
        new UnsecuredJWT({ 'kubernetes.io': { namespace: 'refused', serviceaccount: { name: 'builder', uid: account.metadata.uid } } })
          .setIssuer('https://kubernetes.default.svc.cluster.local')
          .setAudience(API_AUDIENCE)
          .setSubject('system:serviceaccount:refused:builder')
          .setExpirationTime('1h')
          .encode(),
    ],
    ['a token signed by another key', (account) => tokenFor(account, { signWith: { ...otherKey, kid: key.kid } })],
    ['not a JWT at all', async () => 'just-some-opaque-token'],
  ];
  for (const [description, make] of refused) {
    it(`refuse ${description}`, async () => {
      clock = t0;
      const account = (await store.get(types.serviceaccounts, 'refused', 'builder').catch(() => undefined)) ?? (await createAccount('refused', 'builder'));
      const token = await make(account);
      assert.equal(await authenticator()(token), undefined);
      // Through the API: kube-apiserver's 401 Status, whatever the path.
      const response = await throughApi(token);
      assert.equal(response.status, 401);
      assert.deepEqual(JSON.parse(String(response.body)), unauthorizedStatus);
      clock = t0;
    });
  }

  it('get past authentication through the API when valid, as the account', async () => {
    clock = t0;
    const account = await createAccount('through-api', 'builder');
    const response = await throughApi(await tokenFor(account));
    assert.equal(response.status, 201);
    assert.equal(JSON.parse(String(response.body)).status.userInfo.username, 'system:serviceaccount:through-api:builder');
  });

  it('stop working when the account is deleted, and stay refused when it is made again', async () => {
    clock = t0;
    const account = await createAccount('lifecycle', 'builder');
    const token = await tokenFor(account);
    assert.ok(await authenticator()(token));
    await store.delete(types.serviceaccounts, 'lifecycle', 'builder');
    assert.equal(await authenticator()(token), undefined);
    await createAccount('lifecycle', 'builder');
    assert.equal(await authenticator()(token), undefined, 'a new account of the same name has another uid');
  });

  it('bound to a pod, stop working when the pod is gone', async () => {
    clock = t0;
    const account = await createAccount('bound', 'default');
    const pod = await store.create(types.pods, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web', namespace: 'bound' },
      spec: { containers: [{ name: 'c', image: 'nginx' }] },
    });
    const token = await tokenFor(account, { pod });
    const user = await authenticator()(token);
    assert.deepEqual(user?.extra?.['authentication.kubernetes.io/pod-name'], ['web']);
    await store.delete(types.pods, 'bound', 'web');
    assert.equal(await authenticator()(token), undefined);
  });
});

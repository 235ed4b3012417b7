/**
 * The request pipeline of the API core: authentication (a chain of authenticators, anonymous
 * only on the public paths), impersonation, authorization with Kubernetes' 403, and the audit
 * log. Resource verbs are not reached here, so no store is needed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createApi } from '../../../functions/api/app.ts';
import type { AuditEvent } from '../../../functions/api/audit.ts';
import type { ApiRequest } from '../../../functions/api/http.ts';
import { type AuthorizationAttributes, type Authorizer, allow, noOpinion, noRules } from '../../../functions/domain/authorization/authorizer.ts';
import type { ObjectStore } from '../../../functions/store/store.ts';

function request(path: string, headers: Record<string, string> = {}, method = 'GET'): ApiRequest {
  const url = new URL(path, 'https://server');
  return { method, path: url.pathname, query: url.searchParams, headers, body: Buffer.alloc(0), signal: new AbortController().signal, requestId: 'req-1' };
}

/** Allows what `allowed` says; records every question it was asked. */
function recordingAuthorizer(allowed: (attributes: AuthorizationAttributes) => boolean): Authorizer & { asked: AuthorizationAttributes[] } {
  const asked: AuthorizationAttributes[] = [];
  return {
    asked,
    async authorize(attributes) {
      asked.push(attributes);
      return allowed(attributes) ? allow() : noOpinion();
    },
    async rulesFor() {
      return noRules;
    },
  };
}

const tokens: Record<string, { username: string; groups: string[] }> = {
  'alice-token': { username: 'alice', groups: ['dev'] },
  'admin-token': { username: 'admin', groups: ['system:masters'] },
};

function api(authorizer: Authorizer, audit: AuditEvent[] = []) {
  return createApi({
    store: {} as ObjectStore,
    authenticators: [async () => undefined, async (token) => tokens[token]],
    authorizer,
    audit: (event) => audit.push(event),
  });
}

describe('the API request pipeline', () => {
  it('answers /version anonymously when the authorizer allows system:anonymous', async () => {
    const authorizer = recordingAuthorizer((a) => a.user.username === 'system:anonymous' && a.path === '/version');
    const response = await api(authorizer)(request('/version'));
    assert.equal(response.status, 200);
    assert.deepEqual(authorizer.asked[0]?.user, { username: 'system:anonymous', groups: ['system:unauthenticated'] });
  });

  it('refuses a request without a token on any other path with 401', async () => {
    const response = await api(recordingAuthorizer(() => true))(request('/api'));
    assert.equal(response.status, 401);
    assert.equal(JSON.parse(String(response.body)).reason, 'Unauthorized');
  });

  it('refuses an unknown token with 401, even on a public path', async () => {
    const response = await api(recordingAuthorizer(() => true))(request('/version', { authorization: 'Bearer nobody' }));
    assert.equal(response.status, 401);
  });

  it('asks the next authenticator when one does not know the token, and adds system:authenticated', async () => {
    const authorizer = recordingAuthorizer(() => true);
    const response = await api(authorizer)(request('/api', { authorization: 'Bearer alice-token' }));
    assert.equal(response.status, 200);
    assert.deepEqual(authorizer.asked[0]?.user, { username: 'alice', groups: ['dev', 'system:authenticated'] });
  });

  it("refuses what the authorizer does not allow with Kubernetes' 403 Status", async () => {
    const response = await api(recordingAuthorizer(() => false))(request('/api/v1/namespaces/team-b/pods', { authorization: 'Bearer alice-token' }));
    assert.equal(response.status, 403);
    assert.deepEqual(JSON.parse(String(response.body)), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "team-b"',
      reason: 'Forbidden',
      details: { kind: 'pods' },
      code: 403,
    });
  });

  it('names the object and the path in 403s as kube-apiserver does', async () => {
    const denied = api(recordingAuthorizer(() => false));
    const one = await denied(request('/api/v1/namespaces/team-a/pods/web', { authorization: 'Bearer alice-token' }, 'DELETE'));
    assert.equal(
      JSON.parse(String(one.body)).message,
      'pods "web" is forbidden: User "alice" cannot delete resource "pods" in API group "" in the namespace "team-a"',
    );
    const node = await denied(request('/api/v1/nodes/n2/status', { authorization: 'Bearer alice-token' }, 'PATCH'));
    assert.equal(
      JSON.parse(String(node.body)).message,
      'nodes "n2" is forbidden: User "alice" cannot patch resource "nodes/status" in API group "" at the cluster scope',
    );
    const path = await denied(request('/logs', { authorization: 'Bearer alice-token' }));
    assert.equal(JSON.parse(String(path.body)).message, 'forbidden: User "alice" cannot get path "/logs"');
  });

  it('runs the request as the impersonated user when the requester may impersonate', async () => {
    const authorizer = recordingAuthorizer((a) => a.verb === 'impersonate' || a.user.username === 'bob');
    const response = await api(authorizer)(
      request('/api', { authorization: 'Bearer alice-token', 'impersonate-user': 'bob', 'impersonate-group': 'team-a, qa' }),
    );
    assert.equal(response.status, 200);
    assert.deepEqual(
      authorizer.asked.map((a) => `${a.user.username} ${a.verb} ${a.resource || a.path} ${a.name}`),
      ['alice impersonate users bob', 'alice impersonate groups team-a', 'alice impersonate groups qa', 'bob get /api '],
    );
    assert.deepEqual(authorizer.asked.at(-1)?.user.groups, ['team-a', 'qa', 'system:authenticated']);
  });

  it('gives an impersonated ServiceAccount its groups and checks impersonate on serviceaccounts', async () => {
    const authorizer = recordingAuthorizer(() => true);
    await api(authorizer)(request('/api', { authorization: 'Bearer alice-token', 'impersonate-user': 'system:serviceaccount:team-a:builder' }));
    const [check, served] = authorizer.asked;
    assert.deepEqual([check?.verb, check?.resource, check?.namespace, check?.name], ['impersonate', 'serviceaccounts', 'team-a', 'builder']);
    assert.deepEqual(served?.user.groups, ['system:serviceaccounts', 'system:serviceaccounts:team-a', 'system:authenticated']);
  });

  it('refuses impersonation the requester may not do with 403', async () => {
    const response = await api(recordingAuthorizer((a) => a.verb !== 'impersonate'))(
      request('/api', { authorization: 'Bearer alice-token', 'impersonate-user': 'bob' }),
    );
    assert.equal(response.status, 403);
    assert.equal(
      JSON.parse(String(response.body)).message,
      'users "bob" is forbidden: User "alice" cannot impersonate resource "users" in API group "" at the cluster scope',
    );
  });

  it('refuses impersonating groups without a user with 400', async () => {
    const response = await api(recordingAuthorizer(() => true))(request('/api', { authorization: 'Bearer alice-token', 'impersonate-group': 'qa' }));
    assert.equal(response.status, 400);
  });

  it('audits denied requests and failed authentication, not allowed reads', async () => {
    const audit: AuditEvent[] = [];
    const served = api(
      recordingAuthorizer((a) => a.verb === 'list'),
      audit,
    );
    await served(request('/api/v1/namespaces/team-a/pods', { authorization: 'Bearer alice-token' }));
    await served(request('/api/v1/namespaces/team-a/secrets/db', { authorization: 'Bearer alice-token', 'user-agent': 'kubectl/v1.32' }));
    await served(request('/api/v1/namespaces/team-a/pods', { authorization: 'Bearer wrong' }, 'POST'));
    assert.equal(audit.length, 2);
    const [denied, unauthenticated] = audit;
    assert.equal(denied?.verb, 'get');
    assert.deepEqual(denied?.user, { username: 'alice', groups: ['dev', 'system:authenticated'] });
    assert.deepEqual(denied?.objectRef, { resource: 'secrets', namespace: 'team-a', name: 'db', apiGroup: '', apiVersion: 'v1' });
    assert.equal(denied?.responseStatus.code, 403);
    assert.equal(denied?.annotations?.['authorization.k8s.io/decision'], 'forbid');
    assert.equal(denied?.userAgent, 'kubectl/v1.32');
    assert.equal(unauthenticated?.verb, 'post');
    assert.deepEqual(unauthenticated?.user, {});
    assert.equal(unauthenticated?.responseStatus.code, 401);
  });

  it('records the impersonated user beside the real one in the audit log', async () => {
    const audit: AuditEvent[] = [];
    await api(
      recordingAuthorizer((a) => a.verb === 'impersonate'),
      audit,
    )(request('/api/v1/namespaces/team-a/pods/web', { authorization: 'Bearer alice-token', 'impersonate-user': 'bob' }, 'DELETE'));
    assert.equal(audit[0]?.user.username, 'alice');
    assert.deepEqual(audit[0]?.impersonatedUser, { username: 'bob', groups: ['system:authenticated'] });
  });
});

/**
 * The protobuf bodies of kubectl's access-control commands (`create role|clusterrole|rolebinding|
 * clusterrolebinding|serviceaccount|token`, `auth can-i`, `auth can-i --list`, `auth whoami`):
 * the real kubectl against a recording server on loopback that serves Skiff's own discovery and
 * answers each create with the decoded object (or a review's status), asserting what Skiff
 * decodes from what kubectl sent.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { aggregatedDiscoveryContentType, rootDiscovery } from '../../../../functions/api/discovery.ts';
import { decodeProtobufObject, isProtobufContentType } from '../../../../functions/api/protobuf/index.ts';
import { toStatus } from '../../../../functions/core/errors.ts';

interface Recorded {
  readonly method: string;
  readonly path: string;
  readonly contentType: string;
  readonly decoded?: Record<string, unknown>;
}

let server: http.Server;
let port = 0;
let workDir = '';
let requests: Recorded[] = [];

/** What the recording server answers to a decoded create. */
function answer(request: Recorded): unknown {
  const object = request.decoded ?? {};
  switch (object.kind) {
    case 'SelfSubjectAccessReview':
      return { ...object, status: { allowed: true } };
    case 'SelfSubjectRulesReview':
      return { ...object, status: { resourceRules: [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }], nonResourceRules: [], incomplete: false } };
    case 'SelfSubjectReview':
      return { ...object, status: { userInfo: { username: 'alice', groups: ['dev', 'system:authenticated'] } } };
    case 'TokenRequest':
      return { ...object, status: { token: 'issued-token', expirationTimestamp: '2030-01-01T00:00:00Z' } };
    default:
      return object;
  }
}

function startRecordingServer(): Promise<void> {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = req.url ?? '/';
      const reply = (code: number, body: unknown, contentType = 'application/json') => {
        res.writeHead(code, { 'content-type': contentType });
        res.end(JSON.stringify(body));
      };
      const pathname = path.split('?')[0];
      if (pathname === '/version') return reply(200, { major: '1', minor: '32', gitVersion: 'v1.32.4' });
      if (pathname === '/api' || pathname === '/apis') {
        const { body } = rootDiscovery(pathname === '/api' ? 'api' : 'apis', req.headers.accept);
        return reply(200, body, aggregatedDiscoveryContentType('v2'));
      }
      const contentType = String(req.headers['content-type'] ?? '');
      try {
        const body = Buffer.concat(chunks);
        const decoded = isProtobufContentType(contentType) ? (decodeProtobufObject(body) as unknown as Record<string, unknown>) : undefined;
        const request = { method: req.method ?? '', path, contentType, ...(decoded ? { decoded } : {}) };
        requests.push(request);
        if (req.method !== 'POST') return reply(404, toStatus(new Error('not found')));
        reply(201, answer(request));
      } catch (error) {
        requests.push({ method: req.method ?? '', path, contentType });
        const status = toStatus(error);
        reply(status.code, status);
      }
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      port = (server.address() as AddressInfo).port;
      resolve();
    });
  });
}

function kubectl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, KUBECONFIG: join(workDir, 'no-kubeconfig') };
  const fullArgs = ['--server', `http://127.0.0.1:${port}`, '--cache-dir', join(workDir, 'cache'), ...args];
  return new Promise((resolve) => {
    execFile('kubectl', fullArgs, { env, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

/** Runs one command; returns the single protobuf POST it made. */
async function capture(...args: string[]): Promise<Recorded & { stdout: string }> {
  requests = [];
  const result = await kubectl(...args);
  assert.equal(result.code, 0, `kubectl ${args.join(' ')} failed: ${result.stderr}`);
  const posts = requests.filter((r) => r.method === 'POST');
  assert.equal(posts.length, 1, `expected one POST, saw ${JSON.stringify(requests)}`);
  const post = posts[0]!;
  assert.ok(isProtobufContentType(post.contentType), `expected a protobuf body, got ${post.contentType}`);
  return { ...post, stdout: result.stdout };
}

before(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'skiff-access-protobuf-'));
  await startRecordingServer();
});

after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(workDir, { recursive: true, force: true });
});

describe('decoding the protobuf bodies of kubectl access commands', () => {
  it('decodes create role with verbs, resources and resource names', async () => {
    const post = await capture('create', 'role', 'pod-reader', '--verb=get,list', '--resource=pods,deployments.apps', '--resource-name=web', '-n', 'team-a');
    assert.equal(post.path, '/apis/rbac.authorization.k8s.io/v1/namespaces/team-a/roles?fieldManager=kubectl-create&fieldValidation=Strict');
    assert.deepStrictEqual(post.decoded, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'pod-reader', namespace: 'team-a' },
      rules: [
        { verbs: ['get', 'list'], apiGroups: [''], resources: ['pods'], resourceNames: ['web'] },
        { verbs: ['get', 'list'], apiGroups: ['apps'], resources: ['deployments'], resourceNames: ['web'] },
      ],
    });
  });

  it('decodes create clusterrole with non-resource URLs and with an aggregation rule', async () => {
    const urls = await capture('create', 'clusterrole', 'log-reader', '--verb=get', '--non-resource-url=/logs/*');
    assert.deepStrictEqual(urls.decoded, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'log-reader' },
      rules: [{ verbs: ['get'], nonResourceURLs: ['/logs/*'] }],
    });
    const aggregated = await capture('create', 'clusterrole', 'monitoring', '--aggregation-rule=team=monitoring');
    assert.deepStrictEqual(aggregated.decoded, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'monitoring' },
      aggregationRule: { clusterRoleSelectors: [{ matchLabels: { team: 'monitoring' } }] },
    });
  });

  it('decodes create rolebinding and clusterrolebinding with every kind of subject', async () => {
    const binding = await capture(
      'create',
      'rolebinding',
      'view-team-a',
      '--clusterrole=view',
      '--user=alice',
      '--group=devs',
      '--serviceaccount=team-a:builder',
      '-n',
      'team-a',
    );
    assert.equal(binding.path, '/apis/rbac.authorization.k8s.io/v1/namespaces/team-a/rolebindings?fieldManager=kubectl-create&fieldValidation=Strict');
    assert.deepStrictEqual(binding.decoded, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'view-team-a', namespace: 'team-a' },
      subjects: [
        { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'alice' },
        { kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'devs' },
        { kind: 'ServiceAccount', name: 'builder', namespace: 'team-a' },
      ],
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
    });
    const cluster = await capture('create', 'clusterrolebinding', 'admins', '--clusterrole=cluster-admin', '--group=ops');
    assert.deepStrictEqual(cluster.decoded, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'admins' },
      subjects: [{ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'ops' }],
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
    });
  });

  it('decodes create serviceaccount and the TokenRequest of create token', async () => {
    const account = await capture('create', 'serviceaccount', 'builder', '-n', 'team-a');
    assert.equal(account.path, '/api/v1/namespaces/team-a/serviceaccounts?fieldManager=kubectl-create&fieldValidation=Strict');
    assert.deepStrictEqual(account.decoded, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'builder', namespace: 'team-a' } });
    const token = await capture(
      'create',
      'token',
      'builder',
      '-n',
      'team-a',
      '--audience=vault',
      '--duration=1h',
      '--bound-object-kind=Pod',
      '--bound-object-name=web',
    );
    assert.equal(token.path, '/api/v1/namespaces/team-a/serviceaccounts/builder/token');
    assert.deepStrictEqual(token.decoded, {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      metadata: {},
      spec: { audiences: ['vault'], expirationSeconds: 3600, boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'web' } },
    });
    assert.equal(token.stdout.trim(), 'issued-token');
  });

  it('decodes the SelfSubjectAccessReview of auth can-i, for resources and for paths', async () => {
    const resource = await capture('auth', 'can-i', 'delete', 'deployments.apps/web', '-n', 'team-a');
    assert.equal(resource.path, '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews');
    assert.deepStrictEqual((resource.decoded as { spec: unknown }).spec, {
      resourceAttributes: { namespace: 'team-a', verb: 'delete', group: 'apps', resource: 'deployments', name: 'web' },
    });
    const path = await capture('auth', 'can-i', 'get', '/logs');
    assert.deepStrictEqual((path.decoded as { spec: unknown }).spec, { nonResourceAttributes: { path: '/logs', verb: 'get' } });
  });

  it('decodes the SelfSubjectRulesReview of auth can-i --list and the SelfSubjectReview of auth whoami', async () => {
    const rules = await capture('auth', 'can-i', '--list', '-n', 'team-a');
    assert.equal(rules.path, '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews');
    assert.deepStrictEqual((rules.decoded as { spec: unknown }).spec, { namespace: 'team-a' });
    assert.match(rules.stdout, /pods\s+\[\]\s+\[\]\s+\[get\]/);
    const whoami = await capture('auth', 'whoami');
    assert.equal(whoami.path, '/apis/authentication.k8s.io/v1/selfsubjectreviews');
    assert.equal((whoami.decoded as { kind: string }).kind, 'SelfSubjectReview');
    assert.match(whoami.stdout, /Username\s+alice/);
  });
});

/**
 * Admission webhooks over the local HTTPS server and DynamoDB Local, called for real: a webhook
 * server on loopback with a certificate from a CA made for the test. Refusals, JSON patches
 * applied in order and validated again, warnings, failure policies with a server that is down or
 * never answers, selectors, a Service's endpoint, and the configurations themselves exempt.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { jsonRequest, type RawAnswer } from '../../support/raw-https.ts';
import { startTestApi, type TestApi } from '../../support/test-api.ts';
import { jsonPatchAnswer, type ReviewRequest, startWebhookServer, type WebhookServer } from '../../support/webhook-server.ts';

const validating = '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations';
const mutating = '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations';
const pods = (namespace: string) => `/api/v1/namespaces/${namespace}/pods`;

const pod = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels },
  spec: { containers: [{ name: 'app', image: 'registry.example/app:1' }] },
});

type Rule = { operations: string[]; apiGroups: string[]; apiVersions: string[]; resources: string[]; scope?: string };
const podCreates: Rule = { operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] };

describe('admission webhooks', () => {
  let api: TestApi;
  let server: WebhookServer;
  /** What the server answers next, per path. */
  const answers = new Map<string, (request: ReviewRequest) => Record<string, unknown> | 'hang'>();
  const configurations: string[] = [];

  const send = (method: string, path: string, body?: unknown): Promise<RawAnswer> => jsonRequest(api, method, path, body);

  /** Creates a configuration of one webhook at `path` of the test server (or another client config). */
  async function configure(kind: 'Validating' | 'Mutating', name: string, webhook: Record<string, unknown>): Promise<void> {
    const collection = kind === 'Validating' ? validating : mutating;
    const created = await send('POST', collection, {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: `${kind}WebhookConfiguration`,
      metadata: { name },
      webhooks: [{ sideEffects: 'None', admissionReviewVersions: ['v1'], rules: [podCreates], ...webhook }],
    });
    assert.equal(created.status, 201, created.text);
    configurations.push(`${collection}/${name}`);
  }
  const at = (path: string) => ({ url: `${server.url}${path}`, caBundle: server.caBundle });

  before(async () => {
    api = await startTestApi();
    server = await startWebhookServer((request, path) => answers.get(path.split('?')[0] ?? '')?.(request) ?? { allowed: true }, {
      dnsNames: ['hooks.webhooks.svc'],
    });
    for (const namespace of ['hooked', 'plain', 'webhooks']) {
      const labels = namespace === 'hooked' ? { policy: 'strict' } : {};
      await send('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels } });
    }
  });
  after(async () => {
    await server.close();
    await api.stop();
  });
  afterEach(async () => {
    for (const path of configurations.splice(0)) await send('DELETE', path);
    answers.clear();
    server.received.length = 0;
  });

  it('refuses a pod as the validating webhook says, with its message and code (400 when it gives none)', async () => {
    answers.set('/deny', () => ({ allowed: false, status: { message: 'images must come from registry.internal' } }));
    await configure('Validating', 'deny', { name: 'deny.images.example.com', clientConfig: at('/deny') });
    const refused = await send('POST', pods('plain'), pod('web'));
    assert.deepEqual(
      [refused.status, refused.json?.message],
      [400, 'admission webhook "deny.images.example.com" denied the request: images must come from registry.internal'],
    );
    answers.set('/deny', () => ({ allowed: false, status: { code: 403, reason: 'Forbidden', message: 'not today' } }));
    const forbidden = await send('POST', pods('plain'), pod('web'));
    assert.deepEqual([forbidden.status, forbidden.json?.reason], [403, 'Forbidden']);
    assert.equal((await send('GET', `${pods('plain')}/web`)).status, 404);
  });

  it('sends the review kube-apiserver sends', async () => {
    await configure('Validating', 'look', { name: 'look.example.com', clientConfig: at('/look') });
    assert.equal((await send('POST', `${pods('plain')}?dryRun=All`, pod('seen', { app: 'web' }))).status, 201);
    const [received] = server.received;
    assert.ok(received);
    assert.match(received.path, /^\/look\?timeout=10s$/);
    const { request } = received;
    assert.match(request.uid, /^[0-9a-f-]{36}$/);
    assert.deepEqual(
      [request.operation, request.kind, request.resource, request.requestKind, request.requestResource, request.name, request.namespace, request.dryRun],
      [
        'CREATE',
        { group: '', version: 'v1', kind: 'Pod' },
        { group: '', version: 'v1', resource: 'pods' },
        { group: '', version: 'v1', kind: 'Pod' },
        { group: '', version: 'v1', resource: 'pods' },
        'seen',
        'plain',
        true,
      ],
    );
    assert.equal(request.userInfo.username, 'test-admin');
    assert.deepEqual(request.options, { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1', dryRun: ['All'] });
    assert.deepEqual([request.object?.kind, request.object?.metadata.labels, request.oldObject], ['Pod', { app: 'web' }, null]);
  });

  it('applies the mutating webhooks’ JSON patches in order, each seeing the one before, then validates the result', async () => {
    answers.set('/first', () => jsonPatchAnswer([{ op: 'add', path: '/metadata/labels/injected', value: 'yes' }], { warnings: ['sidecar added'] }));
    answers.set('/second', (request) =>
      jsonPatchAnswer([{ op: 'add', path: '/metadata/annotations', value: { saw: String(request.object?.metadata.labels?.injected) } }]),
    );
    // Name order of the configurations, not the order they were made in.
    await configure('Mutating', 'b-second', { name: 'second.example.com', clientConfig: at('/second') });
    await configure('Mutating', 'a-first', { name: 'first.example.com', clientConfig: at('/first') });
    const created = await send('POST', pods('plain'), pod('mutated'));
    assert.equal(created.status, 201, created.text);
    const metadata = created.json?.metadata as { labels: Record<string, string>; annotations: Record<string, string> };
    assert.deepEqual([metadata.labels.injected, metadata.annotations.saw], ['yes', 'yes']);
    assert.equal(created.headers.warning, '299 - "sidecar added"');

    answers.set('/first', () => jsonPatchAnswer([{ op: 'replace', path: '/spec/containers/0/name', value: 'Not_A_Name' }]));
    const invalid = await send('POST', pods('plain'), pod('broken'));
    assert.equal(invalid.status, 422, invalid.text);
    assert.match(String(invalid.json?.message), /spec\.containers\[0\]\.name/);
  });

  it('calls an IfNeeded webhook once more when a later webhook changed the object', async () => {
    answers.set('/again', (request) =>
      jsonPatchAnswer([{ op: 'add', path: '/metadata/annotations', value: { saw: request.object?.metadata.labels?.injected ?? 'nothing' } }]),
    );
    answers.set('/injector', () => jsonPatchAnswer([{ op: 'add', path: '/metadata/labels/injected', value: 'yes' }]));
    await configure('Mutating', 'a-again', { name: 'again.example.com', reinvocationPolicy: 'IfNeeded', clientConfig: at('/again') });
    await configure('Mutating', 'b-injector', { name: 'injector.example.com', clientConfig: at('/injector') });
    const created = await send('POST', pods('plain'), pod('reinvoked'));
    assert.equal(created.status, 201, created.text);
    assert.equal((created.json?.metadata as { annotations?: Record<string, string> } | undefined)?.annotations?.saw, 'yes');
    assert.deepEqual(
      server.received.map((r) => r.path.split('?')[0]),
      ['/again', '/injector', '/again'],
    );
  });

  it('fails a request when a webhook cannot be called and its policy is Fail; lets it through when Ignore', async () => {
    const down = await startWebhookServer(() => ({ allowed: true }));
    const downUrl = `${down.url}/gone`;
    await down.close();
    await configure('Validating', 'down', { name: 'down.example.com', clientConfig: { url: downUrl, caBundle: server.caBundle } });
    const failed = await send('POST', pods('plain'), pod('a'));
    assert.deepEqual(
      [failed.status, failed.json?.reason, failed.json?.message],
      [
        500,
        'InternalError',
        `Internal error occurred: failed calling webhook "down.example.com": failed to call webhook: Post "${downUrl}?timeout=10s": dial tcp 127.0.0.1:${new URL(downUrl).port}: connect: connection refused`,
      ],
    );
    await send('DELETE', configurations.pop() ?? '');
    await configure('Validating', 'down-ignored', {
      name: 'down.example.com',
      failurePolicy: 'Ignore',
      clientConfig: { url: downUrl, caBundle: server.caBundle },
    });
    assert.equal((await send('POST', pods('plain'), pod('b'))).status, 201);
  });

  it('gives up on a webhook that does not answer within its timeoutSeconds', async () => {
    answers.set('/slow', () => 'hang');
    await configure('Validating', 'slow', { name: 'slow.example.com', timeoutSeconds: 1, clientConfig: at('/slow') });
    const started = Date.now();
    const failed = await send('POST', pods('plain'), pod('late'));
    assert.equal(failed.status, 500, failed.text);
    assert.match(
      String(failed.json?.message),
      /failed calling webhook "slow\.example\.com": failed to call webhook: Post ".*\/slow\?timeout=1s": context deadline exceeded$/,
    );
    assert.ok(Date.now() - started < 5000);
  });

  it('refuses a certificate the caBundle did not sign', async () => {
    await configure('Validating', 'untrusted', { name: 'untrusted.example.com', clientConfig: { url: `${server.url}/x` } });
    const failed = await send('POST', pods('plain'), pod('a'));
    assert.equal(failed.status, 500);
    assert.match(
      String(failed.json?.message),
      /failed calling webhook "untrusted\.example\.com": failed to call webhook: Post .*: tls: failed to verify certificate: x509: certificate signed by unknown authority$/,
    );
  });

  it('calls a webhook only for the namespaces and objects its selectors pick', async () => {
    answers.set('/picky', () => ({ allowed: false, status: { message: 'picked' } }));
    await configure('Validating', 'picky', {
      name: 'picky.example.com',
      clientConfig: at('/picky'),
      namespaceSelector: { matchLabels: { policy: 'strict' } },
      objectSelector: { matchExpressions: [{ key: 'exempt', operator: 'DoesNotExist' }] },
    });
    assert.equal((await send('POST', pods('plain'), pod('elsewhere'))).status, 201);
    assert.equal((await send('POST', pods('hooked'), pod('exempt', { exempt: 'true' }))).status, 201);
    assert.equal((await send('POST', pods('hooked'), pod('judged'))).status, 400);
    assert.deepEqual(
      server.received.map((r) => r.request.name),
      ['judged'],
    );
  });

  it('reaches a webhook through a ready endpoint of its Service, verified as <service>.<namespace>.svc', async () => {
    await send('POST', '/api/v1/namespaces/webhooks/services', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'hooks' },
      spec: { ports: [{ name: 'https', port: 443, targetPort: server.port }] },
    });
    await send('POST', '/api/v1/namespaces/webhooks/endpoints', {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'hooks' },
      subsets: [{ addresses: [{ ip: '127.0.0.1' }], ports: [{ name: 'https', port: server.port }] }],
    });
    answers.set('/by-service', () => ({ allowed: false, status: { message: 'reached through the Service' } }));
    await configure('Validating', 'by-service', {
      name: 'service.example.com',
      clientConfig: { service: { namespace: 'webhooks', name: 'hooks', path: '/by-service' }, caBundle: server.caBundle },
    });
    const refused = await send('POST', pods('plain'), pod('a'));
    assert.equal(refused.json?.message, 'admission webhook "service.example.com" denied the request: reached through the Service');
  });

  it('never sends requests about webhook configurations, so a broken webhook can be deleted', async () => {
    answers.set('/everything', () => ({ allowed: false, status: { message: 'no' } }));
    await configure('Validating', 'everything', {
      name: 'everything.example.com',
      rules: [{ operations: ['*'], apiGroups: ['*'], apiVersions: ['*'], resources: ['*/*'] }],
      clientConfig: at('/everything'),
    });
    assert.equal((await send('POST', pods('plain'), pod('a'))).status, 400);
    const path = configurations.pop() ?? '';
    assert.equal((await send('DELETE', path)).status, 200);
    assert.equal((await send('POST', pods('plain'), pod('a'))).status, 201);
  });
});

/** Which webhooks a request goes to: kube-apiserver's rule, scope and selector matching, and the exempt configurations. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { admissionReview, deniedError, readVerdict } from '../../../../functions/domain/admission-webhooks/admission-review.ts';
import { type MatchedRequest, ruleMatches, webhookMatches } from '../../../../functions/domain/admission-webhooks/webhook-matching.ts';
import type { AdmissionWebhook, WebhookRule } from '../../../../schemas/admission-registration.ts';
import type { KubeObject } from '../../../../schemas/meta.ts';
import { types } from '../../../../schemas/registry.ts';

const rule = (resources: string[], extra: Partial<WebhookRule> = {}): WebhookRule => ({
  operations: ['*'],
  apiGroups: ['*'],
  apiVersions: ['*'],
  resources,
  scope: '*',
  ...extra,
});
const podCreate: MatchedRequest = { operation: 'CREATE', type: types.pods, version: 'v1', namespace: 'apps' };
const podStatus: MatchedRequest = { operation: 'UPDATE', type: types.pods, version: 'v1', namespace: 'apps', subresource: 'status' };
const namespaceCreate: MatchedRequest = { operation: 'CREATE', type: types.namespaces, version: 'v1', namespace: 'team' };
const nodeUpdate: MatchedRequest = { operation: 'UPDATE', type: types.nodes, version: 'v1' };

describe('webhook rules', () => {
  const cases: [string, WebhookRule, MatchedRequest, boolean][] = [
    ['pods matches a pod', rule(['pods']), podCreate, true],
    ['pods does not match pods/status', rule(['pods']), podStatus, false],
    ['pods/status matches pods/status', rule(['pods/status']), podStatus, true],
    ['pods/* matches pods/status', rule(['pods/*']), podStatus, true],
    ['*/status matches pods/status', rule(['*/status']), podStatus, true],
    ['* matches every resource but no subresource', rule(['*']), podStatus, false],
    ['*/* matches every subresource', rule(['*/*']), podStatus, true],
    ['the operation must be listed', rule(['pods'], { operations: ['UPDATE', 'DELETE'] }), podCreate, false],
    ['the group must be listed', rule(['pods'], { apiGroups: ['apps'] }), podCreate, false],
    ['the version must be listed', rule(['pods'], { apiVersions: ['v2'] }), podCreate, false],
    ['Namespaced scope matches a namespaced object', rule(['*'], { scope: 'Namespaced' }), podCreate, true],
    ['Namespaced scope does not match a Namespace', rule(['*'], { scope: 'Namespaced' }), namespaceCreate, false],
    ['Cluster scope matches a Namespace', rule(['*'], { scope: 'Cluster' }), namespaceCreate, true],
    ['Cluster scope matches a Node', rule(['*'], { scope: 'Cluster' }), nodeUpdate, true],
    ['Cluster scope does not match a pod', rule(['*'], { scope: 'Cluster' }), podCreate, false],
  ];
  for (const [name, given, request, expected] of cases) {
    it(name, () => assert.equal(ruleMatches(given, request), expected));
  }
});

describe('webhook selectors and exemptions', () => {
  const webhook = (extra: Partial<AdmissionWebhook> = {}): AdmissionWebhook => ({
    name: 'w.example.com',
    clientConfig: { url: 'https://127.0.0.1' },
    rules: [rule(['*/*'])],
    failurePolicy: 'Fail',
    matchPolicy: 'Equivalent',
    namespaceSelector: {},
    objectSelector: {},
    timeoutSeconds: 10,
    sideEffects: 'None',
    admissionReviewVersions: ['v1'],
    ...extra,
  });
  const labelled = (labels: Record<string, string>): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', labels } });

  it('matches a namespace selector against the namespace’s labels, and skips cluster-scoped objects’ namespaces', () => {
    const hook = webhook({ namespaceSelector: { matchLabels: { team: 'a' } } });
    assert.equal(webhookMatches(hook, podCreate, { team: 'a' }), true);
    assert.equal(webhookMatches(hook, podCreate, { team: 'b' }), false);
    assert.equal(webhookMatches(hook, nodeUpdate, undefined), true);
  });

  it('matches an object selector against the new or the old object’s labels', () => {
    const hook = webhook({ objectSelector: { matchLabels: { inject: 'true' } } });
    assert.equal(webhookMatches(hook, { ...podCreate, object: labelled({ inject: 'true' }) }, {}), true);
    assert.equal(webhookMatches(hook, { ...podCreate, object: labelled({}) }, {}), false);
    assert.equal(webhookMatches(hook, { ...podCreate, operation: 'DELETE', oldObject: labelled({ inject: 'true' }) }, {}), true);
  });

  it('never matches a request about a webhook configuration', () => {
    const request: MatchedRequest = { operation: 'DELETE', type: types.validatingwebhookconfigurations, version: 'v1' };
    assert.equal(webhookMatches(webhook(), request, undefined), false);
  });
});

describe('the AdmissionReview', () => {
  it('carries a DELETE’s stored object as oldObject and its DeleteOptions', () => {
    const stored = labelledPod();
    const { uid, review } = admissionReview(
      {
        operation: 'DELETE',
        type: types.pods,
        namespace: 'apps',
        name: 'p',
        oldObject: stored,
        user: { username: 'system:serviceaccount:kube-system:replicaset-controller', groups: ['system:serviceaccounts'] },
        dryRun: false,
      },
      'fixed-uid',
    );
    assert.equal(uid, 'fixed-uid');
    assert.deepEqual(review, {
      kind: 'AdmissionReview',
      apiVersion: 'admission.k8s.io/v1',
      request: {
        uid: 'fixed-uid',
        kind: { group: '', version: 'v1', kind: 'Pod' },
        resource: { group: '', version: 'v1', resource: 'pods' },
        requestKind: { group: '', version: 'v1', kind: 'Pod' },
        requestResource: { group: '', version: 'v1', resource: 'pods' },
        name: 'p',
        namespace: 'apps',
        operation: 'DELETE',
        userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller', groups: ['system:serviceaccounts'] },
        object: null,
        oldObject: stored,
        dryRun: false,
        options: { kind: 'DeleteOptions', apiVersion: 'meta.k8s.io/v1' },
      },
    });
  });

  it('names an Eviction’s own kind for the eviction subresource', () => {
    const eviction = { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'p', namespace: 'apps' } } as KubeObject;
    const { review } = admissionReview({
      operation: 'CREATE',
      type: types.pods,
      subresource: 'eviction',
      namespace: 'apps',
      name: 'p',
      object: eviction,
      user: { username: 'u', groups: [] },
      dryRun: false,
    });
    const request = review.request as Record<string, unknown>;
    assert.deepEqual(
      [request.kind, request.subResource, request.resource],
      [{ group: 'policy', version: 'v1', kind: 'Eviction' }, 'eviction', { group: '', version: 'v1', resource: 'pods' }],
    );
  });

  it('refuses answers kube-apiserver refuses', () => {
    const answer = (response: Record<string, unknown>, apiVersion = 'admission.k8s.io/v1') => JSON.stringify({ apiVersion, kind: 'AdmissionReview', response });
    assert.throws(() => readVerdict('u1', answer({ uid: 'u2', allowed: true }), false), /expected response\.uid="u1", got "u2"/);
    assert.throws(
      () => readVerdict('u1', answer({ uid: 'u1', allowed: true }, 'admission.k8s.io/v1beta1'), false),
      /expected webhook response of admission\.k8s\.io\/v1, Kind=AdmissionReview, got admission\.k8s\.io\/v1beta1, Kind=AdmissionReview/,
    );
    assert.throws(
      () => readVerdict('u1', answer({ uid: 'u1', allowed: true, patch: 'W10=', patchType: 'JSONPatch' }), false),
      /validating webhook may not return response\.patch/,
    );
    assert.throws(
      () => readVerdict('u1', answer({ uid: 'u1', allowed: true, patch: 'W10=' }), true),
      /webhook returned response\.patch but not response\.patchType/,
    );
    assert.throws(() => readVerdict('u1', JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }), true), /webhook response was absent/);
  });

  it('words a refusal as kube-apiserver 1.32 does, 400 unless the webhook names a code of 400 or more', () => {
    const plain = deniedError('w.example.com', { message: 'no' });
    assert.deepEqual([plain.code, plain.message], [400, 'admission webhook "w.example.com" denied the request: no']);
    const silent = deniedError('w.example.com', { code: 200 });
    assert.deepEqual([silent.code, silent.message], [400, 'admission webhook "w.example.com" denied the request without explanation']);
    const coded = deniedError('w.example.com', { code: 429, reason: 'TooManyRequests' });
    assert.deepEqual(
      [coded.code, coded.reason, coded.message],
      [429, 'TooManyRequests', 'admission webhook "w.example.com" denied the request: TooManyRequests'],
    );
  });
});

function labelledPod(): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'apps', labels: { app: 'web' } } };
}

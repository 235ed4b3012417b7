/**
 * The control loops' writes through the admission webhooks, over the memory store and a real
 * HTTPS webhook server: a ReplicaSet's pods are mutated and refused as an API client's are, each
 * controller is its own service account, and a refusal is returned (a FailedCreate event), not thrown.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import type { Controller } from '../../../../functions/controller-runtime/controller.ts';
import { handleStreamEvent } from '../../../../functions/controller-runtime/run-controllers.ts';
import { createWebhookAdmission, type WebhookAdmission } from '../../../../functions/domain/admission-webhooks/webhook-admission.ts';
import { createAdmission } from '../../../../functions/domain/object-admission/admission.ts';
import type { KubeObject } from '../../../../schemas/meta.ts';
import { types } from '../../../../schemas/registry.ts';
import { type MemoryCluster, memoryCluster } from '../../../support/memory-cluster.ts';
import { jsonPatchAnswer, startWebhookServer, type WebhookServer } from '../../../support/webhook-server.ts';

let server: WebhookServer;
let world: MemoryCluster;
let webhooks: WebhookAdmission;

const pod = (name: string, labels: Record<string, string> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'apps', labels },
  spec: { containers: [{ name: 'app', image: 'app:1' }] },
});

before(async () => {
  server = await startWebhookServer((request) => {
    if (request.object?.metadata?.labels?.refuse === 'true') return { allowed: false, status: { message: 'refused by label' } };
    return jsonPatchAnswer([{ op: 'add', path: '/metadata/labels/injected', value: 'yes' }]);
  });
});
after(() => server.close());
beforeEach(async () => {
  world = await memoryCluster();
  await world.namespace('apps');
  webhooks = createWebhookAdmission({ store: world.store });
  await world.raw.create(types.mutatingwebhookconfigurations, {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: 'injector' },
    webhooks: [
      {
        name: 'inject.example.com',
        clientConfig: { url: `${server.url}/mutate`, caBundle: server.caBundle },
        rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: '*' }],
        failurePolicy: 'Fail',
        matchPolicy: 'Equivalent',
        namespaceSelector: {},
        objectSelector: {},
        sideEffects: 'None',
        timeoutSeconds: 10,
        admissionReviewVersions: ['v1'],
        reinvocationPolicy: 'Never',
      },
    ],
  } as unknown as KubeObject);
});
afterEach(() => {
  server.received.length = 0;
  world.close();
});

describe('webhooks on the control loops’ writes', () => {
  it('mutates the pods a controller creates and returns the ones a webhook refuses', async () => {
    const admission = createAdmission({ store: world.store, webhooks }).forUser({
      username: 'system:serviceaccount:kube-system:replicaset-controller',
      groups: [],
    });
    const { created, refused } = await admission.createAll(types.pods, [pod('kept'), pod('turned-away', { refuse: 'true' })]);
    assert.deepEqual(
      created.map((p) => [p.metadata.name, p.metadata.labels?.injected]),
      [['kept', 'yes']],
    );
    assert.deepEqual(
      refused.map((r) => [r.object.metadata.name, r.error.code, r.error.message]),
      [['turned-away', 400, 'admission webhook "inject.example.com" denied the request: refused by label']],
    );
    assert.equal((await world.raw.get(types.pods, 'apps', 'kept')).metadata.labels?.injected, 'yes');
  });

  it('calls no webhook for writes made without a user (the bootstrap objects)', async () => {
    await createAdmission({ store: world.store, webhooks }).create(types.pods, pod('bootstrap'));
    assert.equal(server.received.length, 0);
  });

  it('sends each controller’s writes as its service account in kube-system', async () => {
    const creator: Controller = {
      name: 'replicaset-controller',
      resyncTypes: [],
      keysFor: (change) => [{ typeId: change.typeId, namespace: change.namespace, name: change.name }],
      async reconcile(key, ctx) {
        await ctx.admission.create(types.pods, pod(`${key.name}-child`));
        return undefined;
      },
    };
    const result = await handleStreamEvent(
      { Records: [{ eventID: '1', dynamodb: { SequenceNumber: '1' } }] },
      { store: world.store, controllers: [creator], parseRecord: () => ({ typeId: types.replicasets.id, namespace: 'apps', name: 'web' }) },
    );
    assert.deepEqual(result.batchItemFailures, []);
    assert.deepEqual(
      server.received.map((r) => [r.request.name, r.request.userInfo.username, r.request.userInfo.groups]),
      [
        [
          'web-child',
          'system:serviceaccount:kube-system:replicaset-controller',
          ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'],
        ],
      ],
    );
  });
});

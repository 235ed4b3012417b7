/**
 * Admission webhooks with the real kubectl (docs/adr/207): a MutatingWebhookConfiguration and a
 * ValidatingWebhookConfiguration applied from YAML, pointing at a webhook server on loopback
 * (HTTPS, a CA made for the test); `kubectl run` refused with kube-apiserver's message; a
 * Deployment's pods labelled by the mutating webhook on the controllers' path, and a pod the
 * validating webhook refuses there a FailedCreate event of its ReplicaSet.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestCluster, type TestCluster } from '../support/cluster.ts';
import { waitFor } from '../support/wait.ts';
import { jsonPatchAnswer, startWebhookServer, type WebhookServer } from '../support/webhook-server.ts';

const namespace = 'hooked';

function configurations(server: WebhookServer): string {
  const common = `    clientConfig:
      url: ${server.url}/PATH
      caBundle: ${server.caBundle}
    rules:
      - operations: ["CREATE"]
        apiGroups: [""]
        apiVersions: ["v1"]
        resources: ["pods"]
    namespaceSelector:
      matchLabels:
        webhooks: "on"
    sideEffects: None
    admissionReviewVersions: ["v1"]`;
  return `apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata:
  name: label-injector
webhooks:
  - name: inject.skiff.example.com
${common.replace('PATH', 'mutate')}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: no-forbidden-images
webhooks:
  - name: images.skiff.example.com
    failurePolicy: Fail
${common.replace('PATH', 'validate')}
`;
}

describe('admission webhooks with kubectl', () => {
  let cluster: TestCluster;
  let server: WebhookServer;

  before(async () => {
    server = await startWebhookServer((request, path) => {
      if (path.startsWith('/mutate')) return jsonPatchAnswer([{ op: 'add', path: '/metadata/labels/injected-by', value: 'webhook' }]);
      const images = ((request.object?.spec?.containers ?? []) as { image: string }[]).map((container) => container.image);
      const forbidden = images.find((image) => image.startsWith('forbidden/'));
      return forbidden
        ? { allowed: false, status: { message: `image ${forbidden} is not allowed` } }
        : { allowed: true, warnings: ['checked by images.skiff.example.com'] };
    });
    cluster = await startTestCluster({ nodes: 0 });
  });
  after(async () => {
    await cluster?.stop();
    await server?.close();
  });

  it('serves, prints and applies both configurations', async () => {
    await cluster.kubectlOk(['create', 'namespace', namespace]);
    await cluster.kubectlOk(['label', 'namespace', namespace, 'webhooks=on']);
    const applied = await cluster.kubectlOk(['apply', '-f', '-'], { input: configurations(server) });
    assert.equal(
      applied.trim(),
      'mutatingwebhookconfiguration.admissionregistration.k8s.io/label-injector created\nvalidatingwebhookconfiguration.admissionregistration.k8s.io/no-forbidden-images created',
    );
    const listed = await cluster.kubectlOk(['get', 'validatingwebhookconfigurations,mutatingwebhookconfigurations']);
    assert.match(listed, /^NAME\s+WEBHOOKS\s+AGE\n.*no-forbidden-images\s+1\s+/m);
    assert.match(listed, /label-injector\s+1\s+/);
    const explained = await cluster.kubectlOk(['explain', 'validatingwebhookconfigurations.webhooks.sideEffects']);
    assert.match(explained, /GROUP:\s+admissionregistration\.k8s\.io/);
    assert.match(explained, /None or NoneOnDryRun; required\./);
  });

  it('refuses kubectl run with the webhook’s message, and labels the pod it lets through', async () => {
    const refused = await cluster.kubectl(['run', 'bad', '-n', namespace, '--image=forbidden/miner:1']);
    assert.equal(refused.code, 1);
    assert.equal(
      refused.stderr.trim(),
      'Error from server: admission webhook "images.skiff.example.com" denied the request: image forbidden/miner:1 is not allowed',
    );
    const admitted = await cluster.kubectl(['run', 'good', '-n', namespace, '--image=registry.example/app:1']);
    assert.deepEqual([admitted.code, admitted.stdout.trim()], [0, 'pod/good created']);
    assert.match(admitted.stderr, /Warning: checked by images\.skiff\.example\.com/);
    assert.equal(await cluster.kubectlOk(['get', 'pod', 'good', '-n', namespace, '-o', 'jsonpath={.metadata.labels.injected-by}']), 'webhook');
  });

  it('labels the pods a Deployment’s ReplicaSet makes, and turns the refused ones into FailedCreate events', async () => {
    await cluster.kubectlOk(['create', 'deployment', 'web', '-n', namespace, '--image=registry.example/web:1', '--replicas=2']);
    const labelled = await waitFor('the Deployment’s two pods, labelled by the webhook', async () => {
      const names = (await cluster.kubectlOk(['get', 'pods', '-n', namespace, '-l', 'app=web,injected-by=webhook', '-o', 'name'])).trim();
      return names.split('\n').filter(Boolean).length === 2 ? names : undefined;
    });
    assert.match(labelled, /^pod\/web-/);
    const requester = server.received.find(
      (review) => review.request.name?.startsWith('web-') || review.request.object?.metadata?.generateName?.startsWith('web-'),
    );
    assert.equal(requester?.request.userInfo.username, 'system:serviceaccount:kube-system:replicaset-controller');

    await cluster.kubectlOk(['create', 'deployment', 'miner', '-n', namespace, '--image=forbidden/miner:1']);
    const event = await waitFor('the ReplicaSet’s FailedCreate event', async () => {
      const messages = await cluster.kubectlOk([
        'get',
        'events',
        '-n',
        namespace,
        '--field-selector',
        'reason=FailedCreate',
        '-o',
        'jsonpath={range .items[*]}{.involvedObject.kind}:{.message}{"\\n"}{end}',
      ]);
      return messages.split('\n').find((line) => line.includes('forbidden/miner'));
    });
    assert.match(
      event,
      /^ReplicaSet:Error creating: admission webhook "images\.skiff\.example\.com" denied the request: image forbidden\/miner:1 is not allowed$/,
    );
  });

  it('deletes the configurations, after which nothing is called', async () => {
    await cluster.kubectlOk(['delete', 'mutatingwebhookconfiguration', 'label-injector']);
    await cluster.kubectlOk(['delete', 'validatingwebhookconfiguration', 'no-forbidden-images']);
    const calls = server.received.length;
    assert.equal((await cluster.kubectl(['run', 'after', '-n', namespace, '--image=forbidden/miner:1'])).code, 0);
    assert.equal(server.received.length, calls);
  });
});

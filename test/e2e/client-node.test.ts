/**
 * The official JavaScript client (@kubernetes/client-node) against a local cluster: create,
 * list by label, patch, watch and delete.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { startTestCluster, type TestCluster } from '../support/cluster.ts';
import { waitFor } from '../support/wait.ts';

describe('@kubernetes/client-node against Skiff', () => {
  let cluster: TestCluster;
  let config: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  let apps: k8s.AppsV1Api;

  before(async () => {
    cluster = await startTestCluster({ nodes: 0 });
    config = new k8s.KubeConfig();
    config.loadFromFile(cluster.local.kubeconfigPath);
    core = config.makeApiClient(k8s.CoreV1Api);
    apps = config.makeApiClient(k8s.AppsV1Api);
    await core.createNamespace({ body: { metadata: { name: 'client' } } });
  });
  after(async () => {
    await cluster?.stop();
  });

  it('creates, lists with a label selector, patches, watches and deletes', async () => {
    const events: { phase: string; name: string; color?: string }[] = [];
    const watch = new k8s.Watch(config);
    // The test's own ConfigMaps (the namespace also gets kube-root-ca.crt, as in Kubernetes).
    const list = await core.listNamespacedConfigMap({ namespace: 'client', labelSelector: 'team' });
    const controller = await watch.watch(
      '/api/v1/namespaces/client/configmaps',
      { resourceVersion: list.metadata?.resourceVersion, labelSelector: 'team' },
      (phase, object: k8s.V1ConfigMap) => events.push({ phase, name: object.metadata!.name!, ...(object.data?.color ? { color: object.data.color } : {}) }),
      () => {},
    );
    try {
      await core.createNamespacedConfigMap({ namespace: 'client', body: { metadata: { name: 'red', labels: { team: 'a' } }, data: { color: 'red' } } });
      await core.createNamespacedConfigMap({ namespace: 'client', body: { metadata: { name: 'blue', labels: { team: 'b' } }, data: { color: 'blue' } } });

      const teamA = await core.listNamespacedConfigMap({ namespace: 'client', labelSelector: 'team=a' });
      assert.deepEqual(
        teamA.items.map((c) => c.metadata?.name),
        ['red'],
      );

      const patched = await core.patchNamespacedConfigMap(
        { name: 'red', namespace: 'client', body: { data: { color: 'crimson' } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
      assert.equal(patched.data?.color, 'crimson');

      const deployment = await apps.createNamespacedDeployment({
        namespace: 'client',
        body: {
          metadata: { name: 'api' },
          spec: {
            selector: { matchLabels: { app: 'api' } },
            template: { metadata: { labels: { app: 'api' } }, spec: { containers: [{ name: 'api', image: 'httpd' }] } },
          },
        },
      });
      assert.equal(deployment.spec?.replicas, 1);
      const scaled = await apps.patchNamespacedDeployment(
        { name: 'api', namespace: 'client', body: { spec: { template: { spec: { containers: [{ name: 'api', image: 'httpd:2.4' }] } } } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
      );
      assert.equal(scaled.spec?.template.spec?.containers[0]?.image, 'httpd:2.4');
      assert.equal(scaled.spec?.template.spec?.containers.length, 1);

      await core.deleteNamespacedConfigMap({ name: 'blue', namespace: 'client' });
      await assert.rejects(core.readNamespacedConfigMap({ name: 'blue', namespace: 'client' }), (error: { code?: number }) => error.code === 404);

      await waitFor('the watch to see every change', () => events.length >= 4);
      assert.deepEqual(events, [
        { phase: 'ADDED', name: 'red', color: 'red' },
        { phase: 'ADDED', name: 'blue', color: 'blue' },
        { phase: 'MODIFIED', name: 'red', color: 'crimson' },
        { phase: 'DELETED', name: 'blue', color: 'blue' },
      ]);
    } finally {
      controller.abort();
    }
  });

  it('gets a 409 for a stale resourceVersion and a 422 with causes for an invalid object', async () => {
    const created = await core.createNamespacedConfigMap({ namespace: 'client', body: { metadata: { name: 'versioned' }, data: { n: '1' } } });
    await core.replaceNamespacedConfigMap({ name: 'versioned', namespace: 'client', body: { ...created, data: { n: '2' } } });
    await assert.rejects(
      core.replaceNamespacedConfigMap({ name: 'versioned', namespace: 'client', body: { ...created, data: { n: '3' } } }),
      (error: { code?: number; body?: string }) => error.code === 409 && JSON.parse(error.body ?? '{}').reason === 'Conflict',
    );
    await assert.rejects(
      apps.createNamespacedDeployment({
        namespace: 'client',
        body: {
          metadata: { name: 'Bad_Name' },
          spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [] } } },
        },
      }),
      (error: { code?: number; body?: string }) => {
        const status = JSON.parse(error.body ?? '{}') as { reason?: string; details?: { causes?: { field?: string }[] } };
        const fields = status.details?.causes?.map((c) => c.field) ?? [];
        return (
          error.code === 422 &&
          status.reason === 'Invalid' &&
          fields.includes('metadata.name') &&
          fields.some((f) => f?.startsWith('spec.template.spec.containers'))
        );
      },
    );
  });
});

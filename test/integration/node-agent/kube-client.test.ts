/**
 * The agent's Kubernetes client against the real local API server (HTTPS with the cluster CA,
 * bearer token from the kubeconfig): verbs, patch types, errors, and list+watch resuming after
 * the server ends a watch.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isAlreadyExists, isConflict, isNotFound, KubeApiError, KubeClient, type WatchEvent } from '../../../node-agent/kube-client.ts';
import { loadKubeconfig, parseKubeconfig } from '../../../node-agent/kubeconfig.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import { startTestCluster, type TestCluster } from '../../support/cluster.ts';
import { waitFor } from '../../support/wait.ts';

type ConfigMap = KubeObject & { data?: Record<string, string> };

describe('KubeClient against the local API server', () => {
  let cluster: TestCluster;
  let client: KubeClient;

  before(async () => {
    cluster = await startTestCluster({ nodes: 0 });
    client = new KubeClient(loadKubeconfig(cluster.local.kubeconfigPath));
  });

  after(async () => {
    client?.close();
    await cluster?.stop();
  });

  const configMap = (name: string, data: Record<string, string>, labels: Record<string, string> = {}): ConfigMap => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: 'default', labels },
    data,
  });

  it('creates, gets, lists by label, updates and deletes, with typed errors', async () => {
    const created = await client.create(types.configmaps, configMap('one', { a: '1' }, { team: 'x' }));
    await client.create(types.configmaps, configMap('two', { a: '2' }, { team: 'y' }));
    await assert.rejects(client.create(types.configmaps, configMap('one', {})), (error: unknown) => isAlreadyExists(error));
    const fetched = await client.get<ConfigMap>(types.configmaps, 'default', 'one');
    assert.deepEqual(fetched.data, { a: '1' });
    const listed = await client.list<ConfigMap>(types.configmaps, { namespace: 'default', labelSelector: 'team=x' });
    assert.deepEqual(
      listed.items.map((item) => item.metadata.name),
      ['one'],
    );
    assert.ok(listed.metadata.resourceVersion);
    const updated = await client.update(types.configmaps, { ...fetched, data: { a: 'changed' } });
    assert.notEqual(updated.metadata.resourceVersion, created.metadata.resourceVersion);
    await assert.rejects(client.update(types.configmaps, { ...fetched, data: { a: 'stale' } }), (error: unknown) => isConflict(error));
    await client.delete(types.configmaps, 'default', 'one');
    await assert.rejects(client.get(types.configmaps, 'default', 'one'), (error: unknown) => isNotFound(error));
  });

  it('sends merge, strategic merge and JSON patches', async () => {
    await client.create(types.configmaps, configMap('patched', { a: '1' }));
    await client.patch(types.configmaps, 'default', 'patched', 'merge', { data: { b: '2' } });
    await client.patch(types.configmaps, 'default', 'patched', 'strategic', { data: { c: '3' } });
    const after = await client.patch<ConfigMap>(types.configmaps, 'default', 'patched', 'json', [{ op: 'remove', path: '/data/a' }]);
    assert.deepEqual(after.data, { b: '2', c: '3' });
  });

  it('turns an invalid object into a KubeApiError with the server status', async () => {
    await assert.rejects(client.create(types.configmaps, configMap('Not_Valid', {})), (error: unknown) => {
      assert.ok(error instanceof KubeApiError);
      assert.equal(error.code, 422);
      assert.equal(error.reason, 'Invalid');
      return true;
    });
  });

  it('lists, then keeps watching across server-ended watches from the last resourceVersion', async () => {
    const abort = new AbortController();
    const lists: string[][] = [];
    const events: WatchEvent[] = [];
    await client.create(types.configmaps, configMap('w-0', {}, { watch: 'me' }));
    const loop = client.listAndWatch(
      types.configmaps,
      { namespace: 'default', labelSelector: 'watch=me', timeoutSeconds: 1 },
      {
        onList: (items) => lists.push(items.map((item) => item.metadata.name ?? '')),
        onEvent: (event) => events.push(event),
      },
      abort.signal,
    );
    try {
      await waitFor('first list', () => lists.length === 1);
      assert.deepEqual(lists[0], ['w-0']);
      await client.create(types.configmaps, configMap('w-1', {}, { watch: 'me' }));
      // Outlive at least one server-side watch timeout before the next change.
      await waitFor('w-1 added', () => events.some((e) => e.type === 'ADDED' && e.object.metadata.name === 'w-1'));
      const started = Date.now();
      await waitFor('a watch timeout to pass', () => Date.now() - started > 2500, { intervalMs: 250 });
      await client.patch(types.configmaps, 'default', 'w-1', 'merge', { data: { x: '1' } });
      await client.delete(types.configmaps, 'default', 'w-0');
      await waitFor('modified and deleted', () => events.some((e) => e.type === 'DELETED' && e.object.metadata.name === 'w-0'));
      assert.deepEqual(
        events.map((e) => `${e.type} ${e.object.metadata.name}`),
        ['ADDED w-1', 'MODIFIED w-1', 'DELETED w-0'],
      );
      assert.equal(lists.length, 1, 'resumed without relisting');
    } finally {
      abort.abort();
      await loop;
    }
  });

  it('refuses to talk to a server whose certificate the kubeconfig CA did not sign', async () => {
    const credentials = parseKubeconfig(
      JSON.stringify({
        'current-context': 'c',
        clusters: [{ name: 'k', cluster: { server: cluster.local.server } }],
        users: [{ name: 'u', user: { token: cluster.local.adminToken } }],
        contexts: [{ name: 'c', context: { cluster: 'k', user: 'u' } }],
      }),
    );
    const untrusting = new KubeClient(credentials);
    try {
      await assert.rejects(untrusting.list(types.configmaps, { namespace: 'default' }), /self[- ]signed|unable to verify|certificate/i);
    } finally {
      untrusting.close();
    }
  });
});

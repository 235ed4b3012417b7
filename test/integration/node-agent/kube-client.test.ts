/**
 * The agent's Kubernetes client against the real local API server (HTTPS with the cluster CA,
 * bearer token from the kubeconfig): verbs, patch types, errors, and list+watch resuming after
 * the server ends a watch.
 */
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { isAlreadyExists, isConflict, isNotFound, KubeApiError, KubeClient, KubeTimeoutError, type WatchEvent } from '../../../node-agent/kube-client.ts';
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

describe('KubeClient deadlines and retries', () => {
  /** A server that answers each request by the script, recording what it got. */
  async function scriptedServer(answer: (method: string, count: number, response: ServerResponse) => void) {
    const seen: string[] = [];
    const server = createServer((request, response) => {
      seen.push(request.method ?? '');
      request.resume();
      answer(request.method ?? '', seen.filter((method) => method === request.method).length, response);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return {
      seen,
      client: new KubeClient({ server: `http://127.0.0.1:${port}` }, 'test', { requestMs: 300, attempts: 3 }),
      close: () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    };
  }

  const status = (code: number) =>
    JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason: 'ServiceUnavailable', message: 'try again' });

  it('retries a read that got no answer in time, or a 503, and returns the answer that came', async () => {
    const server = await scriptedServer((_method, count, response) => {
      if (count === 1) return; // never answered
      if (count === 2) {
        response.writeHead(503, { 'content-type': 'application/json' }).end(status(503));
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ metadata: { name: 'n1' } }));
    });
    try {
      const node = await server.client.get(types.nodes, undefined, 'n1');
      assert.equal(node.metadata.name, 'n1');
      assert.deepEqual(server.seen, ['GET', 'GET', 'GET']);
    } finally {
      server.client.close();
      await server.close();
    }
  });

  it('does not repeat a create that may have been received, and says it timed out', async () => {
    const server = await scriptedServer(() => {});
    try {
      await assert.rejects(
        server.client.create(types.configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'once', namespace: 'default' } }),
        KubeTimeoutError,
      );
      assert.deepEqual(server.seen, ['POST']);
    } finally {
      server.client.close();
      await server.close();
    }
  });

  it('repeats a conditional update, and gives up after the attempts with the last error', async () => {
    const server = await scriptedServer((_method, _count, response) => {
      response.writeHead(503, { 'content-type': 'application/json' }).end(status(503));
    });
    try {
      await assert.rejects(
        server.client.update(types.configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'default', resourceVersion: '7' } }),
        (error: unknown) => error instanceof KubeApiError && error.code === 503,
      );
      assert.deepEqual(server.seen, ['PUT', 'PUT', 'PUT']);
    } finally {
      server.client.close();
      await server.close();
    }
  });
});

describe('KubeClient behind a server URL with a path', () => {
  it('keeps the path (an API Gateway stage) in front of every request', async () => {
    const paths: string[] = [];
    const server = createServer((request, response) => {
      paths.push(request.url ?? '');
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'default', resourceVersion: '1' } }));
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const client = new KubeClient({ server: `http://127.0.0.1:${(server.address() as AddressInfo).port}/cluster/` });
    try {
      await client.get(types.configmaps, 'default', 'x');
      await client.list(types.configmaps, { namespace: 'default', labelSelector: 'a=b' });
      await client.patch(types.configmaps, 'default', 'x', 'merge', { data: {} });
    } finally {
      client.close();
      await new Promise<void>((done) => server.close(() => done()));
    }
    assert.deepEqual(paths, [
      '/cluster/api/v1/namespaces/default/configmaps/x',
      '/cluster/api/v1/namespaces/default/configmaps?labelSelector=a%3Db',
      '/cluster/api/v1/namespaces/default/configmaps/x',
    ]);
  });
});

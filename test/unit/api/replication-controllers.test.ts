/**
 * ReplicationController over the memory store: kube-apiserver's defaults and validation, the
 * Table columns, the scale subresource with its label-map selector, and the controller (the
 * ReplicaSet's loop) creating and removing pods it owns.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { ApiHandler, ApiResponse } from '../../../functions/api/http.ts';
import { replicationControllerManager } from '../../../functions/controllers/replicaset/replicaset-controller.ts';
import { types } from '../../../schemas/registry.ts';
import { adminApi } from '../../support/api-calls.ts';
import { type MemoryCluster, memoryCluster } from '../../support/memory-cluster.ts';

let world: MemoryCluster;
let api: ApiHandler;

function call(path: string, options: { method?: string; body?: unknown; accept?: string; contentType?: string } = {}): Promise<ApiResponse> {
  const url = new URL(path, 'https://server');
  return api({
    method: options.method ?? 'GET',
    path: url.pathname,
    query: url.searchParams,
    headers: {
      authorization: 'Bearer admin-token',
      'user-agent': 'kubectl/v1.32.0',
      ...(options.body !== undefined ? { 'content-type': options.contentType ?? 'application/json' } : {}),
      ...(options.accept ? { accept: options.accept } : {}),
    },
    body: options.body === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(options.body)),
    signal: new AbortController().signal,
    requestId: 'test',
  });
}

const json = (response: ApiResponse): Record<string, any> => JSON.parse(String(response.body));
const controllers = '/api/v1/namespaces/apps/replicationcontrollers';
const rc = (name: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'ReplicationController',
  metadata: { name },
  spec: { replicas: 2, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'web', image: 'nginx' }] } }, ...spec },
});

beforeEach(async () => {
  world = await memoryCluster();
  await world.namespace('apps');
  api = adminApi({
    store: world.store,
  });
});
afterEach(() => world.close());

describe('the ReplicationController kind', () => {
  it('takes its selector and labels from the template, as SetDefaults_ReplicationController', async () => {
    const response = await call(controllers, { method: 'POST', body: rc('web', { replicas: undefined }) });
    assert.equal(response.status, 201, String(response.body));
    const created = json(response);
    assert.deepEqual(
      [created.spec.selector, created.metadata.labels, created.spec.replicas, created.spec.template.spec.restartPolicy, created.status],
      [{ app: 'web' }, { app: 'web' }, 1, 'Always', { replicas: 0 }],
    );
  });

  const refusals = [
    {
      name: 'a selector the template labels do not match',
      spec: { selector: { app: 'other' } },
      field: 'spec.template.metadata.labels',
      message: 'Invalid value: map[string]string{"app":"mismatch"}: `selector` does not match template `labels`',
    },
    {
      name: 'a restart policy other than Always',
      spec: { template: { metadata: { labels: { app: 'mismatch' } }, spec: { restartPolicy: 'Never', containers: [{ name: 'web', image: 'nginx' }] } } },
      field: 'spec.template.spec.restartPolicy',
      message: 'Unsupported value: "Never": supported values: "Always"',
    },
    { name: 'negative replicas', spec: { replicas: -1 }, field: 'spec.replicas', message: 'Invalid value: -1: must be greater than or equal to 0' },
  ];
  for (const refusal of refusals) {
    it(`refuses ${refusal.name} with 422`, async () => {
      const response = await call(controllers, { method: 'POST', body: rc('mismatch', refusal.spec) });
      assert.equal(response.status, 422, String(response.body));
      const causes = json(response).details.causes.map((c: { field: string; message: string }) => [c.field, c.message]);
      assert.deepEqual(causes, [[refusal.field, refusal.message]]);
    });
  }

  it('prints kube-apiserver’s columns and serves its scale with the selector as a string', async () => {
    await call(controllers, { method: 'POST', body: rc('web') });
    const table = json(await call(`${controllers}/web`, { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' }));
    assert.deepEqual(
      table.columnDefinitions.map((c: { name: string; priority: number }) => `${c.name}/${c.priority}`),
      ['Name/0', 'Desired/0', 'Current/0', 'Ready/0', 'Age/0', 'Containers/1', 'Images/1', 'Selector/1'],
    );
    const cells = table.rows[0].cells;
    assert.deepEqual([cells[0], cells[1], cells[2], cells[3], cells[5], cells[6], cells[7]], ['web', 2, 0, 0, 'web', 'nginx', 'app=web']);
    const scaled = await call(`${controllers}/web/scale`, { method: 'PATCH', body: { spec: { replicas: 5 } }, contentType: 'application/merge-patch+json' });
    assert.equal(scaled.status, 200, String(scaled.body));
    assert.deepEqual([json(scaled).spec.replicas, json(scaled).status.selector], [5, 'app=web']);
  });
});

describe('the ReplicationController manager', () => {
  it('creates the pods it owns, then removes the extra ones when scaled down', async () => {
    await call(controllers, { method: 'POST', body: rc('web', { replicas: 3 }) });
    const key = { typeId: types.replicationcontrollers.id, namespace: 'apps', name: 'web' };
    await replicationControllerManager.reconcile(key, world.controllerContext());
    const pods = (await world.raw.list(types.pods, { namespace: 'apps' })).items;
    assert.equal(pods.length, 3);
    const stored = await world.raw.get(types.replicationcontrollers, 'apps', 'web');
    for (const pod of pods) {
      assert.deepEqual(pod.metadata.ownerReferences, [
        { apiVersion: 'v1', kind: 'ReplicationController', name: 'web', uid: stored.metadata.uid, controller: true, blockOwnerDeletion: true },
      ]);
      assert.deepEqual(pod.metadata.labels, { app: 'web' });
    }
    // The pods' creation brings the key back: the status counts them.
    await replicationControllerManager.reconcile(key, world.controllerContext());
    assert.equal(((await world.raw.get(types.replicationcontrollers, 'apps', 'web')).status as { replicas?: number }).replicas, 3);
    // A pod change names its controller's key.
    assert.deepEqual(
      replicationControllerManager.keysFor({ typeId: types.pods.id, namespace: 'apps', name: pods[0]?.metadata.name ?? '', newObject: pods[0] }),
      [key],
    );

    await call(`${controllers}/web/scale`, { method: 'PATCH', body: { spec: { replicas: 1 } }, contentType: 'application/merge-patch+json' });
    await replicationControllerManager.reconcile(key, world.controllerContext());
    const left = (await world.raw.list(types.pods, { namespace: 'apps' })).items.filter((p) => !p.metadata.deletionTimestamp);
    assert.equal(left.length, 1);
  });
});

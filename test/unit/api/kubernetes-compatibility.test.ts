/**
 * What kube-apiserver does that Kubernetes' own kubectl tests and the official clients rely on,
 * over the memory store: boolean query parameters, status objects, unconditional updates,
 * deletion of what has no grace period, Table rows.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { ApiHandler } from '../../../functions/api/http.ts';
import { optionalQueryFlag, wantsPrettyOutput } from '../../../functions/core/query-flags.ts';
import { adminApi, apiCaller, responseJson } from '../../support/api-calls.ts';
import { type MemoryCluster, memoryCluster } from '../../support/memory-cluster.ts';

let world: MemoryCluster;
let api: ApiHandler;
const call = apiCaller(() => api, 'OpenAPI-Generator/22.6.0/python');
const json = responseJson;

const configMaps = '/api/v1/namespaces/apps/configmaps';
const configMap = (name: string, data: Record<string, string> = {}) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data });

beforeEach(async () => {
  world = await memoryCluster({ settings: { defaultTolerationSeconds: 300 } });
  await world.namespace('apps');
  api = adminApi({
    store: world.store,
    admissionSettings: { defaultTolerationSeconds: 300 },
  });
});
afterEach(() => world.close());

describe('boolean query parameters, as apimachinery converts them', () => {
  const cases: [string | null, boolean | undefined][] = [
    [null, undefined],
    ['true', true],
    ['True', true],
    ['TRUE', true],
    ['1', true],
    ['t', true],
    ['', true],
    ['yes', true],
    ['false', false],
    ['False', false],
    ['FALSE', false],
    ['0', false],
  ];
  for (const [value, expected] of cases) {
    it(`reads ${value === null ? 'an absent parameter' : JSON.stringify(value)} as ${expected}`, () => {
      const query = new URLSearchParams(value === null ? '' : `watch=${encodeURIComponent(value)}`);
      assert.equal(optionalQueryFlag(query, 'watch'), expected);
    });
  }

  it('reads pretty as strconv.ParseBool does, an unknown value as false', () => {
    const pretty = (value: string) => wantsPrettyOutput(new URLSearchParams({ pretty: value }));
    assert.deepEqual(['1', 't', 'T', 'TRUE', 'true', 'True'].map(pretty), [true, true, true, true, true, true]);
    assert.deepEqual(['0', 'f', 'False', 'yes', ''].map(pretty), [false, false, false, false, false]);
  });

  it('watches with the Python client’s ?watch=True&allowWatchBookmarks=True: ADDED, MODIFIED and DELETED events, not a list', async () => {
    await call(configMaps, { method: 'POST', body: configMap('before') });
    const listed = json(await call(configMaps));
    const abort = new AbortController();
    const response = await call(`${configMaps}?allowWatchBookmarks=True&resourceVersion=${listed.metadata.resourceVersion}&watch=True`, {
      signal: abort.signal,
    });
    assert.equal(response.status, 200);
    assert.ok(response.stream, 'a watch streams');
    const lines = response.stream[Symbol.asyncIterator]();
    await call(configMaps, { method: 'POST', body: configMap('c1') });
    await call(`${configMaps}/c1`, { method: 'PATCH', body: { data: { a: 'b' } }, contentType: 'application/merge-patch+json' });
    await call(`${configMaps}/c1`, { method: 'DELETE' });
    const events: string[] = [];
    while (events.length < 3) {
      const event = JSON.parse(String((await lines.next()).value));
      if (event.type !== 'BOOKMARK') events.push(`${event.type} ${event.object.metadata.name}`);
    }
    abort.abort();
    assert.deepEqual(events, ['ADDED c1', 'MODIFIED c1', 'DELETED c1']);
  });

  it('lists with ?watch=False and ?watch=0', async () => {
    await call(configMaps, { method: 'POST', body: configMap('c1') });
    for (const value of ['False', '0']) {
      const response = await call(`${configMaps}?watch=${value}`);
      assert.equal(json(response).kind, 'ConfigMapList');
    }
  });

  it('indents the JSON body with ?pretty=True', async () => {
    await call(configMaps, { method: 'POST', body: configMap('c1') });
    const body = String((await call(`${configMaps}/c1?pretty=True`)).body);
    assert.match(body, /^\{\n {2}"apiVersion": "v1",\n {2}"kind": "ConfigMap",\n/);
    assert.equal(JSON.parse(body).metadata.name, 'c1');
    assert.doesNotMatch(String((await call(`${configMaps}/c1?pretty=no`)).body), /\n/);
  });
});

describe('status objects, always sent as kube-apiserver sends them', () => {
  const kinds: { path: string; body: Record<string, unknown>; status: unknown }[] = [
    {
      path: '/apis/apps/v1/namespaces/apps/deployments',
      body: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'd' },
        spec: {
          selector: { matchLabels: { app: 'd' } },
          template: { metadata: { labels: { app: 'd' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
        },
      },
      status: {},
    },
    {
      path: '/apis/apps/v1/namespaces/apps/replicasets',
      body: {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: { name: 'r' },
        spec: {
          selector: { matchLabels: { app: 'r' } },
          template: { metadata: { labels: { app: 'r' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
        },
      },
      status: { replicas: 0 },
    },
    {
      path: '/api/v1/namespaces/apps/services',
      body: { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { ports: [{ port: 80 }] } },
      status: { loadBalancer: {} },
    },
    {
      path: '/apis/networking.k8s.io/v1/namespaces/apps/ingresses',
      body: {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'Ingress',
        metadata: { name: 'i' },
        spec: { defaultBackend: { service: { name: 's', port: { number: 80 } } } },
      },
      status: { loadBalancer: {} },
    },
    {
      path: '/api/v1/nodes',
      body: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n' } },
      status: {
        daemonEndpoints: { kubeletEndpoint: { Port: 0 } },
        nodeInfo: {
          machineID: '',
          systemUUID: '',
          bootID: '',
          kernelVersion: '',
          osImage: '',
          containerRuntimeVersion: '',
          kubeletVersion: '',
          kubeProxyVersion: '',
          operatingSystem: '',
          architecture: '',
        },
      },
    },
  ];
  for (const kind of kinds) {
    it(`creates a ${kind.body.kind} with the status ${JSON.stringify(kind.status)}, for create, get and list alike`, async () => {
      const created = await call(kind.path, { method: 'POST', body: kind.body });
      assert.equal(created.status, 201, String(created.body));
      assert.deepEqual(json(created).status, kind.status);
      const name = (kind.body.metadata as { name: string }).name;
      assert.deepEqual(json(await call(`${kind.path}/${name}`)).status, kind.status);
      assert.deepEqual(json(await call(kind.path)).items[0].status, kind.status);
      assert.ok(!JSON.stringify(json(created).metadata.managedFields).includes('f:status'), 'an empty status is nobody’s field');
    });
  }
});

describe('updates and their preconditions', () => {
  const nodes = '/api/v1/nodes';
  const node = (resourceVersion?: string, extra: Record<string, unknown> = {}) => ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'n1', labels: { a: 'b' }, ...(resourceVersion !== undefined ? { resourceVersion } : {}) },
    ...extra,
  });

  for (const resourceVersion of ['0', '', undefined]) {
    it(`replaces unconditionally with resourceVersion ${JSON.stringify(resourceVersion)}, as kubectl replace of a Node sends it`, async () => {
      await call(nodes, { method: 'POST', body: node() });
      await call(`${nodes}/n1`, { method: 'PATCH', body: { metadata: { labels: { moved: 'on' } } }, contentType: 'application/merge-patch+json' });
      const replaced = await call(`${nodes}/n1`, { method: 'PUT', body: node(resourceVersion, { spec: { unschedulable: true } }) });
      assert.equal(replaced.status, 200, String(replaced.body));
      assert.equal(json(replaced).spec.unschedulable, true);
      assert.notEqual(json(replaced).metadata.resourceVersion, '0');
      assert.equal(json(await call(`${nodes}/n1`)).metadata.resourceVersion, json(replaced).metadata.resourceVersion);
    });
  }

  it('refuses a stale resourceVersion with 409 before it validates: a stale and invalid update is a Conflict', async () => {
    const created = json(await call(nodes, { method: 'POST', body: node() }));
    await call(`${nodes}/n1`, { method: 'PATCH', body: { metadata: { labels: { moved: 'on' } } }, contentType: 'application/merge-patch+json' });
    const invalid = { spec: { taints: [{ key: '', effect: 'NoSchedule' }] } };
    const stale = await call(`${nodes}/n1`, { method: 'PUT', body: node(created.metadata.resourceVersion, invalid) });
    assert.deepEqual([stale.status, json(stale).reason], [409, 'Conflict']);
    assert.equal(
      json(stale).message,
      'Operation cannot be fulfilled on nodes "n1": the object has been modified; please apply your changes to the latest version and try again',
    );
    const current = await call(`${nodes}/n1`, { method: 'PUT', body: node(undefined, invalid) });
    assert.deepEqual([current.status, json(current).reason], [422, 'Invalid']);
  });

  it('keeps a patch that carries a stale resourceVersion conditional', async () => {
    const created = json(await call(nodes, { method: 'POST', body: node() }));
    await call(`${nodes}/n1`, { method: 'PATCH', body: { metadata: { labels: { moved: 'on' } } }, contentType: 'application/merge-patch+json' });
    const stale = await call(`${nodes}/n1`, {
      method: 'PATCH',
      body: { metadata: { resourceVersion: created.metadata.resourceVersion, labels: { x: 'y' } } },
      contentType: 'application/merge-patch+json',
    });
    assert.equal(stale.status, 409);
  });
});

describe('deletion with a grace period', () => {
  it('deletes a ConfigMap at once whatever gracePeriodSeconds says: grace periods are for pods', async () => {
    await call(configMaps, { method: 'POST', body: configMap('c1') });
    const deleted = await call(`${configMaps}/c1?gracePeriodSeconds=10`, { method: 'DELETE' });
    assert.equal(deleted.status, 200);
    assert.equal((await call(`${configMaps}/c1`)).status, 404);
  });

  it('marks an object with finalizers for them, with no grace period', async () => {
    await call(configMaps, { method: 'POST', body: { ...configMap('c2'), metadata: { name: 'c2', finalizers: ['example.com/hold'] } } });
    await call(`${configMaps}/c2`, { method: 'DELETE', body: { kind: 'DeleteOptions', apiVersion: 'v1', gracePeriodSeconds: 30 } });
    const marked = json(await call(`${configMaps}/c2`));
    assert.ok(marked.metadata.deletionTimestamp);
    assert.equal(marked.metadata.deletionGracePeriodSeconds, 0);
    await call(`${configMaps}/c2`, { method: 'PATCH', body: { metadata: { finalizers: null } }, contentType: 'application/merge-patch+json' });
    assert.equal((await call(`${configMaps}/c2`)).status, 404);
  });
});

describe('the finalize subresource of a namespace', () => {
  const namespaces = '/api/v1/namespaces';

  it('changes only spec.finalizers, and refuses every verb but update', async () => {
    await call(namespaces, { method: 'POST', body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kept' } } });
    const sent = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kept', labels: { ignored: 'yes' } }, spec: { finalizers: ['example.com/own'] } };
    const finalized = await call(`${namespaces}/kept/finalize`, { method: 'PUT', body: sent });
    assert.equal(finalized.status, 200);
    const stored = json(await call(`${namespaces}/kept`));
    assert.deepEqual([stored.spec.finalizers, stored.metadata.labels?.ignored, stored.status.phase], [['example.com/own'], undefined, 'Active']);
    assert.equal((await call(`${namespaces}/kept/finalize`)).status, 405);
    assert.equal((await call(`${namespaces}/kept/finalize`, { method: 'PATCH', body: {}, contentType: 'application/merge-patch+json' })).status, 405);
    const renamed = await call(`${namespaces}/kept/finalize`, { method: 'PUT', body: { ...sent, metadata: { name: 'other' } } });
    assert.equal(renamed.status, 400);
  });

  it('removes a terminating namespace at once when its last finalizer goes, as a user unsticks one', async () => {
    await call(namespaces, { method: 'POST', body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'stuck' } } });
    await call(`${namespaces}/stuck`, { method: 'DELETE' });
    const terminating = json(await call(`${namespaces}/stuck`));
    assert.deepEqual([terminating.status.phase, terminating.spec.finalizers], ['Terminating', ['kubernetes']]);
    const stale = await call(`${namespaces}/stuck/finalize`, {
      method: 'PUT',
      body: { ...terminating, metadata: { ...terminating.metadata, resourceVersion: '1' }, spec: { finalizers: [] } },
    });
    assert.equal(stale.status, 409);
    assert.equal((await call(`${namespaces}/stuck`)).status, 200);
    const finalized = await call(`${namespaces}/stuck/finalize`, { method: 'PUT', body: { ...terminating, spec: { finalizers: [] } } });
    assert.equal(finalized.status, 200);
    assert.deepEqual(json(finalized).spec.finalizers, []);
    assert.equal((await call(`${namespaces}/stuck`)).status, 404);
  });
});

describe('Table rows and includeObject', () => {
  const table = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';
  beforeEach(async () => {
    await call(configMaps, { method: 'POST', body: configMap('c1', { k: 'v' }) });
  });

  it('embeds the whole typed object with includeObject=Object, as kubectl get --sort-by asks', async () => {
    for (const path of [`${configMaps}?includeObject=Object`, `${configMaps}/c1?includeObject=Object`]) {
      const row = json(await call(path, { accept: table })).rows[0];
      assert.deepEqual([row.object.kind, row.object.apiVersion, row.object.data], ['ConfigMap', 'v1', { k: 'v' }]);
    }
  });

  it('embeds PartialObjectMetadata by default and with Metadata, nothing with None', async () => {
    for (const [query, kind] of [
      ['', 'PartialObjectMetadata'],
      ['?includeObject=Metadata', 'PartialObjectMetadata'],
      ['?includeObject=None', undefined],
    ] as const) {
      const row = json(await call(`${configMaps}${query}`, { accept: table })).rows[0];
      assert.equal(row.object?.kind, kind);
      assert.equal(row.object?.data, undefined);
    }
  });

  it('embeds the object in a watch’s Table rows too', async () => {
    const abort = new AbortController();
    const response = await call(`${configMaps}?watch=1&resourceVersion=0&includeObject=Object`, { accept: table, signal: abort.signal });
    const event = JSON.parse(String((await response.stream![Symbol.asyncIterator]().next()).value));
    abort.abort();
    assert.deepEqual([event.type, event.object.kind, event.object.rows[0].object.data], ['ADDED', 'Table', { k: 'v' }]);
  });

  it('refuses an unknown includeObject with 400', async () => {
    const response = await call(`${configMaps}?includeObject=All`, { accept: table });
    assert.deepEqual(
      [response.status, json(response).message],
      [400, 'includeObject: Unsupported value: "All": supported values: "", "Metadata", "None", "Object"'],
    );
  });
});

describe('strategic merge patches with $retainKeys, as kubectl apply sends them', () => {
  const deployments = '/apis/apps/v1/namespaces/apps/deployments';
  const deployment = (spec: Record<string, unknown> = {}) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web' },
    spec: {
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx' }], volumes: [{ name: 'data', emptyDir: {} }] } },
      ...spec,
    },
  });
  const smp = 'application/strategic-merge-patch+json';

  it('switches a Deployment from RollingUpdate to Recreate', async () => {
    assert.equal((await call(deployments, { method: 'POST', body: deployment() })).status, 201);
    const patched = await call(`${deployments}/web`, {
      method: 'PATCH',
      body: { spec: { strategy: { $retainKeys: ['type'], rollingUpdate: null, type: 'Recreate' } } },
      contentType: smp,
    });
    assert.equal(patched.status, 200, String(patched.body));
    assert.deepEqual(json(patched).spec.strategy, { type: 'Recreate' });
  });

  it('switches a volume from emptyDir to a ConfigMap', async () => {
    assert.equal((await call(deployments, { method: 'POST', body: deployment() })).status, 201);
    const patched = await call(`${deployments}/web`, {
      method: 'PATCH',
      body: {
        spec: {
          template: {
            spec: {
              $setElementOrder: undefined,
              volumes: [{ $retainKeys: ['configMap', 'name'], configMap: { name: 'settings' }, emptyDir: null, name: 'data' }],
            },
          },
        },
      },
      contentType: smp,
    });
    assert.equal(patched.status, 200, String(patched.body));
    assert.deepEqual(json(patched).spec.template.spec.volumes, [{ name: 'data', configMap: { name: 'settings', defaultMode: 420 } }]);
  });
});

describe('server-side apply taking over from client-side apply', () => {
  const lastApplied = 'kubectl.kubernetes.io/last-applied-configuration';
  const manifest = (labels: Record<string, string>, data: Record<string, string>) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'c', labels },
    data,
  });
  const clientSideApplied = async (labels: Record<string, string>, data: Record<string, string>) => {
    const body = manifest(labels, data);
    const created = await call(`${configMaps}?fieldManager=kubectl-client-side-apply`, {
      method: 'POST',
      body: { ...body, metadata: { ...body.metadata, annotations: { [lastApplied]: `${JSON.stringify(body)}\n` } } },
    });
    assert.equal(created.status, 201);
  };
  const serverSideApply = (labels: Record<string, string>, data: Record<string, string>, manager = 'kubectl') =>
    call(`${configMaps}/c?fieldManager=${manager}&force=false`, {
      method: 'PATCH',
      body: JSON.stringify(manifest(labels, data)),
      contentType: 'application/apply-patch+yaml',
    });

  it('lets kubectl apply --server-side change what client-side apply set, owning it after, and syncs the annotation', async () => {
    await clientSideApplied({ app: 'web' }, { a: '1' });
    const applied = await serverSideApply({ app: 'api' }, { a: '2' });
    assert.equal(applied.status, 200, String(applied.body));
    const object = json(applied);
    assert.deepEqual([object.metadata.labels, object.data], [{ app: 'api' }, { a: '2' }]);
    const owners = Object.fromEntries(
      object.metadata.managedFields.map((entry: { manager: string; fieldsV1: object }) => [entry.manager, JSON.stringify(entry.fieldsV1)]),
    );
    assert.match(owners.kubectl, /f:app/);
    assert.doesNotMatch(owners['kubectl-client-side-apply'] ?? '', /f:app|f:a"/);
    const synced = JSON.parse(object.metadata.annotations[lastApplied]);
    assert.deepEqual([synced.metadata.labels, synced.data, synced.metadata.annotations], [{ app: 'api' }, { a: '2' }, undefined]);
  });

  it('still refuses fields changed since client-side apply last applied them, and any other manager', async () => {
    await clientSideApplied({ app: 'web' }, { a: '1' });
    await call(`${configMaps}/c?fieldManager=kubectl-label`, {
      method: 'PATCH',
      body: { metadata: { labels: { app: 'db' } } },
      contentType: 'application/merge-patch+json',
    });
    const changed = await serverSideApply({ app: 'api' }, { a: '1' });
    assert.equal(changed.status, 409);
    assert.match(json(changed).message, /conflict with "kubectl-label"/);
    const other = await serverSideApply({ app: 'db' }, { a: '2' }, 'someone');
    assert.equal(other.status, 409);
    assert.match(json(other).message, /conflict with "kubectl-client-side-apply"/);
  });
});

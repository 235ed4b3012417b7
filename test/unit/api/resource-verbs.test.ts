/**
 * The resource verbs and their subresources over the memory store, driven as the hosts drive
 * the API core: every verb, what it writes, and every refusal as a Kubernetes Status.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { ApiHandler, ApiResponse } from '../../../functions/api/http.ts';
import { nodePortRecords } from '../../../functions/domain/services/service-allocation.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import { adminApi, apiCaller, responseJson } from '../../support/api-calls.ts';
import { type MemoryCluster, memoryCluster } from '../../support/memory-cluster.ts';

let world: MemoryCluster;
let api: ApiHandler;
const call = apiCaller(() => api);
const json = responseJson;

/** The Status of a refused request: its code and reason, and the message kubectl prints. */
function status(response: ApiResponse): [number, string, string] {
  const body = json(response);
  assert.equal(body.kind, 'Status');
  assert.equal(body.code, response.status);
  return [response.status, body.reason, body.message];
}

const pods = '/api/v1/namespaces/apps/pods';
const podBody = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels: { app: 'web' } },
  spec: { containers: [{ name: 'web', image: 'nginx' }] },
  ...extra,
});
const deploymentBody = (name: string, replicas = 1) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'web', image: 'nginx' }] } },
  },
});

beforeEach(async () => {
  world = await memoryCluster({ settings: { defaultTolerationSeconds: 300 } });
  await world.namespace('apps');
  api = adminApi({
    store: world.store,
    admissionSettings: { defaultTolerationSeconds: 300 },
  });
});
afterEach(() => world.close());

describe('create', () => {
  it('answers 201 with the stored object: defaults, default tolerations, managed fields', async () => {
    const response = await call(pods, { method: 'POST', body: podBody('a') });
    assert.equal(response.status, 201);
    const pod = json(response);
    assert.ok(pod.metadata.uid && pod.metadata.resourceVersion);
    assert.equal(pod.spec.containers[0].imagePullPolicy, 'Always');
    assert.deepEqual(
      pod.spec.tolerations.map((t: { key: string; tolerationSeconds: number }) => `${t.key}=${t.tolerationSeconds}`),
      ['node.kubernetes.io/not-ready=300', 'node.kubernetes.io/unreachable=300'],
    );
    assert.equal(pod.metadata.managedFields[0].manager, 'kubectl');
    assert.equal((await world.raw.get(types.pods, 'apps', 'a')).metadata.uid, pod.metadata.uid);
  });

  it('warns about unknown fields by default and drops them', async () => {
    const response = await call(pods, { method: 'POST', body: podBody('a', { spec: { containers: [{ name: 'web', image: 'nginx', colour: 'red' }] } }) });
    assert.equal(response.status, 201);
    assert.equal(response.headers.warning, '299 - "unknown field \\"spec.containers[0].colour\\""');
    assert.equal(json(response).spec.containers[0].colour, undefined);
  });

  it('writes nothing for a dry run', async () => {
    const response = await call(`${pods}?dryRun=All`, { method: 'POST', body: podBody('a') });
    assert.equal(response.status, 201);
    assert.equal((await world.raw.list(types.pods, { namespace: 'apps' })).items.length, 0);
  });

  const refusals: { name: string; path?: string; body: unknown; contentType?: string; expected: [number, string, RegExp] }[] = [
    { name: 'a name already taken: 409 AlreadyExists', body: podBody('taken'), expected: [409, 'AlreadyExists', /^pods "taken" already exists$/] },
    {
      name: 'an invalid object: 422 Invalid naming the field',
      body: podBody('bad', { spec: { containers: [{ name: 'web', image: '' }] } }),
      expected: [422, 'Invalid', /^Pod "bad" is invalid: spec\.containers\[0\]\.image: Required value/],
    },
    {
      name: 'an unknown field with fieldValidation=Strict: 400',
      path: `${pods}?fieldValidation=Strict`,
      body: podBody('strict', { extra: 1 }),
      expected: [400, 'BadRequest', /^strict decoding error: unknown field "extra"$/],
    },
    {
      name: 'a body of another namespace: 400',
      body: podBody('elsewhere', { metadata: { name: 'elsewhere', namespace: 'other' } }),
      expected: [400, 'BadRequest', /does not match the namespace sent on the request/],
    },
    { name: 'a body that is not JSON: 400', body: '{not json', expected: [400, 'BadRequest', /./] },
    {
      name: 'a namespace that does not exist: 404',
      path: '/api/v1/namespaces/nowhere/pods',
      body: podBody('x'),
      expected: [404, 'NotFound', /^namespaces "nowhere" not found$/],
    },
  ];
  for (const c of refusals) {
    it(`refuses ${c.name}, writing nothing`, async () => {
      await world.admission.create(types.pods, { ...podBody('taken'), metadata: { name: 'taken', namespace: 'apps' } });
      const before = (await world.raw.list(types.pods)).items.length;
      const [code, reason, message] = status(await call(c.path ?? pods, { method: 'POST', body: c.body }));
      assert.deepEqual([code, reason], c.expected.slice(0, 2));
      assert.match(message, c.expected[2]);
      assert.equal((await world.raw.list(types.pods)).items.length, before);
    });
  }

  it('refuses content in a namespace being terminated: 403 with the NamespaceTerminating cause', async () => {
    assert.equal((await call('/api/v1/namespaces/apps', { method: 'DELETE' })).status, 200);
    const response = await call(pods, { method: 'POST', body: podBody('late') });
    const [code, reason] = status(response);
    assert.deepEqual([code, reason], [403, 'Forbidden']);
    assert.equal(json(response).details.causes[0].reason, 'NamespaceTerminating');
  });
});

describe('get, list and watch', () => {
  beforeEach(async () => {
    for (const name of ['a', 'b', 'c'])
      await call(pods, { method: 'POST', body: podBody(name, name === 'c' ? { metadata: { name, labels: { app: 'db' } } } : {}) });
  });

  it('gets one object, and answers 404 NotFound as a Status for a missing one', async () => {
    assert.equal(json(await call(`${pods}/a`)).metadata.name, 'a');
    assert.deepEqual(status(await call(`${pods}/nosuch`)), [404, 'NotFound', 'pods "nosuch" not found']);
  });

  it('lists with a label selector, and pages with limit and continue', async () => {
    const selected = json(await call(`${pods}?labelSelector=app%3Dweb`));
    assert.equal(selected.kind, 'PodList');
    assert.deepEqual(
      selected.items.map((p: KubeObject) => p.metadata.name),
      ['a', 'b'],
    );
    const first = json(await call(`${pods}?limit=2`));
    assert.equal(first.items.length, 2);
    assert.ok(first.metadata.continue);
    const rest = json(await call(`${pods}?limit=2&continue=${encodeURIComponent(first.metadata.continue)}`));
    assert.deepEqual(
      rest.items.map((p: KubeObject) => p.metadata.name),
      ['c'],
    );
  });

  it('pages a Table list with each next page answered ahead, as a client reading every page at once would see it', async () => {
    const table = 'application/json;as=Table;v=v1;g=meta.k8s.io';
    const names: string[] = [];
    let token: string | undefined;
    let resourceVersion: string | undefined;
    do {
      const page = json(await call(`${pods}?limit=1${token ? `&continue=${encodeURIComponent(token)}` : ''}`, { accept: table }));
      assert.equal(page.kind, 'Table');
      resourceVersion ??= page.metadata.resourceVersion;
      assert.equal(page.metadata.resourceVersion, resourceVersion);
      names.push(...page.rows.map((row: { cells: string[] }) => row.cells[0]));
      token = page.metadata.continue;
    } while (token);
    assert.deepEqual(names, ['a', 'b', 'c']);
    // A page answered ahead is handed out once: the same request again is answered afresh, alike.
    const first = json(await call(`${pods}?limit=1`, { accept: table }));
    const again = `${pods}?limit=1&continue=${encodeURIComponent(first.metadata.continue)}`;
    const ahead = json(await call(again, { accept: table }));
    const fresh = json(await call(again, { accept: table }));
    assert.deepEqual(
      fresh.rows.map((row: { cells: string[] }) => row.cells[0]),
      ahead.rows.map((row: { cells: string[] }) => row.cells[0]),
    );
  });

  it('lists as a Table when kubectl asks for one', async () => {
    const table = json(await call(pods, { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' }));
    assert.equal(table.kind, 'Table');
    assert.deepEqual(
      table.rows.map((r: { cells: unknown[] }) => r.cells[0]),
      ['a', 'b', 'c'],
    );
  });

  it('refuses a negative limit with 400', async () => {
    assert.equal(status(await call(`${pods}?limit=-1`))[0], 400);
  });

  it('watches from a list: what changes after it, nothing before', async () => {
    const listed = json(await call(pods));
    const abort = new AbortController();
    const response = await call(`${pods}?watch=true&resourceVersion=${listed.metadata.resourceVersion}`, { signal: abort.signal });
    assert.equal(response.status, 200);
    const lines = response.stream![Symbol.asyncIterator]();
    await call(`${pods}/a`, { method: 'PATCH', body: { metadata: { labels: { seen: 'yes' } } }, contentType: 'application/merge-patch+json' });
    const event = JSON.parse(String((await lines.next()).value));
    abort.abort();
    assert.deepEqual([event.type, event.object.metadata.name, event.object.metadata.labels.seen], ['MODIFIED', 'a', 'yes']);
  });
});

describe('update and patch', () => {
  let created: Record<string, any>;
  beforeEach(async () => {
    created = json(await call('/apis/apps/v1/namespaces/apps/deployments', { method: 'POST', body: deploymentBody('web') }));
  });
  const deployment = '/apis/apps/v1/namespaces/apps/deployments/web';

  it('replaces without a resourceVersion, and refuses a stale one with 409 Conflict', async () => {
    const replaced = await call(deployment, { method: 'PUT', body: deploymentBody('web', 3) });
    assert.equal(json(replaced).spec.replicas, 3);
    const stale = await call(deployment, {
      method: 'PUT',
      body: { ...deploymentBody('web', 4), metadata: { name: 'web', resourceVersion: created.metadata.resourceVersion } },
    });
    assert.deepEqual(status(stale).slice(0, 2), [409, 'Conflict']);
  });

  it('refuses a body naming another object with 400', async () => {
    assert.equal(status(await call(deployment, { method: 'PUT', body: deploymentBody('other') }))[0], 400);
  });

  it('refuses a change of an immutable field with 422', async () => {
    const labels = { app: 'web', v: '2' };
    const original = deploymentBody('web');
    const body = { ...original, spec: { ...original.spec, selector: { matchLabels: labels }, template: { ...original.spec.template, metadata: { labels } } } };
    assert.deepEqual(status(await call(deployment, { method: 'PUT', body })).slice(0, 2), [422, 'Invalid']);
  });

  it('keeps the status on an update of the object, and changes only the status through /status', async () => {
    await world.admission.update(types.deployments, { ...(created as KubeObject), status: { replicas: 1 } }, created as KubeObject);
    const updated = json(await call(deployment, { method: 'PUT', body: { ...deploymentBody('web', 2), status: { replicas: 99 } } }));
    assert.deepEqual([updated.spec.replicas, updated.status.replicas], [2, 1]);
    const statusWrite = json(await call(`${deployment}/status`, { method: 'PUT', body: { ...deploymentBody('web', 7), status: { replicas: 5 } } }));
    assert.deepEqual([statusWrite.spec.replicas, statusWrite.status.replicas], [2, 5]);
  });

  const patches: { name: string; contentType: string; body: unknown; replicas: number }[] = [
    { name: 'a merge patch', contentType: 'application/merge-patch+json', body: { spec: { replicas: 2 } }, replicas: 2 },
    { name: 'a strategic merge patch', contentType: 'application/strategic-merge-patch+json', body: { spec: { replicas: 3 } }, replicas: 3 },
    { name: 'a JSON patch', contentType: 'application/json-patch+json', body: [{ op: 'replace', path: '/spec/replicas', value: 4 }], replicas: 4 },
  ];
  for (const c of patches) {
    it(`applies ${c.name}`, async () => {
      assert.equal(json(await call(deployment, { method: 'PATCH', body: c.body, contentType: c.contentType })).spec.replicas, c.replicas);
    });
  }

  it('turns a NodePort Service into a ClusterIP one with a patch of its type alone, freeing the node port', async () => {
    const services = '/api/v1/namespaces/apps/services';
    const body = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'np' }, spec: { type: 'NodePort', selector: { app: 'np' }, ports: [{ port: 80 }] } };
    const created = json(await call(services, { method: 'POST', body }));
    const nodePort = created.spec.ports[0].nodePort as number;
    assert.ok(await world.raw.get(nodePortRecords, undefined, String(nodePort)).catch(() => undefined), 'the node port is held');
    const patched = await call(`${services}/np`, {
      method: 'PATCH',
      body: { spec: { type: 'ClusterIP' } },
      contentType: 'application/strategic-merge-patch+json',
    });
    assert.equal(patched.status, 200, String(patched.body));
    assert.deepEqual(
      [json(patched).spec.type, json(patched).spec.ports[0].nodePort, json(patched).spec.externalTrafficPolicy, json(patched).spec.clusterIP],
      ['ClusterIP', undefined, undefined, created.spec.clusterIP],
    );
    assert.equal(await world.raw.get(nodePortRecords, undefined, String(nodePort)).catch(() => undefined), undefined, 'the node port is free again');
  });

  it('refuses a patch of an unknown media type with 400', async () => {
    assert.equal(status(await call(deployment, { method: 'PATCH', body: {}, contentType: 'text/plain' }))[0], 400);
  });

  it('creates the object on a server-side apply of one that is missing, and needs a field manager', async () => {
    const path = '/apis/apps/v1/namespaces/apps/deployments/applied';
    const body = JSON.stringify(deploymentBody('applied'));
    assert.equal(status(await call(path, { method: 'PATCH', body, contentType: 'application/apply-patch+yaml' }))[0], 400);
    const applied = await call(`${path}?fieldManager=kubectl`, { method: 'PATCH', body, contentType: 'application/apply-patch+yaml' });
    assert.equal(applied.status, 201);
    assert.equal(json(applied).metadata.managedFields[0].operation, 'Apply');
  });
});

describe('delete', () => {
  it('deletes an object and answers 404 for one that is gone', async () => {
    await call('/api/v1/namespaces/apps/configmaps', { method: 'POST', body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } } });
    assert.equal((await call('/api/v1/namespaces/apps/configmaps/c', { method: 'DELETE' })).status, 200);
    assert.equal(status(await call('/api/v1/namespaces/apps/configmaps/c', { method: 'DELETE' }))[0], 404);
  });

  it('marks a bound pod for its grace period, and removes it at once with gracePeriodSeconds=0', async () => {
    await call(pods, { method: 'POST', body: podBody('bound', { spec: { nodeName: 'n1', containers: [{ name: 'web', image: 'nginx' }] } }) });
    const marked = json(await call(`${pods}/bound`, { method: 'DELETE' }));
    assert.deepEqual([Boolean(marked.metadata.deletionTimestamp), marked.metadata.deletionGracePeriodSeconds], [true, 30]);
    await call(`${pods}/bound?gracePeriodSeconds=0`, { method: 'DELETE' });
    assert.equal(status(await call(`${pods}/bound`))[0], 404);
  });

  for (const name of ['default', 'kube-system', 'kube-public']) {
    it(`refuses to delete the namespace ${name} with NamespaceLifecycle's 403, for a dry run too, and leaves it Active`, async () => {
      for (const query of ['', '?dryRun=All']) {
        assert.deepEqual(status(await call(`/api/v1/namespaces/${name}${query}`, { method: 'DELETE' })), [
          403,
          'Forbidden',
          `namespaces "${name}" is forbidden: this namespace may not be deleted`,
        ]);
      }
      const namespace = await world.raw.get(types.namespaces, undefined, name);
      assert.deepEqual([namespace.metadata.deletionTimestamp, (namespace.status as { phase: string }).phase], [undefined, 'Active']);
    });
  }

  it('lets kube-node-lease be deleted, as Kubernetes does (the system namespaces controller makes it again)', async () => {
    const marked = json(await call('/api/v1/namespaces/kube-node-lease', { method: 'DELETE' }));
    assert.equal(marked.status.phase, 'Terminating');
  });

  it('refuses an unknown propagation policy with 400', async () => {
    await call(pods, { method: 'POST', body: podBody('a') });
    assert.equal(status(await call(`${pods}/a?propagationPolicy=Sideways`, { method: 'DELETE' }))[0], 400);
  });

  it('deletes a collection by label selector', async () => {
    for (const name of ['a', 'b', 'c'])
      await call(pods, { method: 'POST', body: podBody(name, name === 'c' ? { metadata: { name, labels: { app: 'db' } } } : {}) });
    const deleted = json(await call(`${pods}?labelSelector=app%3Dweb`, { method: 'DELETE' }));
    assert.deepEqual(
      deleted.items.map((p: KubeObject) => p.metadata.name),
      ['a', 'b'],
    );
    assert.deepEqual(
      (await world.raw.list(types.pods, { namespace: 'apps' })).items.map((p) => p.metadata.name),
      ['c'],
    );
  });
});

describe('subresources', () => {
  beforeEach(async () => {
    await call(pods, { method: 'POST', body: podBody('a') });
  });

  it('binds a pod once: 201, then 409 Conflict', async () => {
    const binding = { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'a' }, target: { apiVersion: 'v1', kind: 'Node', name: 'n1' } };
    assert.equal((await call(`${pods}/a/binding`, { method: 'POST', body: binding })).status, 201);
    assert.equal(((await world.raw.get(types.pods, 'apps', 'a')).spec as { nodeName?: string }).nodeName, 'n1');
    const again = status(await call(`${pods}/a/binding`, { method: 'POST', body: { ...binding, target: { name: 'n2' } } }));
    assert.deepEqual(again.slice(0, 2), [409, 'Conflict']);
  });

  it('evicts a pod as a delete with its grace', async () => {
    const eviction = { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'a', namespace: 'apps' } };
    assert.equal((await call(`${pods}/a/eviction`, { method: 'POST', body: eviction })).status, 201);
    assert.equal(status(await call(`${pods}/a`))[0], 404, 'an unbound pod goes at once');
  });

  it('reads and writes a Deployment through its scale subresource', async () => {
    await call('/apis/apps/v1/namespaces/apps/deployments', { method: 'POST', body: deploymentBody('web') });
    const scale = '/apis/apps/v1/namespaces/apps/deployments/web/scale';
    assert.deepEqual(json(await call(scale)).spec, { replicas: 1 });
    const written = await call(scale, { method: 'PATCH', body: { spec: { replicas: 4 } }, contentType: 'application/merge-patch+json' });
    assert.equal(json(written).spec.replicas, 4);
    assert.equal(((await world.raw.get(types.deployments, 'apps', 'web')).spec as { replicas: number }).replicas, 4);
    assert.equal(status(await call(scale, { method: 'PUT', body: { spec: { replicas: -1 } } }))[0], 400);
  });

  it('changes nothing on a server-side dry run of scale, eviction, binding or status, and answers as if it had', async () => {
    await call('/apis/apps/v1/namespaces/apps/deployments', { method: 'POST', body: deploymentBody('web') });
    const deployment = await world.raw.get(types.deployments, 'apps', 'web');
    const pod = await world.raw.get(types.pods, 'apps', 'a');
    const scaled = await call('/apis/apps/v1/namespaces/apps/deployments/web/scale?dryRun=All', {
      method: 'PATCH',
      body: { spec: { replicas: 4 } },
      contentType: 'application/merge-patch+json',
    });
    assert.deepEqual([scaled.status, json(scaled).spec.replicas], [200, 4]);
    const eviction = { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'a', namespace: 'apps' } };
    // kubectl drain --dry-run=server asks in the Eviction's deleteOptions.
    assert.equal((await call(`${pods}/a/eviction`, { method: 'POST', body: { ...eviction, deleteOptions: { dryRun: ['All'] } } })).status, 201);
    assert.equal((await call(`${pods}/a/eviction?dryRun=All`, { method: 'POST', body: eviction })).status, 201);
    const binding = { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'a' }, target: { apiVersion: 'v1', kind: 'Node', name: 'n1' } };
    assert.equal((await call(`${pods}/a/binding?dryRun=All`, { method: 'POST', body: binding })).status, 201);
    const status = await call(`${pods}/a/status?dryRun=All`, {
      method: 'PATCH',
      body: { status: { phase: 'Running' } },
      contentType: 'application/merge-patch+json',
    });
    assert.deepEqual([status.status, json(status).status.phase], [200, 'Running']);
    assert.equal((await world.raw.get(types.deployments, 'apps', 'web')).metadata.resourceVersion, deployment.metadata.resourceVersion);
    assert.equal((await world.raw.get(types.pods, 'apps', 'a')).metadata.resourceVersion, pod.metadata.resourceVersion);
  });

  it('asks for a container name and a node before it reads logs', async () => {
    assert.match(status(await call(`${pods}/a/log`))[2], /waiting to start: ContainerCreating/);
    assert.match(status(await call(`${pods}/a/log?container=other`))[2], /container other is not valid for pod a/);
  });

  it('refuses a method a subresource does not serve with 405', async () => {
    assert.deepEqual(status(await call(`${pods}/a/binding`)).slice(0, 2), [405, 'MethodNotAllowed']);
    assert.equal(status(await call(`${pods}/a/status`, { method: 'DELETE' }))[0], 405);
  });
});

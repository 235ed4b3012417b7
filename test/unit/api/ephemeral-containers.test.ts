/**
 * The `pods/{name}/ephemeralcontainers` subresource (`kubectl debug`) over the memory store, as
 * kube-apiserver serves it: GET answers the pod, PUT and PATCH change `spec.ephemeralContainers`
 * and nothing else, containers may only be added, and the fields an ephemeral container may not
 * have are refused with kube's field paths and messages.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { ApiHandler, ApiResponse } from '../../../functions/api/http.ts';
import { types } from '../../../schemas/registry.ts';
import { adminApi, apiCaller, responseJson } from '../../support/api-calls.ts';
import { type MemoryCluster, memoryCluster } from '../../support/memory-cluster.ts';

let world: MemoryCluster;
let api: ApiHandler;
const call = apiCaller(() => api);
const json = responseJson;

const pods = '/api/v1/namespaces/apps/pods';
const subresource = `${pods}/web/ephemeralcontainers`;
const strategic = 'application/strategic-merge-patch+json';

const debugger1 = { name: 'debugger-abcde', image: 'busybox', command: ['sh', '-c', 'echo hi'], stdin: true, tty: true };

beforeEach(async () => {
  world = await memoryCluster({ settings: { defaultTolerationSeconds: 300 } });
  await world.namespace('apps');
  api = adminApi({ store: world.store, admissionSettings: { defaultTolerationSeconds: 300 } });
  const created = await call(pods, {
    method: 'POST',
    body: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web', labels: { app: 'web' } },
      spec: { containers: [{ name: 'web', image: 'nginx' }], initContainers: [{ name: 'setup', image: 'busybox' }] },
    },
  });
  assert.equal(created.status, 201);
});
afterEach(() => world.close());

/** The causes of a 422, as `field: message`. */
function causes(response: ApiResponse): string[] {
  assert.equal(response.status, 422, JSON.stringify(json(response)));
  const body = json(response);
  assert.equal(body.reason, 'Invalid');
  return body.details.causes.map((cause: { field: string; message: string }) => `${cause.field}: ${cause.message}`);
}

/** Adds ephemeral containers the way kubectl debug does: a strategic merge patch of the subresource. */
function addEphemeral(...containers: object[]): Promise<ApiResponse> {
  return call(subresource, { method: 'PATCH', contentType: strategic, body: { spec: { ephemeralContainers: containers } } });
}

describe('pods/ephemeralcontainers', () => {
  it('answers a GET with the whole pod', async () => {
    const response = await call(subresource);
    assert.equal(response.status, 200);
    const pod = json(response);
    assert.deepEqual([pod.kind, pod.metadata.name, pod.spec.containers[0].name], ['Pod', 'web', 'web']);
  });

  it('adds the container of a strategic merge patch, defaulted, and moves the resourceVersion', async () => {
    const before = json(await call(`${pods}/web`));
    const response = await addEphemeral(debugger1);
    assert.equal(response.status, 200, JSON.stringify(json(response)));
    const pod = json(response);
    assert.equal(pod.spec.ephemeralContainers.length, 1);
    const added = pod.spec.ephemeralContainers[0];
    assert.deepEqual(
      [added.name, added.image, added.imagePullPolicy, added.terminationMessagePolicy, added.stdin, added.tty],
      ['debugger-abcde', 'busybox', 'Always', 'File', true, true],
    );
    assert.notEqual(pod.metadata.resourceVersion, before.metadata.resourceVersion);
    assert.deepEqual(
      ((await world.raw.get(types.pods, 'apps', 'web')).spec as { ephemeralContainers?: unknown }).ephemeralContainers,
      pod.spec.ephemeralContainers,
    );
  });

  it('keeps the containers already there when a second one is patched in', async () => {
    assert.equal((await addEphemeral(debugger1)).status, 200);
    const response = await addEphemeral({ name: 'debugger-fghij', image: 'alpine' });
    assert.equal(response.status, 200, JSON.stringify(json(response)));
    assert.deepEqual(
      json(response).spec.ephemeralContainers.map((container: { name: string }) => container.name),
      ['debugger-abcde', 'debugger-fghij'],
    );
  });

  it('drops every change but spec.ephemeralContainers, as kube-apiserver does', async () => {
    const before = json(await call(`${pods}/web`));
    const response = await call(subresource, {
      method: 'PATCH',
      contentType: strategic,
      body: {
        metadata: { labels: { app: 'changed' } },
        spec: { activeDeadlineSeconds: 30, ephemeralContainers: [debugger1] },
        status: { phase: 'Failed' },
      },
    });
    assert.equal(response.status, 200, JSON.stringify(json(response)));
    const pod = json(response);
    assert.deepEqual(pod.metadata.labels, { app: 'web' });
    assert.equal(pod.spec.activeDeadlineSeconds, undefined);
    assert.deepEqual(pod.status, before.status);
    assert.equal(pod.spec.ephemeralContainers[0].name, 'debugger-abcde');
  });

  it('takes a PUT of the pod with a container added, and a JSON patch', async () => {
    const pod = json(await call(subresource));
    const put = await call(subresource, { method: 'PUT', body: { ...pod, spec: { ...pod.spec, ephemeralContainers: [debugger1] } } });
    assert.equal(put.status, 200, JSON.stringify(json(put)));
    const patched = await call(subresource, {
      method: 'PATCH',
      contentType: 'application/json-patch+json',
      body: [{ op: 'add', path: '/spec/ephemeralContainers/-', value: { name: 'second', image: 'alpine' } }],
    });
    assert.equal(patched.status, 200, JSON.stringify(json(patched)));
    assert.deepEqual(
      json(patched).spec.ephemeralContainers.map((container: { name: string }) => container.name),
      ['debugger-abcde', 'second'],
    );
  });

  it('refuses removing or changing an ephemeral container', async () => {
    const added = json(await addEphemeral(debugger1));
    const removed = await call(subresource, { method: 'PUT', body: { ...added, spec: { ...added.spec, ephemeralContainers: [] } } });
    assert.deepEqual(causes(removed), ['spec.ephemeralContainers: Forbidden: existing ephemeral containers "debugger-abcde" may not be removed\n']);
    const changed = await call(subresource, {
      method: 'PUT',
      body: { ...added, spec: { ...added.spec, ephemeralContainers: [{ ...added.spec.ephemeralContainers[0], image: 'alpine' }] } },
    });
    assert.deepEqual(causes(changed), [
      'spec.ephemeralContainers[debugger-abcde]: Forbidden: existing ephemeral containers "debugger-abcde" may not be changed\n',
    ]);
  });

  it('refuses a name another container of the pod has, and a second one of the same name', async () => {
    assert.deepEqual(causes(await addEphemeral({ name: 'web', image: 'busybox' })), ['spec.ephemeralContainers[0].name: Duplicate value: "web"']);
    assert.deepEqual(causes(await addEphemeral({ name: 'setup', image: 'busybox' })), ['spec.ephemeralContainers[0].name: Duplicate value: "setup"']);
    assert.equal((await addEphemeral(debugger1)).status, 200);
    // A second debugger of the same name is the same list entry: the patch changes the first.
    assert.deepEqual(causes(await addEphemeral({ ...debugger1, image: 'alpine' })), [
      'spec.ephemeralContainers[debugger-abcde]: Forbidden: existing ephemeral containers "debugger-abcde" may not be changed\n',
    ]);
  });

  it('refuses the fields an ephemeral container may not have, each with its path', async () => {
    const response = await addEphemeral({
      name: 'debugger',
      image: 'busybox',
      ports: [{ containerPort: 80 }],
      resources: { limits: { cpu: '1' } },
      restartPolicy: 'Always',
      readinessProbe: { tcpSocket: { port: 80 } },
      lifecycle: { preStop: { exec: { command: ['true'] } } },
    });
    assert.deepEqual(causes(response), [
      'spec.ephemeralContainers[0].ports: Forbidden: cannot be set for an Ephemeral Container',
      'spec.ephemeralContainers[0].resources: Forbidden: cannot be set for an Ephemeral Container',
      'spec.ephemeralContainers[0].restartPolicy: Forbidden: cannot be set for an Ephemeral Container',
      'spec.ephemeralContainers[0].readinessProbe: Forbidden: cannot be set for an Ephemeral Container',
      'spec.ephemeralContainers[0].lifecycle: Forbidden: cannot be set for an Ephemeral Container',
    ]);
  });

  it('refuses a target container the pod does not have, and a subPath mount', async () => {
    const pod = json(await call(subresource));
    assert.deepEqual(causes(await addEphemeral({ name: 'debugger', image: 'busybox', targetContainerName: 'nosuch' })), [
      'spec.ephemeralContainers[0].targetContainerName: Not found: "nosuch"',
    ]);
    const volume = pod.spec.volumes[0].name;
    assert.deepEqual(causes(await addEphemeral({ name: 'debugger', image: 'busybox', volumeMounts: [{ name: volume, mountPath: '/data', subPath: 'x' }] })), [
      'spec.ephemeralContainers[0].volumeMounts[0].subPath: Forbidden: cannot be set for an Ephemeral Container',
    ]);
    assert.equal((await addEphemeral({ name: 'debugger', image: 'busybox', targetContainerName: 'web' })).status, 200);
  });

  it('refuses ephemeral containers on create, in a pod template, and in an update of the pod itself', async () => {
    const create = await call(pods, {
      method: 'POST',
      body: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'other' },
        spec: { containers: [{ name: 'a', image: 'nginx' }], ephemeralContainers: [debugger1] },
      },
    });
    assert.deepEqual(causes(create), ['spec.ephemeralContainers: Forbidden: cannot be set on create']);
    const deployment = await call('/apis/apps/v1/namespaces/apps/deployments', {
      method: 'POST',
      body: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'd' },
        spec: {
          selector: { matchLabels: { app: 'd' } },
          template: { metadata: { labels: { app: 'd' } }, spec: { containers: [{ name: 'a', image: 'nginx' }], ephemeralContainers: [debugger1] } },
        },
      },
    });
    assert.deepEqual(causes(deployment), ['spec.template.spec.ephemeralContainers: Forbidden: ephemeral containers not allowed in pod template']);
    const pod = json(await call(`${pods}/web`));
    const update = await call(`${pods}/web`, { method: 'PUT', body: { ...pod, spec: { ...pod.spec, ephemeralContainers: [debugger1] } } });
    assert.equal(causes(update)[0]?.startsWith('spec: Forbidden: pod updates may not change fields'), true);
  });

  it('refuses ephemeral containers in a static pod', async () => {
    const mirror = await world.admission.create(types.pods, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'static', namespace: 'apps', annotations: { 'kubernetes.io/config.mirror': 'x' } },
      spec: { containers: [{ name: 'a', image: 'nginx' }], nodeName: 'node-1' },
    });
    assert.ok(mirror.metadata.uid);
    const response = await call(`${pods}/static/ephemeralcontainers`, {
      method: 'PATCH',
      contentType: strategic,
      body: { spec: { ephemeralContainers: [debugger1] } },
    });
    assert.deepEqual(causes(response), [': Forbidden: static pods do not support ephemeral containers']);
  });

  it('answers 405 to other verbs, and lists the subresource in discovery', async () => {
    assert.equal((await call(subresource, { method: 'DELETE' })).status, 405);
    assert.equal((await call(subresource, { method: 'POST', body: {} })).status, 405);
    const resources = json(await call('/api/v1')).resources as { name: string; kind: string; verbs: string[] }[];
    const entry = resources.find((resource) => resource.name === 'pods/ephemeralcontainers');
    assert.deepEqual([entry?.kind, entry?.verbs], ['Pod', ['get', 'patch', 'update']]);
  });
});

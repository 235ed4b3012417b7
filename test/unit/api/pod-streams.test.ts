/**
 * `pods/exec`, `pods/attach`, `pods/portforward` in the API core: the checks kube-apiserver makes
 * before it passes an upgrade on, the verb each upgrade is authorized with, the node endpoint a
 * host with a locator gets, and the 400 of a host without one (the Lambda behind API Gateway).
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { createApi } from '../../../functions/api/app.ts';
import type { ApiRequest } from '../../../functions/api/http.ts';
import { type AuthorizationAttributes, allow } from '../../../functions/domain/authorization/authorizer.ts';
import type { PodStreamRequest } from '../../../functions/domain/pods/pod-streams.ts';
import { kubeletStreamLocator } from '../../../functions/local/kubelet-client.ts';
import { createMemoryStore } from '../../../functions/store/memory-store.ts';
import { types } from '../../../schemas/registry.ts';

const store = createMemoryStore();
const asked: AuthorizationAttributes[] = [];
const located: PodStreamRequest[] = [];
const authorizer = {
  async authorize(attributes: AuthorizationAttributes) {
    asked.push(attributes);
    return allow();
  },
  async rulesFor() {
    return { resourceRules: [], nonResourceRules: [], incomplete: false };
  },
};
const authenticators = [async (token: string) => (token === 'admin' ? { username: 'admin', groups: ['system:masters'] } : undefined)];
const locator = kubeletStreamLocator({ token: (node) => `token-of-${node}` });
const local = createApi({
  store,
  authenticators,
  authorizer,
  podStreams: (request) => {
    located.push(request);
    return locator(request);
  },
});
const lambda = createApi({ store, authenticators, authorizer });

function request(method: string, path: string): ApiRequest {
  const url = new URL(path, 'https://server');
  return {
    method,
    path: url.pathname,
    query: url.searchParams,
    headers: { authorization: 'Bearer admin' },
    body: Buffer.alloc(0),
    signal: new AbortController().signal,
    requestId: 'r',
  };
}

before(async () => {
  await store.create(types.nodes, {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'n1' },
    status: { addresses: [{ type: 'InternalIP', address: '127.0.9.1' }], daemonEndpoints: { kubeletEndpoint: { Port: 10250 } } },
  });
  const pod = (name: string, spec: Record<string, unknown>) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec });
  await store.create(types.pods, pod('one', { nodeName: 'n1', containers: [{ name: 'app', image: 'busybox' }] }));
  await store.create(
    types.pods,
    pod('two', {
      nodeName: 'n1',
      containers: [
        { name: 'a', image: 'busybox' },
        { name: 'b', image: 'busybox' },
      ],
    }),
  );
  await store.create(types.pods, pod('pending', { containers: [{ name: 'app', image: 'busybox' }] }));
});

describe('sessions into pods in the API', () => {
  it('authorizes a WebSocket upgrade (GET) with get and a SPDY one (POST) with create, on the subresource', async () => {
    asked.length = 0;
    await local(request('GET', '/api/v1/namespaces/default/pods/one/exec?command=ls&stdout=true'));
    await local(request('POST', '/api/v1/namespaces/default/pods/one/portforward'));
    assert.deepEqual(
      asked.map((a) => [a.verb, a.resource, a.subresource, a.name]),
      [
        ['get', 'pods', 'exec', 'one'],
        ['create', 'pods', 'portforward', 'one'],
      ],
    );
  });

  it("sends the upgrade to the node's kubelet endpoint with the node's token and the client's stream flags", async () => {
    const exec = await local(
      request('GET', '/api/v1/namespaces/default/pods/one/exec?command=sh&command=-c&command=echo%20hi&container=app&stdin=true&stdout=true&tty=true'),
    );
    assert.equal(exec.status, 101);
    assert.equal(exec.upgrade?.url, 'http://127.0.9.1:10250/exec/default/one/app?command=sh&command=-c&command=echo+hi&stdin=true&stdout=true&tty=true');
    assert.deepEqual(exec.upgrade?.headers, { authorization: 'Bearer token-of-n1' });
    const attach = await local(request('POST', '/api/v1/namespaces/default/pods/one/attach?stdout=true'));
    assert.equal(attach.upgrade?.url, 'http://127.0.9.1:10250/attach/default/one/app?stdout=true');
    const forward = await local(request('GET', '/api/v1/namespaces/default/pods/two/portforward'));
    assert.equal(forward.upgrade?.url, 'http://127.0.9.1:10250/portForward/default/two');
  });

  const refusals: [string, string, number, RegExp][] = [
    [
      'a pod with two containers and none named',
      '/api/v1/namespaces/default/pods/two/exec?command=ls',
      400,
      /a container name must be specified for pod two, choose one of: \[a b\]/,
    ],
    ['a container the pod does not have', '/api/v1/namespaces/default/pods/one/exec?command=ls&container=nope', 400, /container nope is not valid for pod one/],
    ['an exec without a command', '/api/v1/namespaces/default/pods/one/exec?stdout=true', 400, /you must specify at least one command for the container/],
    ['a pod not scheduled yet', '/api/v1/namespaces/default/pods/pending/exec?command=ls', 400, /pod pending does not have a host assigned/],
    ['a pod that does not exist', '/api/v1/namespaces/default/pods/nope/exec?command=ls', 404, /pods "nope" not found/],
  ];
  for (const [what, path, code, message] of refusals) {
    it(`refuses ${what} (${code}) before any node is asked`, async () => {
      located.length = 0;
      const response = await local(request('POST', path));
      assert.equal(response.status, code);
      assert.match(JSON.parse(String(response.body)).message, message);
      assert.equal(located.length, 0);
    });
  }

  it('answers 405 for a method no upgrade uses', async () => {
    assert.equal((await local(request('DELETE', '/api/v1/namespaces/default/pods/one/exec?command=ls'))).status, 405);
  });

  it('answers 400 with the reason on a host that cannot hold an upgraded connection (API Gateway)', async () => {
    const response = await lambda(request('GET', '/api/v1/namespaces/default/pods/one/exec?command=ls'));
    assert.equal(response.status, 400);
    assert.equal(response.upgrade, undefined);
    assert.match(JSON.parse(String(response.body)).message, /exec is not available on this server: its API endpoint cannot hold an upgraded connection/);
  });
});

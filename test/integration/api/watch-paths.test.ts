/**
 * Watches addressed the ways clients address them, over the local HTTPS server and DynamoDB
 * Local: the deprecated watch path (`/api/v1/watch/...`, by collection or by name), a collection
 * watch pinned to one name by field selector, and list-then-watch of a type that holds nothing
 * yet (its list must carry a revision a watch continues from, never "0").
 */
import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import { after, before, describe, it } from 'node:test';
import { jsonRequest, type RawAnswer } from '../../support/raw-https.ts';
import { startTestApi, type TestApi } from '../../support/test-api.ts';

interface WatchEvent {
  readonly type: string;
  readonly object: { readonly kind?: string; readonly metadata: { readonly name?: string; readonly resourceVersion?: string } };
}

/** A watch held open: its status once the headers came, then its events one by one. */
interface OpenWatch {
  readonly status: number;
  readonly contentType: string | undefined;
  /** The next event, or a rejection when none comes within 10 s. */
  next(): Promise<WatchEvent>;
  close(): void;
}

function openWatch(api: TestApi, path: string): Promise<OpenWatch> {
  const url = new URL(api.url);
  return new Promise((resolve, reject) => {
    const outgoing = httpsRequest({
      host: url.hostname,
      port: url.port,
      path,
      rejectUnauthorized: false,
      agent: false,
      headers: { accept: 'application/json', authorization: `Bearer ${api.token}` },
    });
    outgoing.on('error', reject);
    outgoing.on('response', (response) => {
      const queued: WatchEvent[] = [];
      const waiting: Array<(event: WatchEvent) => void> = [];
      let buffered = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        buffered += chunk;
        let newline = buffered.indexOf('\n');
        while (newline >= 0) {
          const line = buffered.slice(0, newline).trim();
          buffered = buffered.slice(newline + 1);
          if (line !== '') {
            const event = JSON.parse(line) as WatchEvent;
            const taker = waiting.shift();
            if (taker) taker(event);
            else queued.push(event);
          }
          newline = buffered.indexOf('\n');
        }
      });
      resolve({
        status: response.statusCode ?? 0,
        contentType: response.headers['content-type'],
        next: () => {
          const event = queued.shift();
          if (event) return Promise.resolve(event);
          return new Promise((taken, failed) => {
            const timer = setTimeout(() => failed(new Error(`no watch event on ${path} within 10 s`)), 10_000);
            waiting.push((arrived) => {
              clearTimeout(timer);
              taken(arrived);
            });
          });
        },
        close: () => outgoing.destroy(),
      });
    });
    outgoing.end();
  });
}

const summary = (event: WatchEvent): string => `${event.type} ${event.object.metadata.name ?? ''}`;

describe('watch paths and list-then-watch', () => {
  let api: TestApi;
  before(async () => {
    api = await startTestApi();
  });
  after(() => api.stop());

  const send = (method: string, path: string, body?: unknown): Promise<RawAnswer> => jsonRequest(api, method, path, body);
  const configMap = (name: string, data: Record<string, string> = {}) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data });

  it('watches one object by name on the deprecated watch path: its state, then its changes, nothing of its neighbours', async () => {
    const created = await send('POST', '/api/v1/namespaces/default/configmaps', configMap('watched', { a: '1' }));
    assert.equal(created.status, 201);
    const watch = await openWatch(api, '/api/v1/watch/namespaces/default/configmaps/watched?timeoutSeconds=60');
    try {
      assert.equal(watch.status, 200);
      assert.equal(watch.contentType, 'application/json');
      const first = await watch.next();
      assert.equal(summary(first), 'ADDED watched');
      assert.equal(first.object.kind, 'ConfigMap');
      assert.equal((await send('POST', '/api/v1/namespaces/default/configmaps', configMap('neighbour'))).status, 201);
      assert.equal((await send('PUT', '/api/v1/namespaces/default/configmaps/watched', { ...created.json, data: { a: '2' } })).status, 200);
      assert.equal((await send('DELETE', '/api/v1/namespaces/default/configmaps/watched')).status, 200);
      assert.deepEqual([summary(await watch.next()), summary(await watch.next())], ['MODIFIED watched', 'DELETED watched']);
    } finally {
      watch.close();
    }
  });

  it('watches a collection on the deprecated watch path, and a cluster-scoped object by name', async () => {
    const list = await send('GET', '/api/v1/namespaces/default/configmaps');
    const from = (list.json?.metadata as { resourceVersion?: string } | undefined)?.resourceVersion ?? '';
    const collection = await openWatch(api, `/api/v1/watch/namespaces/default/configmaps?resourceVersion=${from}`);
    const namespace = await openWatch(api, '/api/v1/watch/namespaces/default');
    try {
      assert.equal((await send('POST', '/api/v1/namespaces/default/configmaps', configMap('in-collection'))).status, 201);
      assert.equal(summary(await collection.next()), 'ADDED in-collection');
      const seen = await namespace.next();
      assert.equal(summary(seen), 'ADDED default');
      assert.equal(seen.object.kind, 'Namespace');
    } finally {
      collection.close();
      namespace.close();
    }
  });

  it('watches one object of a collection by field selector, as kubectl rollout status and kubectl wait do', async () => {
    assert.equal((await send('POST', '/api/v1/namespaces/default/configmaps', configMap('selected'))).status, 201);
    const watch = await openWatch(api, '/api/v1/namespaces/default/configmaps?watch=true&fieldSelector=metadata.name%3Dselected');
    try {
      assert.equal(summary(await watch.next()), 'ADDED selected');
      assert.equal((await send('POST', '/api/v1/namespaces/default/configmaps', configMap('not-selected'))).status, 201);
      assert.equal((await send('DELETE', '/api/v1/namespaces/default/configmaps/selected')).status, 200);
      assert.equal(summary(await watch.next()), 'DELETED selected');
    } finally {
      watch.close();
    }
  });

  it('refuses what kube-apiserver refuses on watch paths', async () => {
    const mismatched = await send('GET', '/api/v1/watch/namespaces/default/configmaps/one?fieldSelector=metadata.name%3Dother');
    assert.equal(mismatched.status, 400);
    assert.equal(mismatched.json?.message, "fieldSelector metadata.name doesn't match requested name");
    assert.equal((await send('POST', '/api/v1/watch/namespaces/default/configmaps', configMap('posted'))).status, 405);
    assert.equal((await send('GET', '/api/v1/watch/namespaces/default/pods/p/status')).status, 404);
    assert.equal((await send('GET', '/apis/authorization.k8s.io/v1/watch/selfsubjectaccessreviews')).status, 404);
  });

  it('lists a type that holds nothing yet at a real revision, and a watch from it gets the first create', async () => {
    const empty = await send('GET', '/apis/networking.k8s.io/v1/ingressclasses');
    assert.equal(empty.status, 200);
    assert.deepEqual(empty.json?.items, []);
    const revision = (empty.json?.metadata as { resourceVersion?: string } | undefined)?.resourceVersion ?? '';
    assert.notEqual(revision, '0', 'a watch reads "0" as "any revision"');
    assert.match(revision, /^[1-9]\d*$/);
    const watch = await openWatch(api, `/apis/networking.k8s.io/v1/ingressclasses?watch=true&resourceVersion=${revision}`);
    try {
      const created = await send('POST', '/apis/networking.k8s.io/v1/ingressclasses', {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'IngressClass',
        metadata: { name: 'first-class' },
        spec: { controller: 'example.com/ingress' },
      });
      assert.equal(created.status, 201, created.text);
      const event = await watch.next();
      assert.equal(summary(event), 'ADDED first-class');
      assert.ok(Number(event.object.metadata.resourceVersion) > Number(revision));
    } finally {
      watch.close();
    }
  });
});

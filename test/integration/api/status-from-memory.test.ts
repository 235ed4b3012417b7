/**
 * A status update (a node's, for its pods) at the resourceVersion the API's store last read or
 * wrote starts from the object the store remembers at that revision, without reading it: the
 * write is conditional on that revision, so when another process moved the object on meanwhile
 * the answer is still the 409 a read would have given, and nothing is lost (docs/adr/191).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createApi } from '../../../functions/api/app.ts';
import type { ApiHandler } from '../../../functions/api/http.ts';
import { ensureSystemNamespaces } from '../../../functions/controllers/namespaces/system-namespaces.ts';
import { alwaysAllowAuthorizer } from '../../../functions/domain/authorization/authorizer.ts';
import { createDynamoDbStore, type DynamoDbStore } from '../../../functions/store/dynamodb-store.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import { type TestDynamoDb, useDynamoDb } from '../../support/dynamodb.ts';

describe('status updates from the object the store remembers', () => {
  let db: TestDynamoDb;
  let store: DynamoDbStore;
  /** Another API instance's store on the same tables (another Lambda instance). */
  let elsewhere: DynamoDbStore;
  let api: ApiHandler;
  let reads = 0;

  before(async () => {
    db = await useDynamoDb();
    store = createDynamoDbStore({ client: db.client, tables: db.tables, plainUpdates: true });
    elsewhere = createDynamoDbStore({ client: db.client, tables: db.tables, plainUpdates: true });
    await ensureSystemNamespaces(store);
    const counted: DynamoDbStore = {
      ...store,
      get: (type, namespace, name) => {
        if (type.id === types.pods.id) reads++;
        return store.get(type, namespace, name);
      },
    };
    api = createApi({
      store: counted,
      authenticators: [async (token) => (token === 'admin' ? { username: 'admin', groups: ['system:masters'] } : undefined)],
      authorizer: alwaysAllowAuthorizer,
    });
  });
  after(async () => {
    store.close();
    elsewhere.close();
    await db.cleanup();
  });

  const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> => {
    const response = await api({
      method,
      path,
      query: new URLSearchParams(),
      headers: { authorization: 'Bearer admin', accept: 'application/json', ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? Buffer.from(JSON.stringify(body)) : Buffer.alloc(0),
      signal: new AbortController().signal,
      requestId: randomUUID(),
    });
    const text = response.body?.toString() ?? '';
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  };
  const pods = '/api/v1/namespaces/default/pods';
  const createPod = async (name: string): Promise<KubeObject> => {
    const created = await call('POST', pods, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name },
      spec: { nodeName: 'node-a', containers: [{ name: 'c', image: 'busybox' }] },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    return created.body as KubeObject;
  };
  const running = (pod: KubeObject, podIP: string) => ({ ...pod, spec: { ...(pod.spec as object), nodeName: 'node-b' }, status: { phase: 'Running', podIP } });

  it('writes the status without reading the pod, and keeps everything but the status as stored', async () => {
    const pod = await createPod('remembered');
    reads = 0;
    const written = await call('PUT', `${pods}/remembered/status`, running(pod, '10.0.0.1'));
    assert.equal(written.status, 200, JSON.stringify(written.body));
    assert.equal(reads, 0, 'no read of the pod');
    const stored = await elsewhere.get(types.pods, 'default', 'remembered');
    assert.deepEqual(stored.status, { phase: 'Running', podIP: '10.0.0.1' });
    assert.equal((stored.spec as { nodeName?: string }).nodeName, 'node-a', 'the spec is not changed through status');
    assert.equal(stored.metadata.resourceVersion, written.body.metadata.resourceVersion);
    assert.notEqual(stored.metadata.resourceVersion, pod.metadata.resourceVersion);
  });

  it('answers 409 for a resourceVersion another process moved the pod on from, and loses nothing', async () => {
    const pod = await createPod('moved-on');
    const theirs = await elsewhere.update(types.pods, { ...pod, status: { phase: 'Pending', podIP: '10.0.0.2' } });
    const stale = await call('PUT', `${pods}/moved-on/status`, running(pod, '10.0.0.3'));
    assert.equal(stale.status, 409, JSON.stringify(stale.body));
    const stored = await elsewhere.get(types.pods, 'default', 'moved-on');
    assert.deepEqual([stored.metadata.resourceVersion, stored.status], [theirs.metadata.resourceVersion, { phase: 'Pending', podIP: '10.0.0.2' }]);

    // At the version it now reads, the same write lands.
    const fresh = await call('PUT', `${pods}/moved-on/status`, running(stored, '10.0.0.3'));
    assert.equal(fresh.status, 200, JSON.stringify(fresh.body));
    assert.equal(((await elsewhere.get(types.pods, 'default', 'moved-on')).status as { podIP?: string }).podIP, '10.0.0.3');
  });

  it('answers 409, not 422, for a stale and invalid status write, as kube-apiserver does', async () => {
    const pod = await createPod('stale-invalid');
    await elsewhere.update(types.pods, { ...pod, status: { phase: 'Pending' } });
    const answer = await call('PUT', `${pods}/stale-invalid/status`, { ...pod, status: { phase: 'NotAPhase' } });
    assert.equal(answer.status, 409, JSON.stringify(answer.body));
  });

  it('keeps what it remembers when a caller tries to change the object it was handed', async () => {
    const pod = await createPod('handed-out');
    const version = pod.metadata.resourceVersion ?? '';
    const handed = store.rememberedAt?.(types.pods, 'default', 'handed-out', version) as any;
    assert.ok(handed, 'the store remembers the pod it created');
    const asCreated = JSON.stringify(handed);
    // Frozen objects refuse changes with a TypeError; a copy would take them. Either way the store's own memory stays as it was.
    for (const change of [
      () => (handed.metadata.labels = { changed: 'yes' }),
      () => (handed.spec.containers[0].image = 'changed'),
      () => handed.spec.containers.push({ name: 'extra', image: 'x' }),
    ]) {
      try {
        change();
      } catch (error) {
        assert.ok(error instanceof TypeError, String(error));
      }
    }
    assert.equal(JSON.stringify(store.rememberedAt?.(types.pods, 'default', 'handed-out', version)), asCreated);

    // A status write planned from memory keeps everything but the status as it was stored.
    reads = 0;
    const written = await call('PUT', `${pods}/handed-out/status`, running(pod, '10.0.0.4'));
    assert.equal(written.status, 200, JSON.stringify(written.body));
    assert.equal(reads, 0, 'planned from memory');
    const stored = await elsewhere.get(types.pods, 'default', 'handed-out');
    assert.deepEqual([stored.metadata.labels, stored.spec], [pod.metadata.labels, pod.spec]);
  });
});

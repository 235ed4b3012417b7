import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isApiError } from '../../../functions/core/errors.ts';
import { createMemoryDatabase, createMemoryStore } from '../../../functions/store/memory-store.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import { describeObjectStoreContract } from '../../support/object-store-contract.ts';

describeObjectStoreContract('Memory store', async () => {
  const database = createMemoryDatabase();
  return {
    open: (options) => createMemoryStore({ database, pollIntervalMs: 50, ...options }),
    cleanup: async () => {},
  };
});

describe('Memory store', () => {
  const configMap = (name: string, data: Record<string, string> = {}): KubeObject => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: 'mem' },
    data,
  });

  it('hands out copies: changing a returned object changes nothing stored', async () => {
    const store = createMemoryStore();
    const created = await store.create(types.configmaps, configMap('copy', { a: '1' }));
    (created.data as Record<string, string>).a = 'changed';
    const listed = await store.list(types.configmaps, { namespace: 'mem' });
    (listed.items[0]?.data as Record<string, string>).a = 'changed too';
    assert.deepEqual((await store.get(types.configmaps, 'mem', 'copy')).data, { a: '1' });
  });

  it('lets stores over one database see each other, as processes over one table do', async () => {
    const database = createMemoryDatabase();
    const one = createMemoryStore({ database });
    const other = createMemoryStore({ database });
    const created = await one.create(types.configmaps, configMap('shared'));
    assert.equal((await other.get(types.configmaps, 'mem', 'shared')).metadata.uid, created.metadata.uid);
    assert.equal(await other.currentRevision(types.configmaps), created.metadata.resourceVersion);
    await assert.rejects(createMemoryStore().get(types.configmaps, 'mem', 'shared'), (error) => isApiError(error, 404));
  });

  it('drops change-log entries once they are past the retention', async () => {
    let clock = Date.parse('2026-01-01T00:00:00Z');
    const store = createMemoryStore({ changeRetentionSeconds: 60, now: () => new Date(clock) });
    for (let i = 0; i < 100; i++)
      await store.create(types.leases, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: `l${i}`, namespace: 'mem' }, spec: {} });
    clock += 61_000;
    const last = await store.create(types.leases, {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'last', namespace: 'mem' },
      spec: {},
    });
    const iterator = store.watch(types.leases, { resourceVersion: '1', signal: AbortSignal.timeout(5000) })[Symbol.asyncIterator]();
    await assert.rejects(iterator.next(), (error) => isApiError(error, 410) && error.message === 'too old resource version: 1 (100)');
    const controller = new AbortController();
    const events = store.watch(types.leases, { resourceVersion: '100', signal: controller.signal })[Symbol.asyncIterator]();
    assert.equal((await events.next()).value?.object.metadata.resourceVersion, last.metadata.resourceVersion);
    controller.abort();
  });
});

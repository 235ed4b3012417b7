/** The scheduler's view of every pod: listed once, then brought up to date from the change log, never used short of a revision. */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { GoneError } from '../../../functions/core/errors.ts';
import { readPods, readPodsThrough } from '../../../functions/scheduler/pod-view.ts';
import { inChunks } from '../../../functions/store/list-all.ts';
import { createMemoryDatabase, createMemoryStore, type MemoryStore } from '../../../functions/store/memory-store.ts';
import type { ObjectReader } from '../../../functions/store/store.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';

function pod(name: string): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'apps' }, spec: { containers: [{ name: 'web', image: 'nginx' }] } };
}

/** The scheduler's reader over a store, counting its lists of pods (first pages); `changesSince` may be replaced or left out. */
function readerOf(store: MemoryStore, changesSince: ObjectReader['changesSince'] | 'none' = (...args) => store.changesSince!(...args)) {
  const counts = { podLists: 0 };
  const reader: ObjectReader = {
    get: (...args) => store.get(...args),
    list: (type, options) => {
      if (type.id === types.pods.id && !options?.continue) counts.podLists++;
      return store.list(type, options);
    },
    watch: (...args) => store.watch(...args),
    currentRevision: (...args) => store.currentRevision(...args),
    ...(changesSince !== 'none' ? { changesSince } : {}),
  };
  return { reader, counts };
}

const names = (pods: readonly KubeObject[]) => pods.map((p) => p.metadata.name).sort();
const nodeOf = (pods: readonly KubeObject[], name: string) => (pods.find((p) => p.metadata.name === name)?.spec as { nodeName?: string } | undefined)?.nodeName;

let store: MemoryStore;
/** Another process writing to the same data. */
let other: MemoryStore;
beforeEach(async () => {
  const database = createMemoryDatabase();
  store = createMemoryStore({ database });
  other = createMemoryStore({ database });
  await store.create(types.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'apps' } });
  for (const name of ['a', 'b']) await store.create(types.pods, pod(name));
});

describe('readPods', () => {
  it('lists every pod the first time, then reads only the changes made since', async () => {
    const { reader, counts } = readerOf(store);
    assert.deepEqual(names((await readPods(reader)).items), ['a', 'b']);
    const a = await other.get(types.pods, 'apps', 'a');
    await other.update(types.pods, { ...a, spec: { ...(a.spec as object), nodeName: 'n1' } });
    await other.delete(types.pods, 'apps', 'b');
    await other.create(types.pods, pod('c'));

    const read = await readPods(reader);
    assert.equal(counts.podLists, 1, 'the second read lists nothing');
    assert.deepEqual(names(read.items), ['a', 'c']);
    assert.equal(nodeOf(read.items, 'a'), 'n1', 'the binding made elsewhere is in the view');
    assert.equal(read.revision, await store.currentRevision(types.pods));
  });

  it('keeps one view per store', async () => {
    const first = readerOf(store);
    const second = readerOf(store);
    await readPods(first.reader);
    await readPods(second.reader);
    assert.deepEqual([first.counts.podLists, second.counts.podLists], [1, 1]);
  });

  it('lists again when the log no longer holds the changes (410)', async () => {
    const { reader, counts } = readerOf(store, () => Promise.reject(new GoneError('too old resource version')));
    await readPods(reader);
    await other.create(types.pods, pod('c'));
    assert.deepEqual(names((await readPods(reader)).items), ['a', 'b', 'c']);
    assert.equal(counts.podLists, 2);
  });

  it('lists again when more changes wait than the view has pods (and at least 1,000)', async () => {
    const { reader, counts } = readerOf(store);
    await readPods(reader);
    const many = Array.from({ length: 1001 }, (_, i) => pod(`p-${i}`));
    await inChunks(many, 25, (chunk) =>
      other.batch(
        types.pods,
        chunk.map((object) => ({ op: 'create' as const, object })),
      ),
    );
    assert.equal((await readPods(reader)).items.length, 1003);
    assert.equal(counts.podLists, 2);
  });

  it('lists when the store cannot read its changes', async () => {
    const { reader, counts } = readerOf(store, 'none');
    await readPods(reader);
    await readPods(reader);
    assert.equal(counts.podLists, 2);
  });
});

describe('readPodsThrough', () => {
  it('gives the pods back as they are when they are already at the revision', async () => {
    const { reader, counts } = readerOf(store);
    const read = await readPods(reader);
    assert.equal(await readPodsThrough(reader, read, read.revision), read);
    assert.equal(counts.podLists, 1);
  });

  it('brings the pods up to the revision from the change log', async () => {
    const { reader, counts } = readerOf(store);
    const read = await readPods(reader);
    await other.create(types.pods, pod('c'));
    const through = await readPodsThrough(reader, read, await store.currentRevision(types.pods));
    assert.deepEqual(names(through.items), ['a', 'b', 'c']);
    assert.equal(counts.podLists, 1);
  });

  it('never hands out a view short of the revision: a log that lags is not trusted, the pods are listed', async () => {
    // A log that has not yet seen the newest change answers "nothing new".
    const lagging: ObjectReader['changesSince'] = async (_type, resourceVersion) => ({ events: [], resourceVersion });
    const { reader, counts } = readerOf(store, lagging);
    const read = await readPods(reader);
    await other.create(types.pods, pod('c'));
    const through = await readPodsThrough(reader, read, await store.currentRevision(types.pods));
    assert.deepEqual(names(through.items), ['a', 'b', 'c']);
    assert.equal(counts.podLists, 2);
  });
});

/**
 * The `ObjectStore` contract: one suite that every store adapter passes (DynamoDB in
 * test/integration/store, memory in test/unit/store). What it checks is what clients of the
 * store rely on — server fields, conflicts, list and watch semantics, graceful deletion,
 * batches, size limits — whatever holds the objects.
 *
 *   describeObjectStoreContract('Memory store', async () => {
 *     const database = createMemoryDatabase();
 *     return { open: (options) => createMemoryStore({ database, ...options }), cleanup: async () => {} };
 *   });
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConflictError, isApiError } from '../../functions/core/errors.ts';
import type { ObjectStore, WatchEvent, WatchOptions } from '../../functions/store/store.ts';
import type { KubeObject } from '../../schemas/meta.ts';
import { type ResourceType, types } from '../../schemas/registry.ts';

export type ClosableStore = ObjectStore & { close(): void };

/** Options every adapter takes; `open` gives the adapter's quick test defaults for the rest (e.g. a short poll interval). */
export interface ContractStoreOptions {
  readonly bookmarkIntervalMs?: number;
  readonly changeRetentionSeconds?: number;
  readonly now?: () => Date;
}

export interface StoreUnderTest {
  /** A new store over the same data: a second one stands for another process. */
  open(options?: ContractStoreOptions): ClosableStore;
  cleanup(): Promise<void>;
}

function configMap(namespace: string, name: string, data: Record<string, string> = {}, labels?: Record<string, string>): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, ...(labels ? { labels } : {}) }, data };
}

function pod(namespace: string, name: string, labels: Record<string, string>, nodeName?: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels },
    spec: { containers: [{ name: 'c', image: 'busybox' }], ...(nodeName ? { nodeName } : {}) },
  };
}

/** Reads events until `count` arrived or `timeoutMs` passed, then ends the watch. */
async function take(s: ObjectStore, type: ResourceType, options: Omit<WatchOptions, 'signal'>, count: number, timeoutMs = 5000): Promise<WatchEvent[]> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const events: WatchEvent[] = [];
  try {
    for await (const event of s.watch(type, { ...options, signal: controller.signal })) {
      events.push(event);
      if (events.length >= count) break;
    }
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return events;
}

const summary = (events: readonly WatchEvent[]): string[] => events.map((e) => `${e.type} ${e.object.metadata.name ?? ''}`);

export function describeObjectStoreContract(adapter: string, setup: () => Promise<StoreUnderTest>): void {
  let subject: StoreUnderTest;
  let store: ClosableStore;

  before(async () => {
    subject = await setup();
    store = subject.open();
  });

  after(async () => {
    store.close();
    await subject.cleanup();
  });

  describe(`${adapter}: create, get, update, delete`, () => {
    it('stores an object with server fields and reads it back', async () => {
      const created = await store.create(types.configmaps, configMap('crud', 'one', { a: '1' }));
      assert.match(created.metadata.uid ?? '', /^[0-9a-f-]{36}$/);
      assert.match(created.metadata.creationTimestamp ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.match(created.metadata.resourceVersion ?? '', /^\d+$/);
      assert.deepEqual(await store.get(types.configmaps, 'crud', 'one'), created);
    });

    it('updates with the stored revision, keeping uid and creationTimestamp', async () => {
      const created = await store.create(types.configmaps, configMap('crud', 'two', { a: '1' }));
      const updated = await store.update(types.configmaps, { ...created, metadata: { ...created.metadata, uid: 'forged' }, data: { a: '2' } });
      assert.equal(updated.metadata.uid, created.metadata.uid);
      assert.equal(updated.metadata.creationTimestamp, created.metadata.creationTimestamp);
      assert.ok(Number(updated.metadata.resourceVersion) > Number(created.metadata.resourceVersion));
      assert.deepEqual(updated.data, { a: '2' });
    });

    it('answers 409 AlreadyExists for a taken name and 404 for a missing object', async () => {
      await store.create(types.configmaps, configMap('crud', 'three'));
      await assert.rejects(store.create(types.configmaps, configMap('crud', 'three')), (error) => isApiError(error, 409) && error.reason === 'AlreadyExists');
      await assert.rejects(
        store.get(types.configmaps, 'crud', 'missing'),
        (error) => isApiError(error, 404) && error.message === 'configmaps "missing" not found',
      );
      await assert.rejects(store.update(types.configmaps, configMap('crud', 'missing')), (error) => isApiError(error, 404));
      await assert.rejects(store.delete(types.configmaps, 'crud', 'missing'), (error) => isApiError(error, 404));
    });

    it('answers 409 Conflict for an update from a stale revision', async () => {
      const created = await store.create(types.configmaps, configMap('crud', 'four', { a: '1' }));
      await store.update(types.configmaps, { ...created, data: { a: '2' } });
      await assert.rejects(store.update(types.configmaps, { ...created, data: { a: '3' } }), (error) => isApiError(error, 409) && error.reason === 'Conflict');
      const forced = await store.update(types.configmaps, { ...created, data: { a: '4' } }, { expectedResourceVersion: null });
      assert.deepEqual(forced.data, { a: '4' });
    });

    it('does not write an update that changes nothing', async () => {
      const created = await store.create(types.configmaps, configMap('crud', 'five', { a: '1' }));
      const before = await store.currentRevision(types.configmaps);
      const same = await store.update(types.configmaps, { ...created, data: { a: '1' } });
      assert.equal(same.metadata.resourceVersion, created.metadata.resourceVersion);
      assert.equal(await store.currentRevision(types.configmaps), before);
    });

    it('deletes an object without finalizers at once', async () => {
      await store.create(types.configmaps, configMap('crud', 'six'));
      const result = await store.delete(types.configmaps, 'crud', 'six');
      assert.equal(result.removed, true);
      await assert.rejects(store.get(types.configmaps, 'crud', 'six'), (error) => isApiError(error, 404));
    });

    it('checks delete preconditions', async () => {
      const created = await store.create(types.configmaps, configMap('crud', 'seven'));
      await assert.rejects(store.delete(types.configmaps, 'crud', 'seven', { preconditions: { uid: 'other' } }), (error) => isApiError(error, 409));
      await assert.rejects(store.delete(types.configmaps, 'crud', 'seven', { preconditions: { resourceVersion: '1' } }), (error) => isApiError(error, 409));
      const result = await store.delete(types.configmaps, 'crud', 'seven', { preconditions: { uid: created.metadata.uid ?? '' } });
      assert.equal(result.removed, true);
    });

    it('stores cluster-scoped objects without a namespace', async () => {
      const node = await store.create(types.nodes, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-a' }, spec: {} });
      assert.equal(node.metadata.namespace, undefined);
      assert.equal((await store.get(types.nodes, undefined, 'node-a')).metadata.name, 'node-a');
    });

    it('refuses malformed metadata with a 422 naming the field, so stored objects always parse', async () => {
      const malformed = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'bad', namespace: 'crud', labels: { a: 1 } } } as unknown as KubeObject;
      await assert.rejects(
        store.create(types.configmaps, malformed),
        (error) => isApiError(error, 422) && error.details?.causes?.[0]?.field === 'metadata.labels.a',
      );
    });

    it('refuses a namespaced object without a namespace with a 400', async () => {
      await assert.rejects(store.create(types.configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } }), (error) => isApiError(error, 400));
    });
  });

  describe(`${adapter}: names and generation`, () => {
    it('generates distinct names from generateName', async () => {
      const names = new Set<string>();
      for (let i = 0; i < 5; i++) {
        const created = await store.create(types.configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'web-', namespace: 'gen' } });
        assert.match(created.metadata.name ?? '', /^web-[a-z0-9]{5}$/);
        names.add(created.metadata.name ?? '');
      }
      assert.equal(names.size, 5);
    });

    it('sets generation 1 at create and bumps it only when spec changes', async () => {
      const deployment: KubeObject = {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web', namespace: 'gen' },
        spec: { replicas: 1, selector: { matchLabels: { app: 'web' } } },
      };
      const created = await store.create(types.deployments, deployment);
      assert.equal(created.metadata.generation, 1);
      const relabelled = await store.update(types.deployments, { ...created, metadata: { ...created.metadata, labels: { x: 'y' } } });
      assert.equal(relabelled.metadata.generation, 1);
      const withStatus = await store.update(types.deployments, { ...relabelled, status: { replicas: 1 } });
      assert.equal(withStatus.metadata.generation, 1);
      const scaled = await store.update(types.deployments, { ...withStatus, spec: { replicas: 3, selector: { matchLabels: { app: 'web' } } } });
      assert.equal(scaled.metadata.generation, 2);
    });
  });

  describe(`${adapter}: objects handed out`, () => {
    it('plans an update from what is stored, not from an object the caller changed in place', async () => {
      await store.create(types.deployments, {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'in-place', namespace: 'gen' },
        spec: { replicas: 1, selector: { matchLabels: { app: 'web' } } },
      });
      const read = await store.get(types.deployments, 'gen', 'in-place');
      (read.spec as { replicas: number }).replicas = 3;
      const updated = await store.update(types.deployments, read);
      assert.equal(updated.metadata.generation, 2);
      const listed = await store.list(types.deployments, { namespace: 'gen' });
      const item = listed.items.find((candidate) => candidate.metadata.name === 'in-place');
      assert.ok(item);
      (item.spec as { replicas: number }).replicas = 5;
      assert.equal((await store.update(types.deployments, item)).metadata.generation, 3);
      assert.deepEqual((await store.get(types.deployments, 'gen', 'in-place')).spec, { replicas: 5, selector: { matchLabels: { app: 'web' } } });
    });
  });

  describe(`${adapter}: concurrency`, () => {
    // Two store instances stand for two processes: their writers race on the counter item.
    let rival: ClosableStore;
    before(() => {
      rival = subject.open();
    });
    after(() => rival.close());

    it('loses no update when 20 writers in two processes each retry on conflict', async () => {
      await store.create(types.configmaps, configMap('race', 'counter', { count: '0' }));
      await Promise.all(
        Array.from({ length: 20 }, async (_, writer) => {
          const writerStore = writer % 2 === 0 ? rival : store;
          for (let attempt = 0; attempt < 200; attempt++) {
            const current = await writerStore.get(types.configmaps, 'race', 'counter');
            const data = current.data as Record<string, string>;
            try {
              await writerStore.update(types.configmaps, { ...current, data: { count: String(Number(data.count) + 1) } });
              return;
            } catch (error) {
              if (!(error instanceof ConflictError)) throw error;
            }
          }
          throw new Error('gave up after 200 conflicts');
        }),
      );
      const final = await store.get(types.configmaps, 'race', 'counter');
      assert.deepEqual(final.data, { count: '20' });
    });

    it('answers 409 for an update from a revision another process moved past, whether or not it changes anything', async () => {
      const created = await store.create(types.configmaps, configMap('race', 'moved', { a: '1' }));
      await rival.update(types.configmaps, { ...created, data: { a: '2' } });
      await assert.rejects(store.update(types.configmaps, { ...created, data: { a: '2' } }), (error) => isApiError(error, 409) && error.reason === 'Conflict');
      await assert.rejects(store.update(types.configmaps, { ...created, data: { a: '1' } }), (error) => isApiError(error, 409) && error.reason === 'Conflict');
      await assert.rejects(store.update(types.configmaps, { ...created, data: { a: '3' } }), (error) => isApiError(error, 409) && error.reason === 'Conflict');
      assert.deepEqual((await store.get(types.configmaps, 'race', 'moved')).data, { a: '2' });
    });

    it('gives concurrent writers gap-free revisions in commit order', async () => {
      const type = types.leases;
      // Revision 0 would mean "list first" to a watch.
      await store.create(type, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'first', namespace: 'race' }, spec: {} });
      const start = Number(await store.currentRevision(type));
      const created = await Promise.all(
        Array.from({ length: 25 }, (_, i) =>
          (i % 2 === 0 ? rival : store).create(type, {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name: `l${i}`, namespace: 'race' },
            spec: {},
          }),
        ),
      );
      const revisions = created.map((object) => Number(object.metadata.resourceVersion)).sort((a, b) => a - b);
      assert.deepEqual(
        revisions,
        Array.from({ length: 25 }, (_, i) => start + i + 1),
      );
      const events = await take(store, type, { resourceVersion: String(start) }, 25);
      assert.deepEqual(
        events.map((event) => Number(event.object.metadata.resourceVersion)),
        revisions,
      );
      assert.equal(await store.currentRevision(type), String(start + 25));
    });
  });

  describe(`${adapter}: list`, () => {
    before(async () => {
      for (let i = 0; i < 7; i++) {
        await store.create(types.pods, pod('list', `p${i}`, { app: i % 2 === 0 ? 'web' : 'db', index: String(i) }, i < 3 ? 'node-1' : undefined));
      }
      await store.create(types.pods, pod('list-other', 'elsewhere', { app: 'web' }));
    });

    it('lists one namespace or all, with the revision read before the items', async () => {
      const revision = await store.currentRevision(types.pods);
      const listed = await store.list(types.pods, { namespace: 'list' });
      assert.deepEqual(
        listed.items.map((item) => item.metadata.name),
        ['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6'],
      );
      assert.ok(Number(listed.resourceVersion) >= Number(revision));
      const all = await store.list(types.pods);
      assert.ok(all.items.some((item) => item.metadata.namespace === 'list-other'));
    });

    it('filters by label and field selectors', async () => {
      const web = await store.list(types.pods, { namespace: 'list', labelSelector: 'app=web' });
      assert.deepEqual(
        web.items.map((item) => item.metadata.name),
        ['p0', 'p2', 'p4', 'p6'],
      );
      const scheduled = await store.list(types.pods, { namespace: 'list', fieldSelector: 'spec.nodeName=node-1' });
      assert.deepEqual(
        scheduled.items.map((item) => item.metadata.name),
        ['p0', 'p1', 'p2'],
      );
      const both = await store.list(types.pods, { namespace: 'list', labelSelector: 'app in (web),index!=0', fieldSelector: 'spec.nodeName!=' });
      assert.deepEqual(
        both.items.map((item) => item.metadata.name),
        ['p2'],
      );
      await assert.rejects(store.list(types.pods, { fieldSelector: 'spec.bogus=x' }), (error) => isApiError(error, 400));
      await assert.rejects(store.list(types.pods, { labelSelector: 'app in (' }), (error) => isApiError(error, 400));
    });

    it('pages with limit and continue at one revision', async () => {
      const pages: string[][] = [];
      let token: string | undefined;
      let revision: string | undefined;
      do {
        const page = await store.list(types.pods, { namespace: 'list', limit: 3, ...(token ? { continue: token } : {}) });
        pages.push(page.items.map((item) => item.metadata.name ?? ''));
        revision ??= page.resourceVersion;
        assert.equal(page.resourceVersion, revision);
        token = page.continue;
      } while (token);
      assert.deepEqual(pages, [['p0', 'p1', 'p2'], ['p3', 'p4', 'p5'], ['p6']]);
    });

    it('pages a filtered list without losing items', async () => {
      const names: string[] = [];
      let token: string | undefined;
      do {
        const page = await store.list(types.pods, { namespace: 'list', labelSelector: 'app=web', limit: 1, ...(token ? { continue: token } : {}) });
        names.push(...page.items.map((item) => item.metadata.name ?? ''));
        token = page.continue;
      } while (token);
      assert.deepEqual(names, ['p0', 'p2', 'p4', 'p6']);
    });

    it('refuses a malformed continue token with a 400', async () => {
      await assert.rejects(store.list(types.pods, { continue: 'not-a-token' }), (error) => isApiError(error, 400));
    });

    it('refuses a continue token from a list of another namespace with a 400', async () => {
      const page = await store.list(types.pods, { namespace: 'list', limit: 1 });
      assert.ok(page.continue);
      await assert.rejects(store.list(types.pods, { namespace: 'list-other', continue: page.continue }), (error) => isApiError(error, 400));
    });
  });

  describe(`${adapter}: watch`, () => {
    it('lists a type never written at a revision above 0, from which a watch gets the first create', async () => {
      const type = types.cronjobs;
      const empty = await store.list(type, { namespace: 'never' });
      assert.deepEqual(empty.items, []);
      assert.ok(Number(empty.resourceVersion) > 0, `an empty list reports revision ${empty.resourceVersion}, which a watch reads as "any"`);
      const other = subject.open();
      try {
        const again = await other.list(type);
        assert.ok(Number(again.resourceVersion) >= Number(empty.resourceVersion), 'another process lists it at the same revision or later');
      } finally {
        other.close();
      }
      const watching = take(store, type, { resourceVersion: empty.resourceVersion, namespace: 'never' }, 1);
      const created = await store.create(type, {
        apiVersion: 'batch/v1',
        kind: 'CronJob',
        metadata: { name: 'first', namespace: 'never' },
        spec: { schedule: '* * * * *', jobTemplate: { spec: { template: { spec: { containers: [] } } } } },
      });
      assert.ok(Number(created.metadata.resourceVersion) > Number(empty.resourceVersion));
      assert.deepEqual(summary(await watching), ['ADDED first']);
    });

    it('replays changes after a revision in order, with their event types', async () => {
      const from = await store.currentRevision(types.configmaps);
      const created = await store.create(types.configmaps, configMap('watch', 'w1', { a: '1' }));
      await store.update(types.configmaps, { ...created, data: { a: '2' } });
      await store.delete(types.configmaps, 'watch', 'w1');
      const events = await take(store, types.configmaps, { resourceVersion: from, namespace: 'watch' }, 3);
      assert.deepEqual(summary(events), ['ADDED w1', 'MODIFIED w1', 'DELETED w1']);
      const revisions = events.map((event) => Number(event.object.metadata.resourceVersion));
      assert.deepEqual(revisions, [Number(from) + 1, Number(from) + 2, Number(from) + 3]);
      assert.deepEqual(events[2]?.object.data, { a: '2' });
    });

    it('follows writes made after it started', async () => {
      const from = await store.currentRevision(types.configmaps);
      const watching = take(store, types.configmaps, { resourceVersion: from, namespace: 'follow' }, 2);
      const created = await store.create(types.configmaps, configMap('follow', 'f1'));
      await store.update(types.configmaps, { ...created, data: { b: '1' } });
      assert.deepEqual(summary(await watching), ['ADDED f1', 'MODIFIED f1']);
    });

    it('follows writes of another store instance by polling', async () => {
      const other = subject.open();
      try {
        const from = await other.currentRevision(types.configmaps);
        const watching = take(other, types.configmaps, { resourceVersion: from, namespace: 'poll' }, 1);
        await store.create(types.configmaps, configMap('poll', 'p1'));
        assert.deepEqual(summary(await watching), ['ADDED p1']);
      } finally {
        other.close();
      }
    });

    it('filters by namespace and selectors, turning label changes into ADDED and DELETED', async () => {
      const from = await store.currentRevision(types.configmaps);
      const a = await store.create(types.configmaps, configMap('sel', 'a', {}, { app: 'web' }));
      await store.create(types.configmaps, configMap('sel', 'b', {}, { app: 'db' }));
      await store.create(types.configmaps, configMap('sel-other', 'c', {}, { app: 'web' }));
      const moved = await store.update(types.configmaps, { ...a, metadata: { ...a.metadata, labels: { app: 'db' } } });
      const back = await store.update(types.configmaps, { ...moved, metadata: { ...moved.metadata, labels: { app: 'web' } } });
      await store.update(types.configmaps, { ...back, data: { x: '1' } });
      const events = await take(store, types.configmaps, { resourceVersion: from, namespace: 'sel', labelSelector: 'app=web' }, 4);
      assert.deepEqual(summary(events), ['ADDED a', 'DELETED a', 'ADDED a', 'MODIFIED a']);
    });

    it('sends pods that get bound to a node as ADDED to a nodeName watch', async () => {
      const from = await store.currentRevision(types.pods);
      const created = await store.create(types.pods, pod('bind', 'p', { app: 'x' }));
      await store.update(types.pods, { ...created, spec: { ...(created.spec as object), nodeName: 'node-9' } });
      const events = await take(store, types.pods, { resourceVersion: from, fieldSelector: 'spec.nodeName=node-9' }, 1);
      assert.deepEqual(summary(events), ['ADDED p']);
    });

    it('starts from revision 0 with the current objects as ADDED, then follows', async () => {
      await store.create(types.configmaps, configMap('zero', 'z1'));
      await store.create(types.configmaps, configMap('zero', 'z2'));
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), 5000);
      const events: WatchEvent[] = [];
      try {
        for await (const event of store.watch(types.configmaps, { resourceVersion: '0', namespace: 'zero', signal: controller.signal })) {
          events.push(event);
          if (events.length === 2) await store.create(types.configmaps, configMap('zero', 'z3'));
          if (events.length === 3) break;
        }
      } finally {
        clearTimeout(timer);
        controller.abort();
      }
      assert.deepEqual(summary(events), ['ADDED z1', 'ADDED z2', 'ADDED z3']);
    });

    it('sends a BOOKMARK at the latest revision when quiet and bookmarks are allowed', async () => {
      const quick = subject.open({ bookmarkIntervalMs: 100 });
      try {
        const from = await quick.currentRevision(types.secrets);
        const [event] = await take(quick, types.secrets, { resourceVersion: from, allowBookmarks: true }, 1);
        assert.equal(event?.type, 'BOOKMARK');
        assert.equal(event?.object.kind, 'Secret');
        // From "0" (a type never written) the watch lists first, which moves the type to a real revision.
        assert.equal(event?.object.metadata.resourceVersion, from === '0' ? await quick.currentRevision(types.secrets) : from);
        assert.notEqual(event?.object.metadata.resourceVersion, '0');
      } finally {
        quick.close();
      }
    });

    it('ends when its signal aborts', async () => {
      const controller = new AbortController();
      const iterator = store
        .watch(types.configmaps, { resourceVersion: await store.currentRevision(types.configmaps), signal: controller.signal })
        [Symbol.asyncIterator]();
      const next = iterator.next();
      controller.abort();
      assert.deepEqual(await next, { done: true, value: undefined });
    });

    it('answers 410 Expired for a revision older than the retained change log', async () => {
      let clock = Date.now();
      const shortLived = subject.open({
        changeRetentionSeconds: 60,
        now: () => new Date(clock),
      });
      try {
        await shortLived.create(types.endpoints, { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'first', namespace: 'expiry' } });
        const from = await shortLived.currentRevision(types.endpoints);
        await shortLived.create(types.endpoints, { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'old', namespace: 'expiry' } });
        clock += 61_000;
        await shortLived.create(types.endpoints, { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'new', namespace: 'expiry' } });
        const iterator = shortLived.watch(types.endpoints, { resourceVersion: from, signal: AbortSignal.timeout(5000) })[Symbol.asyncIterator]();
        await assert.rejects(
          iterator.next(),
          (error) => isApiError(error, 410) && error.reason === 'Expired' && error.message.startsWith(`too old resource version: ${from} (`),
        );
        // The newer entry is still retained: a watch from it works.
        const events = await take(shortLived, types.endpoints, { resourceVersion: String(Number(from) + 1) }, 1);
        assert.deepEqual(summary(events), ['ADDED new']);
      } finally {
        shortLived.close();
      }
    });

    it('answers 410 for a revision the type has not reached yet', async () => {
      const ahead = String(Number(await store.currentRevision(types.configmaps)) + 1000);
      const iterator = store.watch(types.configmaps, { resourceVersion: ahead, signal: AbortSignal.timeout(5000) })[Symbol.asyncIterator]();
      await assert.rejects(iterator.next(), (error) => isApiError(error, 410) && error.message.startsWith(`too large resource version: ${ahead}`));
    });

    it('refuses a malformed resourceVersion with a 400', async () => {
      const iterator = store.watch(types.configmaps, { resourceVersion: 'abc', signal: AbortSignal.timeout(5000) })[Symbol.asyncIterator]();
      await assert.rejects(iterator.next(), (error) => isApiError(error, 400));
    });
  });

  describe(`${adapter}: graceful deletion`, () => {
    it('marks an object with finalizers and removes it when the last finalizer goes', async () => {
      const from = await store.currentRevision(types.configmaps);
      await store.create(types.configmaps, { ...configMap('final', 'held'), metadata: { name: 'held', namespace: 'final', finalizers: ['example.com/hold'] } });
      const marked = await store.delete(types.configmaps, 'final', 'held');
      assert.equal(marked.removed, false);
      assert.ok(marked.object.metadata.deletionTimestamp);
      const stored = await store.get(types.configmaps, 'final', 'held');
      assert.equal(stored.metadata.deletionTimestamp, marked.object.metadata.deletionTimestamp);
      // A second delete leaves it marked.
      assert.equal((await store.delete(types.configmaps, 'final', 'held')).removed, false);
      const released = await store.update(types.configmaps, { ...stored, metadata: { ...stored.metadata, finalizers: [] } });
      await assert.rejects(store.get(types.configmaps, 'final', 'held'), (error) => isApiError(error, 404));
      assert.ok(Number(released.metadata.resourceVersion) > Number(stored.metadata.resourceVersion));
      const events = await take(store, types.configmaps, { resourceVersion: from, namespace: 'final' }, 3);
      assert.deepEqual(summary(events), ['ADDED held', 'MODIFIED held', 'DELETED held']);
      assert.equal(events[2]?.object.metadata.resourceVersion, released.metadata.resourceVersion);
    });

    it('tells a selective watch about a removal whose last update moved the object out of view', async () => {
      const from = await store.currentRevision(types.configmaps);
      await store.create(types.configmaps, {
        ...configMap('final', 'moving', {}, { app: 'web' }),
        metadata: { name: 'moving', namespace: 'final', labels: { app: 'web' }, finalizers: ['f'] },
      });
      const marked = await store.delete(types.configmaps, 'final', 'moving');
      await store.update(types.configmaps, { ...marked.object, metadata: { ...marked.object.metadata, labels: { app: 'db' }, finalizers: [] } });
      await assert.rejects(store.get(types.configmaps, 'final', 'moving'), (error) => isApiError(error, 404));
      const events = await take(store, types.configmaps, { resourceVersion: from, namespace: 'final', labelSelector: 'app=web' }, 3);
      assert.deepEqual(summary(events), ['ADDED moving', 'MODIFIED moving', 'DELETED moving']);
    });

    it('marks on a grace period and removes on a later delete with grace 0', async () => {
      await store.create(types.pods, pod('grace', 'slow', { app: 'x' }));
      const marked = await store.delete(types.pods, 'grace', 'slow', { gracePeriodSeconds: 30 });
      assert.equal(marked.removed, false);
      assert.equal(marked.object.metadata.deletionGracePeriodSeconds, 30);
      const removed = await store.delete(types.pods, 'grace', 'slow', { gracePeriodSeconds: 0 });
      assert.equal(removed.removed, true);
      await assert.rejects(store.get(types.pods, 'grace', 'slow'), (error) => isApiError(error, 404));
    });

    it('only marks with mark: true, and adds the requested finalizers', async () => {
      await store.create(types.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'doomed' }, spec: { finalizers: ['kubernetes'] } });
      const marked = await store.delete(types.namespaces, undefined, 'doomed', { mark: true });
      assert.equal(marked.removed, false);
      const status = await store.update(types.namespaces, { ...marked.object, status: { phase: 'Terminating' } });
      assert.ok(status.metadata.deletionTimestamp);
      assert.equal((await store.delete(types.namespaces, undefined, 'doomed', { gracePeriodSeconds: 0 })).removed, true);

      await store.create(types.replicasets, { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'rs', namespace: 'final' }, spec: {} });
      const foreground = await store.delete(types.replicasets, 'final', 'rs', { addFinalizers: ['foregroundDeletion'] });
      assert.equal(foreground.removed, false);
      assert.deepEqual(foreground.object.metadata.finalizers, ['foregroundDeletion']);
    });
  });

  describe(`${adapter}: batch`, () => {
    it('commits several writes with one consecutive revision range', async () => {
      const existing = await store.create(types.configmaps, configMap('batch', 'existing', { v: '1' }));
      const from = Number(await store.currentRevision(types.configmaps));
      const results = await store.batch(types.configmaps, [
        { op: 'create', object: configMap('batch', 'b1') },
        { op: 'create', object: configMap('batch', 'b2') },
        { op: 'update', object: { ...existing, data: { v: '2' } } },
      ]);
      assert.deepEqual(
        results.map((object) => Number(object.metadata.resourceVersion)),
        [from + 1, from + 2, from + 3],
      );
      const removed = await store.batch(types.configmaps, [
        { op: 'delete', namespace: 'batch', name: 'b1' },
        { op: 'delete', namespace: 'batch', name: 'b2' },
      ]);
      assert.equal(removed.length, 2);
      assert.deepEqual(
        (await store.list(types.configmaps, { namespace: 'batch' })).items.map((item) => item.metadata.name),
        ['existing'],
      );
    });

    it('writes nothing when one write fails, naming the failed write', async () => {
      const taken = await store.create(types.configmaps, configMap('atomic', 'taken'));
      const from = await store.currentRevision(types.configmaps);
      await assert.rejects(
        store.batch(types.configmaps, [
          { op: 'create', object: configMap('atomic', 'fresh') },
          { op: 'create', object: configMap('atomic', 'taken') },
        ]),
        (error) => isApiError(error, 409) && error.message.includes('"taken"'),
      );
      await assert.rejects(
        store.batch(types.configmaps, [
          { op: 'create', object: configMap('atomic', 'fresh') },
          { op: 'update', object: { ...taken, metadata: { ...taken.metadata, resourceVersion: '1' }, data: { x: 'y' } } },
        ]),
        (error) => isApiError(error, 409) && error.reason === 'Conflict',
      );
      await assert.rejects(store.get(types.configmaps, 'atomic', 'fresh'), (error) => isApiError(error, 404));
      assert.equal(await store.currentRevision(types.configmaps), from);
    });

    it('refuses more than 25 writes with a 400', async () => {
      const writes = Array.from({ length: 26 }, (_, i) => ({ op: 'create' as const, object: configMap('batch', `many${i}`) }));
      await assert.rejects(store.batch(types.configmaps, writes), (error) => isApiError(error, 400));
    });

    it('commits 25 writes in one transaction', async () => {
      const writes = Array.from({ length: 25 }, (_, i) => ({ op: 'create' as const, object: configMap('batch-full', `item${i}`) }));
      const results = await store.batch(types.configmaps, writes);
      assert.equal(results.length, 25);
    });
  });

  describe(`${adapter}: size limit`, () => {
    it('refuses an object over the item limit with a 413 before writing', async () => {
      const from = await store.currentRevision(types.configmaps);
      const huge = configMap('size', 'huge', { blob: 'x'.repeat(410 * 1024) });
      await assert.rejects(store.create(types.configmaps, huge), (error) => isApiError(error, 413) && /limit is \d+ bytes/.test(error.message));
      await assert.rejects(store.get(types.configmaps, 'size', 'huge'), (error) => isApiError(error, 404));
      assert.equal(await store.currentRevision(types.configmaps), from);
    });

    it('stores an object just under the limit', async () => {
      const big = configMap('size', 'big', { blob: 'x'.repeat(390 * 1024) });
      const created = await store.create(types.configmaps, big);
      assert.equal((await store.get(types.configmaps, 'size', 'big')).metadata.uid, created.metadata.uid);
    });
  });

  describe(`${adapter}: changes since a revision`, () => {
    const endpoints = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'Endpoints', metadata: { name, namespace: 'since' } });
    const inSince = (events: readonly WatchEvent[]) => events.filter((e) => e.object.metadata.namespace === 'since');

    it('gives every change after a revision, from any process, in order, and the revision they reach', async () => {
      const other = subject.open();
      try {
        const from = await store.currentRevision(types.endpoints);
        const a = await store.create(types.endpoints, endpoints('a'));
        await store.update(types.endpoints, { ...a, subsets: [] });
        await other.create(types.endpoints, endpoints('b'));
        await other.delete(types.endpoints, 'since', 'a');
        const changes = await store.changesSince?.(types.endpoints, from, 100);
        assert.ok(changes, 'the adapter reads its changes');
        assert.deepEqual(summary(inSince(changes.events)), ['ADDED a', 'MODIFIED a', 'ADDED b', 'DELETED a']);
        assert.equal(changes.resourceVersion, await store.currentRevision(types.endpoints));
      } finally {
        other.close();
      }
    });

    it('gives nothing past the limit: the reader lists instead', async () => {
      const from = await store.currentRevision(types.endpoints);
      for (const name of ['c', 'd', 'e']) await store.create(types.endpoints, endpoints(name));
      assert.equal(await store.changesSince?.(types.endpoints, from, 2), undefined);
    });

    it('answers 410 for a revision older than the retained change log', async () => {
      let clock = Date.now();
      const shortLived = subject.open({ changeRetentionSeconds: 60, now: () => new Date(clock) });
      // A type no other test writes: its log's oldest entry is this test's own.
      try {
        const from = await shortLived.currentRevision(types.limitranges);
        await shortLived.create(types.limitranges, { apiVersion: 'v1', kind: 'LimitRange', metadata: { name: 'old', namespace: 'since' } });
        clock += 61_000;
        await shortLived.create(types.limitranges, { apiVersion: 'v1', kind: 'LimitRange', metadata: { name: 'new', namespace: 'since' } });
        await assert.rejects(shortLived.changesSince?.(types.limitranges, from, 100) ?? Promise.reject(new Error('no changesSince')), (error) =>
          isApiError(error, 410),
        );
      } finally {
        shortLived.close();
      }
    });
  });
}

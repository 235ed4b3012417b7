/**
 * K real processes writing one resource type at once (docs/adr/004), with watches and lists
 * running in this one: every watcher sees each change once, in revision order, none missing
 * after its list's revision; the final list is the last state each writer saw committed; no
 * update is lost; 409 only for a revision the writer sent that was stale.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createDynamoDbStore, type DynamoDbStore } from '../../functions/store/dynamodb-store.ts';
import type { WatchEvent } from '../../functions/store/store.ts';
import type { KubeObject } from '../../schemas/meta.ts';
import { types } from '../../schemas/registry.ts';
import { type TestDynamoDb, useDynamoDb } from './dynamodb.ts';
import type { CommittedWrite } from './store-writer.ts';
import { waitFor } from './wait.ts';
import { startWriter, type WriterProcess } from './writer-processes.ts';

const countOf = (object: KubeObject): number => Number((object.data as Record<string, string> | undefined)?.count ?? 0);

/** The watch saw exactly `expected` (name@revision), each once, in revision order. */
function assertSawExactly(events: readonly WatchEvent[], expected: readonly CommittedWrite[], what: string): void {
  const revisions = events.map((event) => Number(event.object.metadata.resourceVersion));
  for (let i = 1; i < revisions.length; i++) assert.ok((revisions[i] ?? 0) > (revisions[i - 1] ?? 0), `${what}: revision order broken at event ${i}`);
  const seen = events.map((event) => `${event.object.metadata.name}@${event.object.metadata.resourceVersion}:${countOf(event.object)}`);
  const wanted = [...expected].sort((a, b) => a.revision - b.revision).map((write) => `${write.name}@${write.revision}:${write.count}`);
  assert.deepEqual(seen, wanted, `${what}: events differ from the writes committed`);
}

/**
 * One describe per case: `processes` writer processes, each creating two ConfigMaps and updating
 * each `updates` times, and incrementing one shared ConfigMap `shared` times.
 */
export function describeConcurrentWriters(
  cases: readonly (readonly [processes: number, updates: number, shared: number])[],
  /** `claimed`: every store, here and in the writers, runs plain updates that claim their revisions (docs/adr/189). */
  options: { readonly claimed?: boolean } = {},
): void {
  const claimed = options.claimed === true;
  let db: TestDynamoDb;
  let store: DynamoDbStore;

  before(async () => {
    db = await useDynamoDb();
    store = createDynamoDbStore({
      client: db.client,
      tables: db.tables,
      pollIntervalMs: 100,
      ...(claimed ? { plainUpdates: true, claimedRevisionTypes: [types.configmaps.id] } : {}),
    });
  });

  after(async () => {
    store.close();
    await db.cleanup();
  });

  function watchFrom(resourceVersion: string, namespace: string) {
    const controller = new AbortController();
    const events: WatchEvent[] = [];
    const done = (async () => {
      for await (const event of store.watch(types.configmaps, { resourceVersion, namespace, signal: controller.signal })) events.push(event);
    })();
    return {
      events,
      async stop() {
        controller.abort();
        await done;
      },
    };
  }

  for (const [processes, updates, shared] of cases) {
    describe(`DynamoDB store: ${processes} writer process(es) on one type${claimed ? ' (claimed revisions)' : ''}`, () => {
      const namespace = `writers-${processes}`;
      let writers: WriterProcess[] = [];

      before(async () => {
        writers = await Promise.all(Array.from({ length: processes }, () => startWriter(db, { claimed })));
      });
      after(async () => {
        await Promise.all(writers.map((writer) => writer.stop()));
      });

      it('keeps every watcher in order, complete and without repeats, and loses no update', async () => {
        await store.create(types.configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'shared', namespace }, data: { count: '0' } });
        const start = await store.list(types.configmaps, { namespace });
        const fromStart = watchFrom(start.resourceVersion, namespace);

        const reports = writers.map((writer, index) => {
          writer.send({ op: 'write', namespace, own: [`w${index}-a`, `w${index}-b`], updates, shared: { name: 'shared', increments: shared } });
          return writer.next((report): report is { committed: CommittedWrite[]; conflicts: number; bogusConflicts: number } => 'committed' in report);
        });
        // Lists while the writers run; a watch from each list's revision later must replay what followed it.
        const lists: { readonly resourceVersion: string; readonly items: KubeObject[] }[] = [];
        let writing = true;
        const lister = (async () => {
          while (writing) {
            lists.push(await store.list(types.configmaps, { namespace }));
            await new Promise((done) => setTimeout(done, 50));
          }
        })();
        const results = await Promise.all(reports);
        writing = false;
        await lister;

        const committed = results.flatMap((result) => result.committed);
        assert.equal(
          results.reduce((sum, result) => sum + result.bogusConflicts, 0),
          0,
          '409 answered for a revision that was not stale',
        );
        // Every write is a distinct revision.
        assert.equal(new Set(committed.map((write) => write.revision)).size, committed.length);

        await waitFor('the watch to see every committed write', () => fromStart.events.length >= committed.length, { timeoutMs: 60_000, intervalMs: 50 });
        // Anything more would be a repeat or an invention; give it a moment to show up.
        await new Promise((done) => setTimeout(done, 300));
        await fromStart.stop();
        assertSawExactly(fromStart.events, committed, 'watch from the first list');

        // The final state is the last each writer saw committed; the shared counter lost no increment.
        const final = await store.list(types.configmaps, { namespace });
        const byName = new Map(final.items.map((item) => [item.metadata.name ?? '', item]));
        for (let index = 0; index < processes; index++) {
          for (const name of [`w${index}-a`, `w${index}-b`]) {
            const last = committed.filter((write) => write.name === name).sort((a, b) => b.revision - a.revision)[0];
            assert.equal(byName.get(name)?.metadata.resourceVersion, String(last?.revision), name);
            assert.equal(countOf(byName.get(name) ?? { apiVersion: '', kind: '', metadata: {} }), updates, name);
          }
        }
        assert.equal(countOf(byName.get('shared') ?? { apiVersion: '', kind: '', metadata: {} }), processes * shared, 'shared counter');

        // Each list taken during the writes: at least as new as its revision, and a watch from it replays exactly what followed.
        assert.ok(lists.length > 0);
        for (const listed of lists.filter((_, index) => index % Math.ceil(lists.length / 4) === 0)) {
          const revision = Number(listed.resourceVersion);
          for (const write of committed.filter((candidate) => candidate.revision <= revision)) {
            const item = listed.items.find((candidate) => candidate.metadata.name === write.name);
            assert.ok(item && Number(item.metadata.resourceVersion) >= write.revision, `list at ${revision} misses ${write.name}@${write.revision}`);
          }
          const replay = watchFrom(listed.resourceVersion, namespace);
          const expected = committed.filter((write) => write.revision > revision);
          await waitFor(`the replay from ${revision}`, () => replay.events.length >= expected.length, { timeoutMs: 30_000, intervalMs: 50 });
          await new Promise((done) => setTimeout(done, 100));
          await replay.stop();
          assertSawExactly(replay.events, expected, `watch from a list at ${revision}`);
        }
      });
    });
  }
}

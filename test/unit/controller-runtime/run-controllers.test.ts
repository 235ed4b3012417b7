import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Controller, ObjectChange, ReconcileKey } from '../../../functions/controller-runtime/controller.ts';
import { memoryEventRecorder } from '../../../functions/controller-runtime/events.ts';
import { handleStreamEvent } from '../../../functions/controller-runtime/run-controllers.ts';
import { ConflictError, NotFoundError } from '../../../functions/core/errors.ts';
import type { ObjectStore } from '../../../functions/store/store.ts';

interface FakeRecord {
  readonly eventID: string;
  readonly dynamodb?: { readonly SequenceNumber?: string };
  readonly change: ObjectChange;
}

/** A record as Lambda delivers it: its sequence number is what a failure is reported by. */
const record = (eventID: string, sequenceNumber: string, name: string): FakeRecord => ({
  eventID,
  dynamodb: { SequenceNumber: sequenceNumber },
  change: change(name),
});

const change = (name: string): ObjectChange => ({ typeId: 'core/pods', namespace: 'default', name });

/** A controller that keys each pod by name and records its reconciles; `behaviour` decides the outcome. */
function recordingController(behaviour: (key: ReconcileKey, attempt: number) => void): Controller & { calls: string[] } {
  const attempts = new Map<string, number>();
  const calls: string[] = [];
  return {
    name: 'test',
    resyncTypes: [],
    calls,
    keysFor: (c) => [{ typeId: c.typeId, namespace: c.namespace, name: c.name }],
    async reconcile(key) {
      const attempt = (attempts.get(key.name) ?? 0) + 1;
      attempts.set(key.name, attempt);
      calls.push(key.name);
      behaviour(key, attempt);
    },
  };
}

const deps = (controller: Controller) => ({
  // The runner only hands the store to controllers; these test controllers never touch it.
  store: {} as ObjectStore,
  controllers: [controller],
  events: memoryEventRecorder(),
  parseRecord: (record: FakeRecord) => record.change,
});

describe('handleStreamEvent', () => {
  it('reconciles a key once however many records name it', async () => {
    const controller = recordingController(() => {});
    const records = [record('e1', '100', 'a'), record('e2', '200', 'a'), record('e3', '300', 'b')];
    const result = await handleStreamEvent({ Records: records }, deps(controller));
    assert.deepEqual(result, { batchItemFailures: [] });
    assert.deepEqual([...controller.calls].sort(), ['a', 'b']);
  });

  it('reports every record of a failing key by its SequenceNumber, and only those', async () => {
    const controller = recordingController((key) => {
      if (key.name === 'bad') throw new Error('boom');
    });
    const records = [record('e1', '4100000000000000001', 'good'), record('e2', '4100000000000000002', 'bad'), record('e3', '4100000000000000003', 'bad')];
    const result = await handleStreamEvent({ Records: records }, deps(controller));
    assert.deepEqual(result.batchItemFailures, [{ itemIdentifier: '4100000000000000002' }, { itemIdentifier: '4100000000000000003' }]);
  });

  it('fails the whole invocation when a failed record has no SequenceNumber to report', async () => {
    const controller = recordingController(() => {
      throw new Error('boom');
    });
    await assert.rejects(handleStreamEvent({ Records: [{ eventID: 'e1', change: change('a') }] }, deps(controller)), /no dynamodb.SequenceNumber/);
  });

  it('retries a conflict from a fresh reconcile, within a bound', async () => {
    const flaky = recordingController((_key, attempt) => {
      if (attempt < 3) throw new ConflictError({ resource: 'pods', group: '', name: 'a' });
    });
    assert.deepEqual(await handleStreamEvent({ Records: [record('e1', '7', 'a')] }, deps(flaky)), { batchItemFailures: [] });
    assert.equal(flaky.calls.length, 3);

    const hopeless = recordingController(() => {
      throw new ConflictError({ resource: 'pods', group: '', name: 'a' });
    });
    const result = await handleStreamEvent({ Records: [record('e1', '7', 'a')] }, { ...deps(hopeless), maxConflictRetries: 2 });
    assert.deepEqual(result.batchItemFailures, [{ itemIdentifier: '7' }]);
    assert.equal(hopeless.calls.length, 3);
  });

  it('plans again from a fresh reconcile when an object the plan read was deleted before its write', async () => {
    // The scheduler listed a pod, the garbage collector removed it, the binding found it gone.
    const raced = recordingController((_key, attempt) => {
      if (attempt === 1) throw new NotFoundError({ resource: 'pods', group: '', name: 'a' });
    });
    assert.deepEqual(await handleStreamEvent({ Records: [record('e1', '7', 'a')] }, deps(raced)), { batchItemFailures: [] });
    assert.equal(raced.calls.length, 2);
  });

  it('reconciles the keys a reconcile enqueues in the same batch, once each, and reports a failed one by the records that named its origin', async () => {
    // `orphan-*` keys name owners to reconcile next, as an orphan's key does (owner-keys.ts).
    const calls: string[] = [];
    const controller: Controller = {
      name: 'test',
      resyncTypes: [],
      keysFor: (c) => [{ typeId: c.typeId, namespace: c.namespace, name: c.name }],
      async reconcile(key) {
        calls.push(key.name);
        if (key.name === 'orphan-1') return { enqueue: [{ typeId: 'apps/replicasets', namespace: 'default', name: 'owner-a' }] };
        if (key.name === 'orphan-2')
          return {
            enqueue: [
              { typeId: 'apps/replicasets', namespace: 'default', name: 'owner-a' },
              { typeId: 'apps/replicasets', namespace: 'default', name: 'owner-b' },
            ],
          };
        if (key.name === 'owner-b') throw new Error('boom');
        return undefined;
      },
    };
    const records = [record('e1', '100', 'orphan-1'), record('e2', '200', 'orphan-2'), record('e3', '300', 'other')];
    const result = await handleStreamEvent({ Records: records }, { ...deps(controller), concurrency: 1 });
    assert.deepEqual(calls, ['orphan-1', 'orphan-2', 'other', 'owner-a', 'owner-b']);
    assert.deepEqual(result.batchItemFailures, [{ itemIdentifier: '200' }]);
  });

  it('skips records that are not objects', async () => {
    const controller = recordingController(() => {});
    const result = await handleStreamEvent({ Records: [record('e1', '7', 'a')] }, { ...deps(controller), parseRecord: () => undefined });
    assert.deepEqual(result.batchItemFailures, []);
    assert.equal(controller.calls.length, 0);
  });
});

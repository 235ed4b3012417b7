/** The controllers' event recorder over the memory store: events are admitted like any object. */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { type EventSpec, storeEventRecorder } from '../../../functions/controller-runtime/events.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import { type MemoryCluster, memoryCluster } from '../../support/memory-cluster.ts';

const pod = (namespace: string): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-1', namespace, uid: 'uid-web-1' } });
const spec = (namespace: string, message = 'Created pod: web-1'): EventSpec => ({
  involvedObject: pod(namespace),
  type: 'Normal',
  reason: 'SuccessfulCreate',
  message,
  component: 'replicaset-controller',
});

let world: MemoryCluster;
const failures: string[] = [];
beforeEach(async () => {
  world = await memoryCluster();
  await world.namespace('apps');
  failures.length = 0;
});
afterEach(() => world.close());

const recorder = (now = () => new Date('2026-01-01T00:00:00Z')) =>
  storeEventRecorder({ admission: world.admission, now, onError: (error) => failures.push(String(error)) });

describe('storeEventRecorder', () => {
  it('writes a first occurrence, then counts repeats of the same event on it', async () => {
    await recorder().record(spec('apps'));
    await recorder(() => new Date('2026-01-01T00:01:00Z')).record(spec('apps'));
    const [event, more] = (await world.raw.list(types.events, { namespace: 'apps' })).items;
    assert.equal(more, undefined);
    assert.deepEqual([event?.count, event?.firstTimestamp, event?.lastTimestamp], [2, '2026-01-01T00:00:00Z', '2026-01-01T00:01:00Z']);
    assert.deepEqual(failures, []);
  });

  it('drops an event for a namespace being terminated, reporting why, as the API would refuse it', async () => {
    const namespace = await world.namespace('going');
    await world.admission.delete(types.namespaces, namespace);
    await recorder().record(spec('going'));
    assert.equal((await world.raw.list(types.events, { namespace: 'going' })).items.length, 0);
    assert.equal(failures.length, 1);
    assert.match(failures[0] ?? '', /unable to create new content in namespace going because it is being terminated/);
  });

  it('writes many new events together, and counts repeats among them on the events already there', async () => {
    await recorder().record(spec('apps', 'Created pod: web-3'));
    const specs = Array.from({ length: 60 }, (_, index) => spec('apps', `Created pod: web-${index}`));
    await recorder(() => new Date('2026-01-01T00:01:00Z')).recordAll(specs);
    const events = (await world.raw.list(types.events, { namespace: 'apps' })).items;
    assert.equal(events.length, 60);
    const counts = new Map(events.map((event) => [event.message, event.count]));
    assert.equal(counts.get('Created pod: web-3'), 2);
    assert.deepEqual(
      [...counts.entries()].filter(([, count]) => count !== 1).map(([message]) => message),
      ['Created pod: web-3'],
    );
    assert.deepEqual(failures, []);
  });
});

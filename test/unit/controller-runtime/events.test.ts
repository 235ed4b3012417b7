import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newEvent, repeatEvent } from '../../../functions/controller-runtime/events.ts';
import { now, pod } from '../fixtures.ts';

describe('Kubernetes Events', () => {
  const spec = {
    involvedObject: pod('web-1'),
    type: 'Warning' as const,
    reason: 'FailedScheduling',
    message: '0/1 nodes are available: 1 Insufficient cpu.',
    component: 'default-scheduler',
  };

  it('describes the involved object, source and first occurrence', () => {
    const event = newEvent(spec, now);
    assert.equal(event.metadata.namespace, 'default');
    assert.deepEqual(event.involvedObject, { apiVersion: 'v1', kind: 'Pod', name: 'web-1', namespace: 'default', uid: 'uid-web-1', resourceVersion: '1' });
    assert.deepEqual(event.source, { component: 'default-scheduler' });
    assert.equal(event.count, 1);
    assert.equal(event.firstTimestamp, '2026-01-01T12:00:00Z');
    assert.equal(event.lastTimestamp, event.firstTimestamp);
  });

  it('names the same event the same way, and a different one differently', () => {
    assert.equal(newEvent(spec, now).metadata.name, newEvent(spec, new Date()).metadata.name);
    assert.notEqual(newEvent(spec, now).metadata.name, newEvent({ ...spec, message: 'other' }, now).metadata.name);
    assert.match(newEvent(spec, now).metadata.name ?? '', /^web-1\.[0-9a-f]{16}$/);
  });

  it('bumps count and lastTimestamp when it happens again', () => {
    const later = new Date(now.getTime() + 60_000);
    const again = repeatEvent(newEvent(spec, now), later);
    assert.equal(again.count, 2);
    assert.equal(again.firstTimestamp, '2026-01-01T12:00:00Z');
    assert.equal(again.lastTimestamp, '2026-01-01T12:01:00Z');
  });

  it('files events of cluster-scoped objects under default', () => {
    const node = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', uid: 'u' } };
    assert.equal(newEvent({ ...spec, involvedObject: node }, now).metadata.namespace, 'default');
  });
});

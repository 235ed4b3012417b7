import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildEvent,
  contentSuffix,
  type EventFacts,
  eventName,
  recurrence,
  referenceTo,
  timeSuffix,
} from '../../../../functions/domain/events/event-builder.ts';
import { eventSchema } from '../../../../schemas/event.ts';

const now = Date.parse('2026-01-01T12:00:00.250Z');
const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-1', namespace: 'shop', uid: 'uid-1', resourceVersion: '7' } };
const facts: EventFacts = { involvedObject: referenceTo(pod), type: 'Warning', reason: 'BackOff', message: 'Back-off restarting failed container' };

describe('the Event builder', () => {
  it('points at the object, and at one container of a pod with fieldPath', () => {
    assert.deepEqual(referenceTo(pod), { apiVersion: 'v1', kind: 'Pod', name: 'web-1', namespace: 'shop', uid: 'uid-1', resourceVersion: '7' });
    assert.equal(referenceTo(pod, 'spec.containers{app}').fieldPath, 'spec.containers{app}');
    assert.deepEqual(referenceTo({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } }), { apiVersion: 'v1', kind: 'Node', name: 'n1' });
  });

  it('names events <involved-object-name>.<16 hex digits>, whichever suffix the writer takes', () => {
    assert.match(eventName(facts, contentSuffix(facts, { component: 'kubelet' })), /^web-1\.[0-9a-f]{16}$/);
    assert.match(eventName(facts, timeSuffix(now)), /^web-1\.[0-9a-f]{16}$/);
  });

  it('gives the same facts from the same component the same content suffix, and anything else another', () => {
    const source = { component: 'replicaset-controller' };
    const suffix = contentSuffix(facts, source);
    assert.equal(contentSuffix({ ...facts, involvedObject: { ...facts.involvedObject, resourceVersion: '8' } }, source), suffix);
    const others = [
      contentSuffix({ ...facts, message: 'other' }, source),
      contentSuffix({ ...facts, reason: 'Other' }, source),
      contentSuffix({ ...facts, type: 'Normal' }, source),
      contentSuffix({ ...facts, involvedObject: { ...facts.involvedObject, uid: 'uid-2' } }, source),
      contentSuffix({ ...facts, involvedObject: { ...facts.involvedObject, fieldPath: 'spec.containers{app}' } }, source),
      contentSuffix(facts, { component: 'deployment-controller' }),
    ];
    assert.equal(new Set([suffix, ...others]).size, others.length + 1);
  });

  it('takes the time in nanoseconds as the time suffix, never the same twice', () => {
    const later = now + 60_000;
    assert.equal(timeSuffix(later), (BigInt(later) * 1_000_000n).toString(16));
    const again = [timeSuffix(later), timeSuffix(later), timeSuffix(later - 1)];
    assert.equal(new Set(again).size, 3);
    assert.ok(again.every((suffix, i) => i === 0 || BigInt(`0x${suffix}`) > BigInt(`0x${again[i - 1]}`)));
  });

  it('builds a first occurrence that the Event schema accepts, in the object’s namespace', () => {
    const event = buildEvent(facts, { component: 'kubelet', host: 'node-1' }, 'web-1.abc', now);
    assert.deepEqual(event, {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'web-1.abc', namespace: 'shop' },
      involvedObject: facts.involvedObject,
      reason: 'BackOff',
      message: 'Back-off restarting failed container',
      type: 'Warning',
      source: { component: 'kubelet', host: 'node-1' },
      reportingComponent: 'kubelet',
      reportingInstance: 'node-1',
      firstTimestamp: '2026-01-01T12:00:00Z',
      lastTimestamp: '2026-01-01T12:00:00Z',
      count: 1,
    });
    assert.equal(eventSchema.safeParse(event).success, true);
  });

  it('files events of cluster-scoped objects under default, with no host for a controller', () => {
    const node = { ...facts, involvedObject: referenceTo({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } }) };
    const event = buildEvent(node, { component: 'node-controller' }, 'n1.abc', now);
    assert.equal(event.metadata.namespace, 'default');
    assert.deepEqual(event.source, { component: 'node-controller' });
    assert.equal(event.reportingInstance, '');
  });

  it('counts a recurrence and stamps it', () => {
    assert.deepEqual(recurrence(1, now + 61_000), { count: 2, lastTimestamp: '2026-01-01T12:01:01Z' });
    assert.deepEqual(recurrence(undefined, now), { count: 2, lastTimestamp: '2026-01-01T12:00:00Z' });
    assert.equal(recurrence(41, now).count, 42);
  });
});

/**
 * Kubernetes Events (core/v1) as every part of Skiff writes them: the controllers and the
 * scheduler through the store, the node agent through the API. One shape: `involvedObject`
 * points at the object, `source`/`reportingComponent` name who reports, and a repeat of the
 * same event bumps `count` and `lastTimestamp` rather than adding an object.
 *
 * Names follow client-go's recorder: `<involved-object-name>.<16 hex digits>`. Which digits
 * depends on the writer's memory. The node agent is one long-lived process that remembers what
 * it recorded, so, like the kubelet, it takes the time in nanoseconds (`timeSuffix`) and patches
 * the named event on a repeat. A controller runs in short-lived hosts (a Lambda invocation, a
 * replayed stream record) that remember nothing, so it takes a digest of what the event says
 * (`contentSuffix`): the same event gets the same name anywhere, and the next occurrence finds
 * the earlier one to count it.
 */
import { createHash } from 'node:crypto';
import type { Event } from '../../../schemas/event.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import type { ObjectReference } from '../../../schemas/object-reference.ts';
import { kubeTime } from '../../core/kube-time.ts';

export type EventType = 'Normal' | 'Warning';

/** Who reports: `source.component` and `reportingComponent`; for a kubelet also its node (`source.host`, `reportingInstance`). */
export interface EventSource {
  readonly component: string;
  readonly host?: string;
}

/** What happened, to which object. */
export interface EventFacts {
  readonly involvedObject: ObjectReference & { readonly name: string };
  readonly type: EventType;
  readonly reason: string;
  readonly message: string;
}

export type EventObject = KubeObject & Omit<Event, 'apiVersion' | 'kind' | 'metadata'>;

/** How an Event points at `object` (a container of a pod: `fieldPath` `spec.containers{name}`). */
export function referenceTo(object: Pick<KubeObject, 'apiVersion' | 'kind' | 'metadata'>, fieldPath?: string): EventFacts['involvedObject'] {
  const meta = object.metadata;
  return {
    apiVersion: object.apiVersion,
    kind: object.kind,
    name: meta.name ?? '',
    ...(meta.namespace ? { namespace: meta.namespace } : {}),
    ...(meta.uid ? { uid: meta.uid } : {}),
    ...(meta.resourceVersion ? { resourceVersion: meta.resourceVersion } : {}),
    ...(fieldPath ? { fieldPath } : {}),
  };
}

/** `<involved-object-name>.<suffix>`. */
export function eventName(facts: EventFacts, suffix: string): string {
  return `${facts.involvedObject.name || 'unknown'}.${suffix}`;
}

/** 16 hex digits from what the event says and who says it: the same event, the same name. */
export function contentSuffix(facts: EventFacts, source: EventSource): string {
  const { involvedObject } = facts;
  const identity = [
    involvedObject.uid ?? '',
    involvedObject.kind ?? '',
    involvedObject.fieldPath ?? '',
    facts.type,
    facts.reason,
    facts.message,
    source.component,
  ];
  return createHash('sha256').update(JSON.stringify(identity)).digest('hex').slice(0, 16);
}

let lastNanos = 0n;

/** The time in nanoseconds in hex, as client-go names events; never the same twice in one process. */
export function timeSuffix(nowMs: number): string {
  let nanos = BigInt(Math.floor(nowMs)) * 1_000_000n;
  if (nanos <= lastNanos) nanos = lastNanos + 1n;
  lastNanos = nanos;
  return nanos.toString(16);
}

/** The Event for a first occurrence at `now`, named `name`. Events of cluster-scoped objects live in `default`. */
export function buildEvent(facts: EventFacts, source: EventSource, name: string, now: Date | number): EventObject {
  const timestamp = kubeTime(now);
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name, namespace: facts.involvedObject.namespace || 'default' },
    involvedObject: facts.involvedObject,
    reason: facts.reason,
    message: facts.message,
    type: facts.type,
    source: { component: source.component, ...(source.host ? { host: source.host } : {}) },
    reportingComponent: source.component,
    reportingInstance: source.host ?? '',
    firstTimestamp: timestamp,
    lastTimestamp: timestamp,
    count: 1,
  };
}

/** The fields that change when an event happens again: one more occurrence, stamped `now`. */
export function recurrence(previousCount: unknown, now: Date | number): { readonly count: number; readonly lastTimestamp: string } {
  return { count: (typeof previousCount === 'number' ? previousCount : 1) + 1, lastTimestamp: kubeTime(now) };
}

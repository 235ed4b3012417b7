/**
 * Kubernetes Events for what the agent does to a pod (Pulling, Created, Started, Killing,
 * Unhealthy, BackOff, ...), written through the API as the kubelet writes them. A repeat of
 * the same event within ten minutes bumps `count` and `lastTimestamp` instead of creating a
 * new object, so a crash loop or a failing probe does not flood the namespace.
 */
import {
  buildEvent,
  type EventFacts,
  type EventSource,
  type EventType,
  eventName,
  recurrence,
  referenceTo,
  timeSuffix,
} from '../functions/domain/events/event-builder.ts';
import { types } from '../schemas/registry.ts';
import type { Clock } from './clock.ts';
import { systemClock } from './clock.ts';
import type { KubeClient } from './kube-client.ts';
import type { PodView } from './pod-view.ts';

export type { EventType };

interface Aggregate {
  readonly name: string;
  count: number;
  lastSeenMs: number;
  pending: Promise<unknown>;
}

const aggregationWindowMs = 10 * 60_000;

export class EventRecorder {
  private readonly aggregates = new Map<string, Aggregate>();
  private readonly source: EventSource;

  constructor(
    private readonly client: KubeClient,
    nodeName: string,
    private readonly onError: (error: unknown) => void = () => {},
    private readonly clock: Clock = systemClock,
  ) {
    this.source = { component: 'kubelet', host: nodeName };
  }

  /** Fire and forget: an event that cannot be written must never stop the pod's work. */
  record(pod: PodView, type: EventType, reason: string, message: string, containerName?: string): void {
    const key = `${pod.metadata.uid}\0${containerName ?? ''}\0${reason}\0${message}`;
    const nowMs = this.clock.now();
    const existing = this.aggregates.get(key);
    if (existing && nowMs - existing.lastSeenMs < aggregationWindowMs) {
      const again = recurrence(existing.count, nowMs);
      existing.count = again.count;
      existing.lastSeenMs = nowMs;
      existing.pending = existing.pending
        .then(() => this.client.patch(types.events, pod.metadata.namespace, existing.name, 'merge', again))
        .catch(this.onError);
      return;
    }
    const involvedObject = referenceTo(
      { apiVersion: 'v1', kind: 'Pod', metadata: pod.metadata },
      containerName ? `spec.containers{${containerName}}` : undefined,
    );
    const facts: EventFacts = { involvedObject, type, reason, message };
    const name = eventName(facts, timeSuffix(nowMs));
    const pending = this.client.create(types.events, buildEvent(facts, this.source, name, nowMs)).catch(this.onError);
    this.aggregates.set(key, { name, count: 1, lastSeenMs: nowMs, pending });
    this.forgetOld(nowMs);
  }

  /** An event about the Node itself (`kubectl describe node`), in the default namespace as the kubelet writes it. */
  recordNode(nodeUid: string | undefined, type: EventType, reason: string, message: string): void {
    const nowMs = this.clock.now();
    const node = this.source.host ?? '';
    const facts: EventFacts = {
      involvedObject: referenceTo({ apiVersion: 'v1', kind: 'Node', metadata: { name: node, ...(nodeUid ? { uid: nodeUid } : {}) } }),
      type,
      reason,
      message,
    };
    void this.client.create(types.events, buildEvent(facts, this.source, eventName(facts, timeSuffix(nowMs)), nowMs)).catch(this.onError);
  }

  /** Drops aggregates of a pod that is gone. */
  forgetPod(uid: string): void {
    for (const key of this.aggregates.keys()) if (key.startsWith(`${uid}\0`)) this.aggregates.delete(key);
  }

  private forgetOld(nowMs: number): void {
    if (this.aggregates.size < 1000) return;
    for (const [key, aggregate] of this.aggregates) {
      if (nowMs - aggregate.lastSeenMs >= aggregationWindowMs) this.aggregates.delete(key);
    }
  }
}

/**
 * Kubernetes Events for what the agent does to a pod (Pulling, Created, Started, Killing,
 * Unhealthy, BackOff, ...), written through the API as the kubelet writes them. A repeat of
 * the same event within ten minutes bumps `count` and `lastTimestamp` instead of creating a
 * new object, so a crash loop or a failing probe does not flood the namespace.
 */
import { randomBytes } from 'node:crypto';
import { types } from '../schemas/registry.ts';
import type { KubeClient } from './kube-client.ts';
import type { PodView } from './pod-view.ts';

export type EventType = 'Normal' | 'Warning';

interface Aggregate {
  readonly name: string;
  count: number;
  lastSeenMs: number;
  pending: Promise<unknown>;
}

const aggregationWindowMs = 10 * 60_000;

export class EventRecorder {
  private readonly aggregates = new Map<string, Aggregate>();

  constructor(
    private readonly client: KubeClient,
    private readonly nodeName: string,
    private readonly onError: (error: unknown) => void = () => {},
  ) {}

  /** Fire and forget: an event that cannot be written must never stop the pod's work. */
  record(pod: PodView, type: EventType, reason: string, message: string, containerName?: string): void {
    const key = `${pod.metadata.uid}\0${containerName ?? ''}\0${reason}\0${message}`;
    const now = new Date();
    const nowMs = now.getTime();
    const timestamp = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
    const existing = this.aggregates.get(key);
    if (existing && nowMs - existing.lastSeenMs < aggregationWindowMs) {
      existing.count += 1;
      existing.lastSeenMs = nowMs;
      const count = existing.count;
      existing.pending = existing.pending
        .then(() => this.client.patch(types.events, pod.metadata.namespace, existing.name, 'merge', { count, lastTimestamp: timestamp }))
        .catch(this.onError);
      return;
    }
    const name = `${pod.metadata.name}.${randomBytes(8).toString('hex')}`;
    const event = this.event(
      { name, namespace: pod.metadata.namespace },
      {
        apiVersion: 'v1',
        kind: 'Pod',
        namespace: pod.metadata.namespace,
        name: pod.metadata.name,
        uid: pod.metadata.uid,
        ...(pod.metadata.resourceVersion ? { resourceVersion: pod.metadata.resourceVersion } : {}),
        ...(containerName ? { fieldPath: `spec.containers{${containerName}}` } : {}),
      },
      type,
      reason,
      message,
      timestamp,
    );
    const pending = this.client.create(types.events, event).catch(this.onError);
    this.aggregates.set(key, { name, count: 1, lastSeenMs: nowMs, pending });
    this.forgetOld(nowMs);
  }

  /** An event about the Node itself (`kubectl describe node`), in the default namespace as the kubelet writes it. */
  recordNode(nodeUid: string | undefined, type: EventType, reason: string, message: string): void {
    const timestamp = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const metadata = { name: `${this.nodeName}.${randomBytes(8).toString('hex')}`, namespace: 'default' };
    const involvedObject = { apiVersion: 'v1', kind: 'Node', name: this.nodeName, ...(nodeUid ? { uid: nodeUid } : {}) };
    const event = this.event(metadata, involvedObject, type, reason, message, timestamp);
    void this.client.create(types.events, event).catch(this.onError);
  }

  /** An Event object as the kubelet writes it, first of its kind (count 1). */
  private event(
    metadata: { name: string; namespace?: string },
    involvedObject: Record<string, unknown>,
    type: EventType,
    reason: string,
    message: string,
    timestamp: string,
  ) {
    return {
      apiVersion: 'v1',
      kind: 'Event',
      metadata,
      involvedObject,
      reason,
      message,
      type,
      source: { component: 'kubelet', host: this.nodeName },
      reportingComponent: 'kubelet',
      reportingInstance: this.nodeName,
      firstTimestamp: timestamp,
      lastTimestamp: timestamp,
      count: 1,
    };
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

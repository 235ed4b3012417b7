/**
 * Kubernetes Events (core/v1) for what the controllers do. An event is named from what it says,
 * so recording the same thing again finds the earlier one and bumps its `count` and
 * `lastTimestamp` instead of piling up new objects. Events are best effort: failing to record
 * one never fails a reconcile.
 */

import type { KubeObject } from '../../schemas/meta.ts';
import { types } from '../../schemas/registry.ts';
import { AlreadyExistsError, ConflictError, NotFoundError } from '../core/errors.ts';
import type { ObjectStore } from '../store/store.ts';
import { stableHash } from './stable-hash.ts';

export type EventType = 'Normal' | 'Warning';

export interface EventSpec {
  readonly involvedObject: KubeObject;
  readonly type: EventType;
  readonly reason: string;
  readonly message: string;
  /** `source.component`, e.g. `replicaset-controller`, `default-scheduler`. */
  readonly component: string;
}

export interface EventRecorder {
  record(event: EventSpec): Promise<void>;
}

/** The Event object for a first occurrence at `now`. Cluster-scoped objects' events go to `default`. */
export function newEvent(spec: EventSpec, now: Date): KubeObject {
  const meta = spec.involvedObject.metadata;
  const namespace = meta.namespace ?? 'default';
  const timestamp = toSeconds(now);
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: eventName(spec), namespace },
    involvedObject: {
      apiVersion: spec.involvedObject.apiVersion,
      kind: spec.involvedObject.kind,
      name: meta.name,
      ...(meta.namespace ? { namespace: meta.namespace } : {}),
      ...(meta.uid ? { uid: meta.uid } : {}),
      ...(meta.resourceVersion ? { resourceVersion: meta.resourceVersion } : {}),
    },
    reason: spec.reason,
    message: spec.message,
    type: spec.type,
    source: { component: spec.component },
    reportingComponent: spec.component,
    reportingInstance: '',
    count: 1,
    firstTimestamp: timestamp,
    lastTimestamp: timestamp,
  };
}

/** The same event seen again: one more occurrence, stamped `now`. */
export function repeatEvent(existing: KubeObject, now: Date): KubeObject {
  const count = typeof existing.count === 'number' ? existing.count : 1;
  return { ...existing, count: count + 1, lastTimestamp: toSeconds(now) };
}

function eventName(spec: EventSpec): string {
  const meta = spec.involvedObject.metadata;
  const digest = stableHash([meta.uid ?? '', spec.involvedObject.kind, spec.type, spec.reason, spec.message, spec.component]);
  return `${meta.name ?? 'unknown'}.${digest}`;
}

function toSeconds(now: Date): string {
  return `${now.toISOString().slice(0, 19)}Z`;
}

export interface StoreEventRecorderOptions {
  readonly store: ObjectStore;
  now(): Date;
  onError?(error: unknown, event: EventSpec): void;
}

export function storeEventRecorder(options: StoreEventRecorderOptions): EventRecorder {
  const { store } = options;
  return {
    async record(spec) {
      const fresh = newEvent(spec, options.now());
      const namespace = fresh.metadata.namespace;
      const name = fresh.metadata.name ?? '';
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          const existing = await store.get(types.events, namespace, name).catch((error: unknown) => {
            if (error instanceof NotFoundError) return undefined;
            throw error;
          });
          if (existing) await store.update(types.events, repeatEvent(existing, options.now()));
          else await store.create(types.events, fresh);
          return;
        } catch (error) {
          if (error instanceof ConflictError || error instanceof AlreadyExistsError) continue;
          options.onError?.(error, spec);
          return;
        }
      }
    },
  };
}

/** Keeps events in memory; for planners' tests and dry runs. */
export function memoryEventRecorder(): EventRecorder & { readonly recorded: EventSpec[] } {
  const recorded: EventSpec[] = [];
  return {
    recorded,
    async record(spec) {
      recorded.push(spec);
    },
  };
}

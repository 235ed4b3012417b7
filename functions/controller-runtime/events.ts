/**
 * Kubernetes Events (core/v1) for what the controllers and the scheduler do, built by the one
 * Event builder (`functions/domain/events/event-builder.ts`). A controller remembers nothing
 * between invocations, so an event is named from what it says: recording the same thing again
 * finds the earlier one and bumps its `count` and `lastTimestamp` instead of piling up new
 * objects. Events are best effort: failing to record one never fails a reconcile.
 */

import type { KubeObject } from '../../schemas/meta.ts';
import { types } from '../../schemas/registry.ts';
import { AlreadyExistsError, ConflictError, NotFoundError } from '../core/errors.ts';
import {
  buildEvent,
  contentSuffix,
  type EventFacts,
  type EventObject,
  type EventType,
  eventName,
  recurrence,
  referenceTo,
} from '../domain/events/event-builder.ts';
import type { Admission } from '../domain/object-admission/admission.ts';
import { inChunks } from '../store/list-all.ts';

export type { EventType };

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
  /** Many events at once, written together (see `recordEvents`). */
  recordAll(events: readonly EventSpec[]): Promise<void>;
}

/** The Event object for a first occurrence at `now`. Cluster-scoped objects' events go to `default`. */
export function newEvent(spec: EventSpec, now: Date): EventObject {
  const facts: EventFacts = { involvedObject: referenceTo(spec.involvedObject), type: spec.type, reason: spec.reason, message: spec.message };
  const source = { component: spec.component };
  return buildEvent(facts, source, eventName(facts, contentSuffix(facts, source)), now);
}

/** The same event seen again: one more occurrence, stamped `now`. */
export function repeatEvent(existing: KubeObject, now: Date): KubeObject {
  return { ...existing, ...recurrence(existing.count, now) };
}

export interface StoreEventRecorderOptions {
  /** Events are admitted like any object: validated, and refused in a namespace being terminated. */
  readonly admission: Admission;
  now(): Date;
  onError?(error: unknown, event: EventSpec): void;
}

export function storeEventRecorder(options: StoreEventRecorderOptions): EventRecorder {
  const { admission } = options;
  const recorder: EventRecorder = {
    recordAll: (specs) => recordEvents({ admission, events: recorder, now: () => options.now() }, specs),
    async record(spec) {
      const fresh = newEvent(spec, options.now());
      const namespace = fresh.metadata.namespace;
      const name = fresh.metadata.name ?? '';
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          const existing = await admission.store.get(types.events, namespace, name).catch((error: unknown) => {
            if (error instanceof NotFoundError) return undefined;
            throw error;
          });
          if (existing) await admission.update(types.events, repeatEvent(existing, options.now()), existing);
          else await admission.create(types.events, fresh);
          return;
        } catch (error) {
          if (error instanceof ConflictError || error instanceof AlreadyExistsError) continue;
          options.onError?.(error, spec);
          return;
        }
      }
    },
  };
  return recorder;
}

/** Events created per transaction by `recordEvents`, and those transactions in flight at once. */
const eventsPerWrite = 25;
const eventWritesInFlight = 4;

/**
 * Records many events, as a controller that did many things at once has them: in transactions of
 * 25, up to four in flight (the store commits the ones waiting together, docs/adr/004), when they
 * are all new — the usual case, as an event is named from its object and message. A chunk in
 * which one already exists fails as a whole, and its events go through `record` one by one,
 * which bumps the existing event's count. One event after another, each a read and a write,
 * held a controller's stream batch for seconds per hundred events (docs/adr/191).
 */
export async function recordEvents(
  ctx: { readonly admission: Admission; readonly events: Pick<EventRecorder, 'record'>; now(): Date },
  specs: readonly EventSpec[],
): Promise<void> {
  if (specs.length === 0) return;
  await inChunks(
    specs,
    eventsPerWrite,
    async (chunk) => {
      try {
        const now = ctx.now();
        // Events in a namespace being terminated are refused by admission and dropped, as the recorder drops them.
        await ctx.admission.createAll(
          types.events,
          chunk.map((spec) => newEvent(spec, now)),
        );
      } catch {
        for (const spec of chunk) await ctx.events.record(spec);
      }
      return [];
    },
    eventWritesInFlight,
  );
}

/** Keeps events in memory; for planners' tests and dry runs. */
export function memoryEventRecorder(): EventRecorder & { readonly recorded: EventSpec[] } {
  const recorded: EventSpec[] = [];
  return {
    recorded,
    async record(spec) {
      recorded.push(spec);
    },
    async recordAll(specs) {
      recorded.push(...specs);
    },
  };
}

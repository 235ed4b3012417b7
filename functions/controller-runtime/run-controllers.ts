/**
 * Drives controllers: a stream batch becomes deduplicated keys, each key is reconciled from a
 * fresh read, and a key that keeps failing reports the records that named it, so the stream
 * delivers them again (Lambda's `ReportBatchItemFailures`). A resync feeds every object of the
 * controllers' types through the same path, repairing anything a lost record left behind.
 */

import type { KubeObject } from '../../schemas/meta.ts';
import { AlreadyExistsError, ConflictError, GoneError, NotFoundError } from '../core/errors.ts';
import { sharedWebhookAdmission } from '../domain/admission-webhooks/webhook-admission.ts';
import type { UserInfo } from '../domain/authorization/user-info.ts';
import { type AdmissionSettings, createAdmission } from '../domain/object-admission/admission.ts';
import { type Log, silentLog } from '../logging/log.ts';
import { listAll } from '../store/list-all.ts';
import type { ObjectStore } from '../store/store.ts';
import type { Controller, ControllerContext, ObjectChange, ReconcileKey } from './controller.ts';
import { keyToString } from './controller.ts';
import type { EventRecorder } from './events.ts';
import { storeEventRecorder } from './events.ts';

export interface ControllerRuntime {
  readonly store: ObjectStore;
  readonly controllers: readonly Controller[];
  readonly log?: Log;
  readonly events?: EventRecorder;
  /** Cluster settings of admission: the API server's (the default tolerations' seconds). */
  readonly admissionSettings?: Partial<AdmissionSettings>;
  now?(): Date;
  /** Fresh reads after a conflict before the key counts as failed. Default 5. */
  readonly maxConflictRetries?: number;
  /** Keys reconciled at once. Default 4. */
  readonly concurrency?: number;
  /** Called when a reconcile asks to be run again after a while (see `ReconcileResult`). */
  onRequeue?(controller: Controller, key: ReconcileKey, afterSeconds: number): void;
}

/**
 * The stream record fields the runner needs; Lambda's `DynamoDBRecord` has them. A failed
 * record is reported by its `dynamodb.SequenceNumber`: that is the `itemIdentifier` Lambda's
 * DynamoDB Streams event source mapping checkpoints on (it retries the batch from the lowest
 * one reported).
 */
export interface StreamRecordLike {
  readonly eventID?: string;
  readonly dynamodb?: { readonly SequenceNumber?: string };
}

/** A failed record that carries no sequence number cannot be reported alone: the whole batch is retried. */
export class UnidentifiableRecordError extends Error {
  override name = 'UnidentifiableRecordError';
}

export interface StreamBatch<R extends StreamRecordLike> {
  readonly Records: readonly R[];
}

export interface StreamDeps<R extends StreamRecordLike> extends ControllerRuntime {
  /** Turns one record into the changed object, or undefined for items that are not objects. */
  parseRecord(record: R): ObjectChange | undefined;
}

export interface BatchResult {
  readonly batchItemFailures: { itemIdentifier: string }[];
}

interface PendingKey {
  readonly controller: Controller;
  readonly key: ReconcileKey;
  /** Indexes into the batch of the records that named this key. */
  readonly records: Set<number>;
}

/**
 * A namespace read by admission is trusted this long within one batch (see
 * `domain/object-admission/namespace-lifecycle.ts`), so a reconcile creating many objects in one
 * namespace, or recording many events, reads it once.
 */
const namespaceCacheMs = 5_000;

/** What controllers get for one batch (or resync): a fresh admission, so nothing it trusts outlives the batch by much. */
export function contextOf(runtime: ControllerRuntime): ControllerContext {
  const now = runtime.now ?? (() => new Date());
  const log = runtime.log ?? silentLog;
  const admission = createAdmission({
    store: runtime.store,
    ...(runtime.admissionSettings ? { settings: runtime.admissionSettings } : {}),
    namespaceCacheMs,
    webhooks: sharedWebhookAdmission(runtime.store),
  });
  return {
    store: runtime.store,
    admission,
    log,
    now,
    events:
      runtime.events ??
      storeEventRecorder({
        admission,
        now,
        onError: (error, event) => log.warn('event not recorded', { reason: event.reason, error: String(error) }),
      }),
  };
}

export async function handleStreamEvent<R extends StreamRecordLike>(event: StreamBatch<R>, deps: StreamDeps<R>): Promise<BatchResult> {
  const log = deps.log ?? silentLog;
  const pending = new Map<string, PendingKey>();
  for (const [index, record] of event.Records.entries()) {
    let change: ObjectChange | undefined;
    try {
      change = deps.parseRecord(record);
    } catch (error) {
      // A record that cannot be parsed never will be; retrying it would block the shard.
      log.error('unreadable stream record skipped', { eventID: record.eventID, error: String(error) });
      continue;
    }
    if (!change) continue;
    collectKeys(deps.controllers, change, index, pending, log);
  }
  const failed = await reconcileAll([...pending.values()], deps);
  const failedIndexes = new Set<number>();
  for (const item of failed) for (const index of item.records) failedIndexes.add(index);
  // In the batch's order; Lambda checkpoints at the lowest sequence number reported and
  // delivers every record from there again.
  const batchItemFailures = event.Records.flatMap((record, index) => {
    if (!failedIndexes.has(index)) return [];
    const sequenceNumber = record.dynamodb?.SequenceNumber;
    if (!sequenceNumber) throw new UnidentifiableRecordError(`stream record ${record.eventID ?? index} failed and has no dynamodb.SequenceNumber to report`);
    return [{ itemIdentifier: sequenceNumber }];
  });
  return { batchItemFailures };
}

export interface ResyncResult {
  readonly keys: number;
  readonly failed: number;
}

/** How often the scheduled resync makes a full pass; the passes between read the change log (docs/adr/053). */
export const resyncFullPassSeconds = 3600;

/** What an incremental resync keeps from one pass to the next (the Resync Lambda's memory while it stays warm). */
export interface ResyncState {
  /** Per type id: the revision up to which its changes were fed to the controllers. */
  readonly positions: Map<string, string>;
  /** Keys that failed in a pass: tried again in the next one. */
  readonly failed: Map<string, PendingKey>;
  /** When the last full pass began (ms since the epoch); none yet: the next pass is full. */
  lastFullPassAt?: number;
  /**
   * Per type listed in every pass (the time-driven controllers' types): each object as the last
   * pass listed it, if no later change of it was read by then (its revision is at most the
   * type's position). A change replayed from the log is given this as its old object, so
   * `keysFor` can tell what changed since, as it does with a stream record's old image.
   */
  readonly seen: Map<string, Map<string, KubeObject>>;
}

export function newResyncState(): ResyncState {
  return { positions: new Map(), failed: new Map(), seen: new Map() };
}

const objectKey = (namespace: string | undefined, name: string): string => `${namespace ?? ''}/${name}`;

/** `revision` ≤ `position`, both the store's revisions (decimal); false when either is not one. */
function atOrBefore(revision: string | undefined, position: string | undefined): boolean {
  if (!revision || !position || !/^\d+$/.test(revision) || !/^\d+$/.test(position)) return false;
  return BigInt(revision) <= BigInt(position);
}

/** A replayed change with the old object the last pass saw (same incarnation only), when it has one. */
function withSeenOld(change: ObjectChange, seen: ResyncState['seen'] | undefined): ObjectChange {
  if (change.oldObject || !change.newObject) return change;
  const old = seen?.get(change.typeId)?.get(objectKey(change.namespace, change.name));
  if (!old || old.metadata.uid !== change.newObject.metadata.uid) return change;
  return { ...change, oldObject: old };
}

/** An incremental resync (docs/adr/053): the changes since the last pass, with a full pass now and then. */
export interface IncrementalResync {
  readonly state: ResyncState;
  /** Reads the change log: its watches send a BOOKMARK as soon as they have caught up (`bookmarkIntervalMs: 0`). */
  readonly changes: Pick<ObjectStore, 'watch' | 'currentRevision'>;
  /** A full pass at least this often. */
  readonly fullPassSeconds: number;
}

/**
 * Re-reconciles everything the controllers own, as if every object had just been written.
 *
 * Given `incremental`, a pass between full passes lists only the types of the controllers that
 * depend on time (node leases, minReadySeconds, progress deadlines: not `resyncChangesOnly`), and
 * feeds every controller, as the stream would, each change of any resync type since the last
 * pass, read from the change log — so a record the stream lost is caught in the next pass
 * (DESIGN decision 4). A position the log no longer has (410) lists that type instead.
 */
export async function resyncAll(runtime: ControllerRuntime, incremental?: IncrementalResync): Promise<ResyncResult> {
  const log = runtime.log ?? silentLog;
  const pending = new Map<string, PendingKey>();
  const listed = new Map<string, Promise<readonly ObjectChange[]>>();
  const state = incremental?.state;
  const startedAt = (runtime.now?.() ?? new Date()).getTime();
  const allTypes = new Map(runtime.controllers.flatMap((controller) => controller.resyncTypes.map((type) => [type.id, type] as const)));
  const full =
    !incremental ||
    state?.lastFullPassAt === undefined ||
    startedAt - state.lastFullPassAt >= incremental.fullPassSeconds * 1000 ||
    [...allTypes.keys()].some((id) => !state.positions.has(id));
  const positions = new Map<string, string>();
  if (incremental && full) {
    // Taken before anything is listed: a change made while listing is fed again next time (harmless).
    await Promise.all([...allTypes.values()].map(async (type) => positions.set(type.id, await incremental.changes.currentRevision(type))));
  }
  if (incremental && !full) {
    await Promise.all(
      [...allTypes.values()].map(async (type) => {
        const from = state?.positions.get(type.id) ?? '0';
        const read = await changesSince(incremental.changes, type, from);
        if (read) {
          positions.set(type.id, read.through);
          for (const change of read.changes) collectKeys(runtime.controllers, withSeenOld(change, state?.seen), undefined, pending, log);
          return;
        }
        // The log no longer goes back that far: every object of the type, to every controller.
        positions.set(type.id, await incremental.changes.currentRevision(type));
        for (const change of await listEverything(runtime.store, type)) collectKeys(runtime.controllers, change, undefined, pending, log);
      }),
    );
  }
  for (const controller of runtime.controllers) {
    if (incremental && !full && controller.resyncChangesOnly) continue;
    for (const type of controller.resyncTypes) {
      let changes = listed.get(type.id);
      if (!changes) {
        changes = listEverything(runtime.store, type);
        listed.set(type.id, changes);
      }
      for (const change of await changes) collectKeys([controller], change, undefined, pending, log);
    }
  }
  for (const [id, key] of state?.failed ?? []) if (!pending.has(id)) pending.set(id, { ...key, records: new Set() });
  const failed = await reconcileAll([...pending.values()], runtime);
  if (state) {
    // What the next pass compares replayed changes with: the time-driven types, as listed now.
    const everyPass = new Set(
      runtime.controllers.filter((controller) => !controller.resyncChangesOnly).flatMap((controller) => controller.resyncTypes.map((type) => type.id)),
    );
    for (const id of state.seen.keys()) if (!everyPass.has(id)) state.seen.delete(id);
    for (const id of everyPass) {
      const changes = listed.get(id);
      const position = positions.get(id);
      if (!changes || position === undefined) {
        state.seen.delete(id);
        continue;
      }
      const seen = new Map<string, KubeObject>();
      for (const change of await changes) {
        if (change.newObject && atOrBefore(change.newObject.metadata.resourceVersion, position))
          seen.set(objectKey(change.namespace, change.name), change.newObject);
      }
      state.seen.set(id, seen);
    }
    for (const [id, position] of positions) state.positions.set(id, position);
    state.failed.clear();
    for (const item of failed) state.failed.set(keyToString(item.controller.name, item.key), item);
    if (full) state.lastFullPassAt = startedAt;
  }
  return { keys: pending.size, failed: failed.length };
}

/** The type's changes after `from`, up to where the log is settled; undefined if `from` is compacted (410). */
async function changesSince(
  changes: IncrementalResync['changes'],
  type: Controller['resyncTypes'][number],
  from: string,
): Promise<{ changes: ObjectChange[]; through: string } | undefined> {
  const abort = new AbortController();
  // A log that keeps growing faster than it is read ends the read here; the next pass goes on from `through`.
  const timer = setTimeout(() => abort.abort(), 20_000);
  const read: ObjectChange[] = [];
  let through = from;
  try {
    for await (const event of changes.watch(type, { resourceVersion: from, allowBookmarks: true, signal: abort.signal })) {
      through = event.object.metadata.resourceVersion ?? through;
      if (event.type === 'BOOKMARK') break;
      const object = event.object;
      read.push({
        typeId: type.id,
        ...(object.metadata.namespace ? { namespace: object.metadata.namespace } : {}),
        name: object.metadata.name ?? '',
        ...(event.type === 'DELETED' ? { oldObject: object } : { newObject: object }),
      });
    }
  } catch (error) {
    if (error instanceof GoneError) return undefined;
    throw error;
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
  return { changes: read, through };
}

/** Reconciles the given keys now (a host's delayed requeue); returns how many failed. */
export async function reconcileKeys(runtime: ControllerRuntime, keys: readonly { controller: Controller; key: ReconcileKey }[]): Promise<number> {
  const failed = await reconcileAll(
    keys.map(({ controller, key }) => ({ controller, key, records: new Set<number>() })),
    runtime,
  );
  return failed.length;
}

async function listEverything(store: ObjectStore, type: Controller['resyncTypes'][number]): Promise<readonly ObjectChange[]> {
  return (await listAll(store, type)).map((object) => ({
    typeId: type.id,
    ...(object.metadata.namespace ? { namespace: object.metadata.namespace } : {}),
    name: object.metadata.name ?? '',
    newObject: object,
  }));
}

function collectKeys(
  controllers: readonly Controller[],
  change: ObjectChange,
  recordIndex: number | undefined,
  pending: Map<string, PendingKey>,
  log: Log,
): void {
  for (const controller of controllers) {
    let keys: readonly ReconcileKey[];
    try {
      keys = controller.keysFor(change);
    } catch (error) {
      log.error('keysFor failed', { controller: controller.name, typeId: change.typeId, name: change.name, error: String(error) });
      continue;
    }
    for (const key of keys) {
      const id = keyToString(controller.name, key);
      let entry = pending.get(id);
      if (!entry) {
        entry = { controller, key, records: new Set() };
        pending.set(id, entry);
      }
      if (recordIndex !== undefined) entry.records.add(recordIndex);
    }
  }
}

/**
 * Who a controller's writes are made as, for the admission webhooks: kube-controller-manager runs
 * each controller as its own service account in kube-system (`--use-service-account-credentials`),
 * named as Skiff names the controller; the scheduler as `system:kube-scheduler`.
 */
export function controllerUser(controllerName: string): UserInfo {
  if (controllerName === 'default-scheduler') return { username: 'system:kube-scheduler', groups: ['system:authenticated'] };
  return {
    username: `system:serviceaccount:kube-system:${controllerName}`,
    groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'],
  };
}

/** Reconciles every key (a few at a time), and the keys their reconciles enqueue; returns the ones that failed. */
async function reconcileAll(items: readonly PendingKey[], runtime: ControllerRuntime): Promise<PendingKey[]> {
  const shared = contextOf(runtime);
  const byController = new Map<string, ControllerContext>();
  const contextFor = (controller: Controller): ControllerContext => {
    let ctx = byController.get(controller.name);
    if (!ctx) {
      ctx = { ...shared, admission: shared.admission.forUser(controllerUser(controller.name)) };
      byController.set(controller.name, ctx);
    }
    return ctx;
  };
  const failed: PendingKey[] = [];
  const queue = [...items];
  // Keys not started yet: an enqueued key already waiting is not reconciled twice.
  const waiting = new Map(queue.map((item) => [keyToString(item.controller.name, item.key), item]));
  const enqueue = (from: PendingKey, keys: readonly ReconcileKey[]) => {
    for (const key of keys) {
      const id = keyToString(from.controller.name, key);
      const queued = waiting.get(id);
      if (queued) {
        for (const index of from.records) queued.records.add(index);
        continue;
      }
      const item: PendingKey = { controller: from.controller, key, records: new Set(from.records) };
      waiting.set(id, item);
      queue.push(item);
    }
  };
  let next = 0;
  const worker = async () => {
    while (next < queue.length) {
      const item = queue[next++];
      if (!item) break;
      const id = keyToString(item.controller.name, item.key);
      waiting.delete(id);
      const ok = await oneAtATime(id, () => reconcileWithRetry(item, contextFor(item.controller), runtime.maxConflictRetries ?? 5, runtime.onRequeue, enqueue));
      if (!ok) failed.push(item);
    }
  };
  const workers = Array.from({ length: Math.max(1, Math.min(runtime.concurrency ?? 4, queue.length)) }, worker);
  await Promise.all(workers);
  return failed;
}

/**
 * Within one process a key is never reconciled twice at once (a resync and a stream batch may
 * name the same key): two concurrent plans from the same read would both create the missing pods.
 */
const inFlight = new Map<string, Promise<unknown>>();

async function oneAtATime<T>(id: string, run: () => Promise<T>): Promise<T> {
  while (inFlight.has(id)) await inFlight.get(id)?.catch(() => undefined);
  const running = run();
  inFlight.set(id, running);
  try {
    return await running;
  } finally {
    if (inFlight.get(id) === running) inFlight.delete(id);
  }
}

async function reconcileWithRetry(
  item: PendingKey,
  ctx: ControllerContext,
  retries: number,
  onRequeue: ControllerRuntime['onRequeue'],
  enqueue: (from: PendingKey, keys: readonly ReconcileKey[]) => void,
): Promise<boolean> {
  for (let attempt = 0; ; attempt++) {
    try {
      const result = await item.controller.reconcile(item.key, ctx);
      if (result?.requeueAfterSeconds !== undefined) onRequeue?.(item.controller, item.key, result.requeueAfterSeconds);
      if (result?.enqueue?.length) enqueue(item, result.enqueue);
      return true;
    } catch (error) {
      // Someone wrote in between: the plan was made from stale state, so plan again from a fresh read.
      // That includes an object the plan read and someone deleted since (a pod the scheduler
      // listed, removed by the garbage collector before its binding was written).
      const stale = error instanceof ConflictError || error instanceof AlreadyExistsError || error instanceof NotFoundError;
      if (stale && attempt < retries) continue;
      ctx.log.warn('reconcile failed', {
        controller: item.controller.name,
        key: item.key,
        attempt,
        error: error instanceof Error ? error.message : String(error),
      });
      return false;
    }
  }
}

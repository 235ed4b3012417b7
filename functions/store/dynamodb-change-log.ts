/**
 * The change log on DynamoDB (docs/adr/004): one item per revision of a type in the changes
 * table — a committed change, or a void entry for revisions handed out and never used — and the
 * type's counter item (sort key 0) with the highest revision handed out and the compaction point.
 *
 * Writers take revisions from the counter and commit at their own pace, so for a moment the log
 * may hold revision 12 but not yet 11. Readers only go as far as the *settled* revision: the
 * highest one below which every revision has its entry. A revision missing for longer than
 * `gapTimeoutMs` belongs to a writer that died or stalled: a reader voids it with a conditional
 * put, which also makes that writer's late transaction fail (it retries at a new revision).
 *
 * Compaction (etcd's, by time): entries past `retainedUntil` are compacted by advancing the
 * counter's `compacted` revision first and deleting them after, so a revision missing above the
 * compaction point is always one still to come, never one deleted.
 */
import {
  type AttributeValue,
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import type { ResourceType } from '../../schemas/registry.ts';
import { GoneError } from '../core/errors.ts';
import type { DynamoDbCalls } from './dynamodb-calls.ts';
import { type CounterState, type LogEntry, parseCounterItem, parseLogItem } from './object-items.ts';
import type { ChangeEventType, ChangeRecord, Projection } from './object-matcher.ts';
import { attributes, type TableNames } from './tables.ts';
import type { ChangePage, ChangeSource } from './watch-loop.ts';

export interface ChangeLogOptions {
  readonly calls: DynamoDbCalls;
  readonly tables: TableNames;
  readonly now: () => Date;
  readonly retentionSeconds: number;
  readonly pollIntervalMs: number;
  readonly gapTimeoutMs: number;
  readonly compactIntervalSeconds: number;
  readonly deleteCompacted: boolean;
  /** Called with background failures (compaction); they are retried on the next occasion. */
  readonly onBackgroundError?: (error: unknown) => void;
  /**
   * Told of each revision a reader of this process voided (its writer died or stalled). With
   * plain updates (dynamodb-commit.ts) the object may already hold that revision: the store
   * commits it again at a new one, so watches still see the change.
   */
  readonly onVoided?: (type: ResourceType, revision: number) => void;
  /**
   * Types whose updates claim revisions past the log's tail (docs/adr/189): a range handed out by
   * the counter may hold one claimed meanwhile, so a writer gives its range back revision by
   * revision (each void conditional on the revision being free), never as one range entry.
   */
  readonly claimedTypes?: ReadonlySet<string>;
}

export interface ChangeLog {
  /** What watches read. */
  readonly source: ChangeSource;
  /** A writer of this process was handed revisions `from`..`through` and is committing them: readers here wait for it, never void them. */
  allocated(type: ResourceType, from: number, through: number): void;
  /** A writer of this process committed these entries (its range from `from`). */
  committed(type: ResourceType, from: number, entries: readonly LogEntry[]): void;
  /** A writer of this process gives back revisions it will not commit; resolves once they are void. */
  voidOwn(type: ResourceType, from: number, through: number): Promise<void>;
  /**
   * A writer of this process gives back a claimed range its transaction did not write: revisions
   * up to `tail` (the log's last entry, read after the failure) that `taken` does not hold are
   * gaps now and go void; those past `tail` were written nowhere and are forgotten, so that this
   * process's next claim takes them up and the type's revisions stay gap-free.
   */
  giveBack(type: ResourceType, from: number, through: number, tail: number, taken: ReadonlySet<number>): Promise<void>;
  /** The revision a list reports: settled (every revision up to it committed or void), so a watch from it misses nothing. */
  listRevision(type: ResourceType, signal?: AbortSignal): Promise<string>;
  /** The latest settled revision, once every revision handed out so far has settled (or the gap bound passed). */
  currentRevision(type: ResourceType): Promise<string>;
  /** Runs compaction of the type in the background when it is due. */
  compactIfDue(type: ResourceType): void;
  /** Compacts now: what a test or a scheduled job calls. */
  compact(type: ResourceType): Promise<void>;
  /** The type's first or last entry in the table, read consistently; none for an empty log. */
  endEntry(type: ResourceType, end: 'oldest' | 'newest'): Promise<LogEntry | undefined>;
}

/** DynamoDB's TTL deletes an entry this long after it is compacted, should compaction's own delete not have happened. */
export const ttlMarginSeconds = 7 * 24 * 3600;

/** Changes one watch read hands over at most. */
const watchPageSize = 200;
/** Log entries one query reads. */
const queryPageSize = 500;
/** Settled entries kept in memory for this process's watches; older ones are read from the table. */
const keptEntries = 4000;
/** How old the settled revision a list reports may be, when nothing says the log moved. */
const listFreshnessMs = 100;
/** A refresh reads at most this many pages; the next one goes on. */
const refreshPages = 8;

/** Writes committed in this process wake the logs of the same table and type at once (other store instances included). */
const localCommits = new Map<string, Set<(from: object) => void>>();

function announceCommit(key: string, from: object): void {
  for (const listener of localCommits.get(key) ?? []) listener(from);
}

interface TypeLog {
  readonly type: ResourceType;
  initialized: boolean;
  /** The highest revision known to be handed out. */
  allocated: number;
  /** Every revision up to here has its entry (or was compacted). */
  settled: number;
  compacted: number;
  /** Entries by revision: settled ones after `keptFrom`, and ones read past a gap. */
  readonly entries: Map<number, LogEntry>;
  /** Every settled revision after this one has its entry in `entries` (or is covered by a void range there). */
  keptFrom: number;
  /** Missing revisions after `settled`, with when they were first seen missing (ms). */
  readonly missingSince: Map<number, number>;
  /** Ranges this process's writers hold and are committing, by first revision. */
  readonly ownInFlight: Map<number, number>;
  /** Something new may be in the table: the next read refreshes. */
  stale: boolean;
  refreshedAt: number;
  refreshing: Promise<void> | undefined;
  readonly wakers: Set<() => void>;
  compactedAt: number;
  compacting: Promise<void> | undefined;
  /** The counter is from before this design: find the compaction point before reading on. */
  legacy: boolean;
}

export function createChangeLog(options: ChangeLogOptions): ChangeLog & { close(): void } {
  const { calls, tables, now } = options;
  const logs = new Map<string, TypeLog>();
  const unsubscribes: (() => void)[] = [];

  const typeKey = (type: ResourceType): Record<string, AttributeValue> => ({ [attributes.partitionKey]: { S: type.id } });
  const counterKey = (type: ResourceType): Record<string, AttributeValue> => ({ ...typeKey(type), [attributes.sortKey]: { N: '0' } });
  const busKey = (type: ResourceType): string => `${tables.changes}\u0000${type.id}`;
  const nowSeconds = (): number => Math.floor(now().getTime() / 1000);

  function logOf(type: ResourceType): TypeLog {
    let log = logs.get(type.id);
    if (!log) {
      const created: TypeLog = {
        type,
        initialized: false,
        allocated: 0,
        settled: 0,
        compacted: 0,
        entries: new Map(),
        keptFrom: 0,
        missingSince: new Map(),
        ownInFlight: new Map(),
        stale: true,
        refreshedAt: 0,
        refreshing: undefined,
        wakers: new Set(),
        // The first compaction waits one interval: a store just started has little to compact.
        compactedAt: now().getTime(),
        compacting: undefined,
        legacy: false,
      };
      log = created;
      logs.set(type.id, created);
      const key = busKey(type);
      const listeners = localCommits.get(key) ?? new Set();
      const listener = (from: object): void => {
        // This store's own commits are recorded as they happen; another store's are in the table.
        if (from === created) return;
        created.stale = true;
        wake(created);
      };
      listeners.add(listener);
      localCommits.set(key, listeners);
      unsubscribes.push(() => {
        listeners.delete(listener);
        if (listeners.size === 0) localCommits.delete(key);
      });
    }
    return log;
  }

  function wake(log: TypeLog): void {
    for (const waker of log.wakers) waker();
  }

  async function readCounter(type: ResourceType, signal?: AbortSignal): Promise<CounterState> {
    const { Item } = await calls.run(
      'GetItem',
      (abortSignal) => calls.client.send(new GetItemCommand({ TableName: tables.changes, Key: counterKey(type), ConsistentRead: true }), { abortSignal }),
      { idempotent: true, ...(signal ? { signal } : {}) },
    );
    return parseCounterItem(Item);
  }

  /** Takes in what the counter says: handed-out revisions, and the compaction point (everything below is settled by definition). */
  function learnCounter(log: TypeLog, counter: CounterState): void {
    if (counter.legacy && !log.initialized) log.legacy = true;
    log.allocated = Math.max(log.allocated, counter.allocated);
    if (counter.compacted > log.compacted) log.compacted = counter.compacted;
    if (log.compacted > log.settled) {
      log.settled = log.compacted;
      for (const revision of log.missingSince.keys()) if (revision <= log.settled) log.missingSince.delete(revision);
    }
    if (log.compacted > log.keptFrom) log.keptFrom = Math.min(log.compacted, log.settled);
    if (!log.initialized) {
      log.initialized = true;
      log.keptFrom = log.settled;
    }
  }

  /** Keeps an entry under every revision it accounts for (a void range under each of its revisions). */
  function record(log: TypeLog, entry: LogEntry): void {
    if (entry.through <= log.settled) return;
    for (let revision = Math.max(entry.revision, log.settled + 1); revision <= entry.through; revision++) log.entries.set(revision, entry);
    if (entry.through > log.allocated) log.allocated = entry.through;
  }

  /** Moves `settled` over every revision that has its entry, and notes the first missing one. */
  function advance(log: TypeLog): void {
    const before = log.settled;
    for (;;) {
      const next = log.settled + 1;
      const entry = log.entries.get(next);
      if (entry) {
        log.settled = entry.through;
        log.missingSince.delete(next);
        continue;
      }
      break;
    }
    // Revisions handed out and still missing: note when each was first seen so.
    const noticed = Date.now();
    const horizon = Math.min(log.allocated, log.settled + 1000);
    for (let revision = log.settled + 1; revision <= horizon; revision++) {
      if (!log.entries.has(revision) && !log.missingSince.has(revision)) log.missingSince.set(revision, noticed);
    }
    for (const revision of log.missingSince.keys()) if (revision <= log.settled) log.missingSince.delete(revision);
    // Entries past a gap that settled are kept; the oldest settled ones go beyond the limit.
    if (log.settled - log.keptFrom > keptEntries * 2) {
      const keepFrom = log.settled - keptEntries;
      for (const revision of log.entries.keys()) if (revision <= keepFrom) log.entries.delete(revision);
      log.keptFrom = keepFrom;
    }
    if (log.settled > before) wake(log);
  }

  /** Reads the log past `settled`, voiding revisions missing for longer than the gap bound. */
  /** Shared by every reader of the type in this process: it takes no caller's abort signal (callers stop waiting with `abortable`). */
  /** One page of a type's change log after a revision, read consistently (safe to repeat). */
  function queryAfter(typeId: string, after: number, limit: number) {
    return calls.run(
      'Query',
      (abortSignal) =>
        calls.client.send(
          new QueryCommand({
            TableName: tables.changes,
            KeyConditionExpression: '#pk = :pk AND #sk > :after',
            ExpressionAttributeNames: { '#pk': attributes.partitionKey, '#sk': attributes.sortKey },
            ExpressionAttributeValues: { ':pk': { S: typeId }, ':after': { N: String(after) } },
            ConsistentRead: true,
            Limit: limit,
          }),
          { abortSignal },
        ),
      { idempotent: true },
    );
  }

  function refresh(log: TypeLog): Promise<void> {
    log.refreshing ??= (async () => {
      try {
        log.stale = false;
        log.refreshedAt = Date.now();
        if (!log.initialized) learnCounter(log, await readCounter(log.type));
        if (log.legacy) await adoptLegacyLog(log);
        let after = log.settled;
        for (let page = 0; page < refreshPages; page++) {
          const output = await queryAfter(log.type.id, after, queryPageSize);
          for (const item of output.Items ?? []) record(log, parseLogItem(item));
          const last = output.LastEvaluatedKey?.[attributes.sortKey]?.N;
          if (last === undefined) break;
          after = Number(last);
          // A long way behind: settle what is read so far before reading on.
          if (page === refreshPages - 1) log.stale = true;
        }
        advance(log);
        await voidExpiredGaps(log);
      } finally {
        log.refreshing = undefined;
      }
    })();
    return log.refreshing;
  }

  function ownedInFlight(log: TypeLog, revision: number): boolean {
    for (const [from, through] of log.ownInFlight) if (revision >= from && revision <= through) return true;
    return false;
  }

  /** The type's first or last entry (or range) in the table, read consistently; none for an empty log. */
  async function endEntry(type: ResourceType, end: 'oldest' | 'newest'): Promise<LogEntry | undefined> {
    const output = await calls.run(
      'Query',
      (abortSignal) =>
        calls.client.send(
          new QueryCommand({
            TableName: tables.changes,
            KeyConditionExpression: '#pk = :pk AND #sk > :zero',
            ExpressionAttributeNames: { '#pk': attributes.partitionKey, '#sk': attributes.sortKey },
            ExpressionAttributeValues: { ':pk': { S: type.id }, ':zero': { N: '0' } },
            ScanIndexForward: end === 'oldest',
            ConsistentRead: true,
            Limit: 1,
          }),
          { abortSignal },
        ),
      { idempotent: true },
    );
    const [item] = output.Items ?? [];
    return item ? parseLogItem(item) : undefined;
  }

  /**
   * A log written before revisions came from the counter had no gaps and no compaction point;
   * TTL deleted its old entries. Its compaction point is just below the oldest entry left.
   */
  async function adoptLegacyLog(log: TypeLog): Promise<void> {
    const oldest = (await endEntry(log.type, 'oldest'))?.revision ?? log.allocated + 1;
    const compacted = oldest - 1;
    try {
      await calls.run(
        'UpdateItem',
        (abortSignal) =>
          calls.client.send(
            new UpdateItemCommand({
              TableName: tables.changes,
              Key: counterKey(log.type),
              UpdateExpression: 'SET #compacted = :compacted',
              ConditionExpression: 'attribute_not_exists(#compacted)',
              ExpressionAttributeNames: { '#compacted': attributes.compacted },
              ExpressionAttributeValues: { ':compacted': { N: String(compacted) } },
            }),
            { abortSignal },
          ),
        { idempotent: true },
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    log.legacy = false;
    learnCounter(log, { allocated: log.allocated, compacted, legacy: false });
  }

  /** Voids the revisions just after `settled` that have been missing past the gap bound (never this process's own, still committing). */
  async function voidExpiredGaps(log: TypeLog): Promise<void> {
    for (;;) {
      const gap = log.settled + 1;
      const missing: number[] = [];
      for (let revision = gap; revision <= log.allocated && !log.entries.has(revision) && missing.length < 100; revision++) {
        const since = log.missingSince.get(revision);
        if (since === undefined || Date.now() - since < options.gapTimeoutMs || ownedInFlight(log, revision)) break;
        missing.push(revision);
      }
      if (missing.length === 0) return;
      // A revision at or below the compaction point is compacted, not missing: no void for it.
      learnCounter(log, await readCounter(log.type));
      const voidable = missing.filter((revision) => revision > log.compacted);
      await Promise.all(voidable.map((revision) => voidRevision(log, revision)));
      advance(log);
      if (log.settled < gap) return;
    }
  }

  /** A conditional put of a void entry: it fails if the writer committed after all, and then we read what it wrote. */
  async function voidRevision(log: TypeLog, revision: number): Promise<void> {
    if (await putVoid(log, revision, revision)) {
      options.onVoided?.(log.type, revision);
      return;
    }
    const { Item } = await calls.run(
      'GetItem',
      (abortSignal) =>
        calls.client.send(
          new GetItemCommand({
            TableName: tables.changes,
            Key: { ...typeKey(log.type), [attributes.sortKey]: { N: String(revision) } },
            ConsistentRead: true,
          }),
          { abortSignal },
        ),
      { idempotent: true },
    );
    if (Item) record(log, parseLogItem(Item));
  }

  /** Marks `revision`..`through` void unless the revision is taken; answers whether the mark was written. */
  async function putVoid(log: TypeLog, revision: number, through: number): Promise<boolean> {
    const retainedUntil = nowSeconds() + options.retentionSeconds;
    try {
      await calls.run(
        'PutItem',
        (abortSignal) =>
          calls.client.send(
            new PutItemCommand({
              TableName: tables.changes,
              Item: voidItem(log.type, revision, through, retainedUntil),
              ConditionExpression: 'attribute_not_exists(#sk)',
              ExpressionAttributeNames: { '#sk': attributes.sortKey },
            }),
            { abortSignal },
          ),
        { idempotent: true },
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
    record(log, { revision, through, retainedUntil });
    return true;
  }

  function voidItem(type: ResourceType, revision: number, through: number, retainedUntil: number): Record<string, AttributeValue> {
    return {
      ...typeKey(type),
      [attributes.sortKey]: { N: String(revision) },
      [attributes.voidThrough]: { N: String(through) },
      [attributes.retainedUntil]: { N: String(retainedUntil) },
      [attributes.expiresAt]: { N: String(retainedUntil + ttlMarginSeconds) },
    };
  }

  function tooOld(revision: number, oldest: number): GoneError {
    return new GoneError(`too old resource version: ${revision} (${oldest})`);
  }

  /** Reads for a watch behind what this process keeps: those revisions all settled once, so a missing one was compacted. */
  const olderReads = new Map<string, { readonly at: number; readonly result: Promise<LogEntry[]> }>();

  function readOlder(type: ResourceType, after: number, signal: AbortSignal): Promise<LogEntry[]> {
    const key = `${type.id}\u0000${after}`;
    const shared = olderReads.get(key);
    const at = Date.now();
    if (shared && at - shared.at < options.pollIntervalMs / 2) return abortable(shared.result, signal);
    for (const [oldKey, read] of olderReads) if (at - read.at >= options.pollIntervalMs) olderReads.delete(oldKey);
    const result = (async () => {
      const output = await queryAfter(type.id, after, watchPageSize);
      return (output.Items ?? []).map(parseLogItem);
    })();
    olderReads.set(key, { at, result });
    result.catch(() => olderReads.delete(key));
    return abortable(result, signal);
  }

  /** Walks entries from `after + 1` while they are contiguous and settled; the changes among them and how far they reach. */
  function walk(
    entries: (revision: number) => LogEntry | undefined,
    after: number,
    settled: number,
  ): { changes: ChangeRecord[]; through: number; gap: boolean } {
    const changes: ChangeRecord[] = [];
    let through = after;
    const nowS = nowSeconds();
    while (through < settled && changes.length < watchPageSize) {
      const entry = entries(through + 1);
      if (!entry) return { changes, through, gap: true };
      // A change past its retention means the watch fell behind the log (a void carries nothing to miss).
      if (entry.change && entry.retainedUntil <= nowS) {
        if (changes.length > 0) return { changes, through, gap: false };
        throw tooOld(after, entry.through);
      }
      if (entry.change) changes.push(entry.change);
      through = entry.through;
    }
    return { changes, through, gap: false };
  }

  const source: ChangeSource = {
    async read(type, after, first, signal): Promise<ChangePage> {
      const log = logOf(type);
      if (first) {
        const counter = await readCounter(type, signal);
        learnCounter(log, counter);
        // Claimed revisions (docs/adr/189) run past the counter: the log's own entries say how far it reaches.
        if (after > log.allocated && options.claimedTypes?.has(type.id)) await abortable(refresh(log), signal);
        // A revision this store never reached (its data was reset): the client must list again.
        if (after > log.allocated) throw new GoneError(`too large resource version: ${after}, current: ${log.allocated}`);
        compactIfDue(type);
        // Nothing was handed out after it: no read of the log (a catch-up or resync pass of a quiet type costs the counter alone).
        if (after === counter.allocated && after >= log.compacted && !options.claimedTypes?.has(type.id)) return { changes: [], through: after, more: false };
      }
      if (after < log.compacted) throw tooOld(after, log.compacted);
      const waitingOnGap = log.missingSince.size > 0;
      const fresh = Date.now() - log.refreshedAt < (waitingOnGap ? 10 : options.pollIntervalMs / 2);
      if (log.stale || !fresh || first) await abortable(refresh(log), signal);
      if (after < log.compacted) throw tooOld(after, log.compacted);

      if (after >= log.keptFrom) {
        const { changes, through } = walk((revision) => log.entries.get(revision), after, log.settled);
        const more = through < log.settled;
        return { changes, through, more, ...(log.missingSince.size > 0 ? { retryInMs: 20 } : {}) };
      }
      // Behind what this process keeps: read the table from `after`.
      const older = await readOlder(type, after, signal);
      const byRevision = new Map<number, LogEntry>();
      for (const entry of older) for (let revision = entry.revision; revision <= entry.through; revision++) byRevision.set(revision, entry);
      // A full page may end anywhere: walk only as far as it reaches.
      const reach = older.length === watchPageSize ? Math.min(log.settled, older.at(-1)?.through ?? after) : log.settled;
      const { changes, through, gap } = walk((revision) => byRevision.get(revision), after, reach);
      // Every revision up to `settled` had its entry once: one missing now was compacted away.
      if (gap && changes.length === 0 && through < log.settled) throw tooOld(after, Math.max(log.compacted, through));
      return { changes, through, more: through < log.settled };
    },
    subscribe(type, wakeUp) {
      const log = logOf(type);
      log.wakers.add(wakeUp);
      return () => log.wakers.delete(wakeUp);
    },
  };

  async function compact(type: ResourceType): Promise<void> {
    const log = logOf(type);
    log.compactedAt = now().getTime();
    const counter = await readCounter(type);
    learnCounter(log, counter);
    if (log.legacy) await adoptLegacyLog(log);
    const start = Math.max(counter.compacted, log.compacted);
    let compacted = start;
    const nowS = nowSeconds();
    const removable: number[] = [];
    pages: for (let page = 0; page < refreshPages; page++) {
      const output = await queryAfter(type.id, compacted, queryPageSize);
      const entries = (output.Items ?? []).map(parseLogItem);
      for (const entry of entries) {
        if (entry.retainedUntil > nowS) break pages;
        // A revision missing between expired entries was handed out long ago and never committed.
        for (let missing = compacted + 1; missing < entry.revision; missing++) {
          await voidRevision(log, missing);
          removable.push(missing);
        }
        compacted = entry.through;
        removable.push(entry.revision);
      }
      if (!output.LastEvaluatedKey) break;
    }
    if (compacted <= start) return;
    try {
      await calls.run(
        'UpdateItem',
        (abortSignal) =>
          calls.client.send(
            new UpdateItemCommand({
              TableName: tables.changes,
              Key: counterKey(type),
              UpdateExpression: 'SET #compacted = :compacted',
              ConditionExpression: 'attribute_not_exists(#compacted) OR #compacted < :compacted',
              ExpressionAttributeNames: { '#compacted': attributes.compacted },
              ExpressionAttributeValues: { ':compacted': { N: String(compacted) } },
            }),
            { abortSignal },
          ),
        { idempotent: true },
      );
    } catch (error) {
      // Someone else compacted further: their deletes cover ours.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    learnCounter(log, { allocated: counter.allocated, compacted, legacy: false });
    if (!options.deleteCompacted) return;
    for (let i = 0; i < removable.length; i += 25) {
      let requests: WriteRequest[] = removable
        .slice(i, i + 25)
        .map((revision) => ({ DeleteRequest: { Key: { ...typeKey(type), [attributes.sortKey]: { N: String(revision) } } } }));
      for (let attempt = 0; requests.length > 0; attempt++) {
        const batch = requests;
        const output = await calls.run(
          'BatchWriteItem',
          (abortSignal) => calls.client.send(new BatchWriteItemCommand({ RequestItems: { [tables.changes]: batch } }), { abortSignal }),
          { idempotent: true },
        );
        requests = output.UnprocessedItems?.[tables.changes] ?? [];
        if (requests.length > 0) {
          if (attempt + 1 >= calls.maxAttempts) return;
          await calls.backOff(attempt);
        }
      }
    }
  }

  function compactIfDue(type: ResourceType): void {
    const log = logOf(type);
    if (log.compacting || now().getTime() - log.compactedAt < options.compactIntervalSeconds * 1000) return;
    log.compacting = compact(type)
      .catch((error: unknown) => options.onBackgroundError?.(error))
      .finally(() => {
        log.compacting = undefined;
      });
  }

  return {
    source,
    endEntry,
    allocated(type, from, through) {
      const log = logOf(type);
      log.ownInFlight.set(from, through);
      if (through > log.allocated) log.allocated = through;
    },
    committed(type, from, entries) {
      const log = logOf(type);
      log.ownInFlight.delete(from);
      for (const entry of entries) record(log, entry);
      advance(log);
      announceCommit(busKey(type), log);
      compactIfDue(type);
    },
    async voidOwn(type, from, through) {
      const log = logOf(type);
      log.ownInFlight.delete(from);
      // One range entry at the first revision; a reader may have voided that one already, then the next.
      // Where updates claim revisions, each revision on its own: one in the range may be claimed.
      const oneByOne = options.claimedTypes?.has(type.id) === true;
      for (let revision = from; revision <= through; revision++) {
        const written = await putVoid(log, revision, oneByOne ? revision : through);
        if (written && !oneByOne) break;
      }
      advance(log);
      announceCommit(busKey(type), log);
    },
    async giveBack(type, from, through, tail, taken) {
      const log = logOf(type);
      if (log.allocated === through && tail < through) {
        // Nothing else of this process's accounts for the revisions past the tail: readers here stop waiting for them.
        let allocated = Math.max(tail, from - 1, log.settled);
        for (const [own, end] of log.ownInFlight) if (own !== from) allocated = Math.max(allocated, end);
        for (let revision = through; revision > allocated; revision--) if (log.entries.has(revision)) allocated = revision;
        log.allocated = allocated;
        for (const revision of log.missingSince.keys()) if (revision > allocated) log.missingSince.delete(revision);
      }
      log.ownInFlight.delete(from);
      for (let revision = from; revision <= Math.min(through, tail); revision++) {
        if (!taken.has(revision)) await putVoid(log, revision, revision);
      }
      advance(log);
      announceCommit(busKey(type), log);
    },
    async listRevision(type, signal) {
      const log = logOf(type);
      // Any settled revision is a correct one for a list; a fresh one saves the watch that follows
      // replaying what the list already shows. What this process committed is settled as it
      // commits; other processes' commits are read from the log at most every 100 ms.
      if (!log.initialized || log.stale || Date.now() - log.refreshedAt > listFreshnessMs || log.missingSince.size > 0) await abortable(refresh(log), signal);
      return String(Math.max(log.settled, log.compacted));
    },
    async currentRevision(type) {
      const log = logOf(type);
      learnCounter(log, await readCounter(type));
      const target = log.allocated;
      const deadline = Date.now() + options.gapTimeoutMs + 5000;
      await refresh(log);
      while (log.settled < target && Date.now() < deadline) {
        await new Promise((done) => setTimeout(done, 10));
        await refresh(log);
      }
      return String(Math.max(log.settled, log.compacted));
    },
    compactIfDue,
    compact,
    close() {
      for (const unsubscribe of unsubscribes.splice(0)) unsubscribe();
    },
  };
}

/** The change entry of a committed write, as the commit transaction puts it (only if its revision is still free). */
export function changeEntryItem(
  type: ResourceType,
  revision: number,
  event: ChangeEventType,
  body: string,
  prior: Projection | undefined,
  retainedUntil: number,
): Record<string, AttributeValue> {
  return {
    [attributes.partitionKey]: { S: type.id },
    [attributes.sortKey]: { N: String(revision) },
    [attributes.eventType]: { S: event },
    [attributes.body]: { S: body },
    ...(prior ? { [attributes.prior]: { S: JSON.stringify(prior) } } : {}),
    [attributes.retainedUntil]: { N: String(retainedUntil) },
    [attributes.expiresAt]: { N: String(retainedUntil + ttlMarginSeconds) },
  };
}

/** `promise`, or an AbortError as soon as `signal` aborts (the shared work goes on for others). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

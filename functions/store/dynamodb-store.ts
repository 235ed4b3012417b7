/**
 * `ObjectStore` on DynamoDB (docs/adr/001–004), put together from its parts:
 *
 * - `dynamodb-commit.ts`: revisions from the type's atomic counter, group commit of the writes
 *   of a type waiting in this process, one transaction per group (object + change entry);
 * - `dynamodb-change-log.ts`: the change log, read up to its settled revision; voids for
 *   revisions never committed; compaction; what watches read;
 * - `dynamodb-list.ts`: paged, selective lists;
 * - `dynamodb-calls.ts`: timeouts, retries, throttling as 429/503, batched reads;
 * - `object-lifecycle.ts` (pure): what each create, update and delete writes.
 */
import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { KubeObject } from '../../schemas/meta.ts';
import type { ResourceType } from '../../schemas/registry.ts';
import { apiVersionOf } from '../../schemas/registry.ts';
import { AlreadyExistsError, BadRequestError, NotFoundError } from '../core/errors.ts';
import { createDynamoDbCalls, createItemReader } from './dynamodb-calls.ts';
import { createChangeLog } from './dynamodb-change-log.ts';
import { createCommitter } from './dynamodb-commit.ts';
import { createLister } from './dynamodb-list.ts';
import { parseObjectItem } from './object-items.ts';
import {
  expectedRevision,
  maxBatchWrites,
  objectKey,
  type PlannedWrite,
  parseStoredObject,
  planCreate,
  planDelete,
  planUpdate,
  refOf,
  requestedName,
  type StoredObject,
  storedNamespace,
} from './object-lifecycle.ts';
import type { BatchWrite, DeleteOptions, DeleteResult, ObjectStore, UpdateOptions, WatchEvent, WatchOptions } from './store.ts';
import { attributes, type TableNames } from './tables.ts';
import { followChanges, readChangesSince } from './watch-loop.ts';

export { parseChangeStreamRecord } from './change-stream.ts';
export { parseStreamRecord, type StreamChange, type StreamRecordLike } from './object-items.ts';

export interface DynamoDbStoreOptions {
  readonly client: DynamoDBClient;
  readonly tables: TableNames;
  /** How long change-log entries are kept, like etcd compaction. @default 300 */
  readonly changeRetentionSeconds?: number;
  /** How often a quiet watch reads the change log. Writes from this process wake it at once. @default 1000 */
  readonly pollIntervalMs?: number;
  /** Quiet time after which a watch with allowBookmarks sends a BOOKMARK. @default 60000 */
  readonly bookmarkIntervalMs?: number;
  /**
   * A revision handed out to a writer and still not committed after this long is voided by the
   * first reader that waits for it (the writer died or stalled; its late commit is refused and
   * retried at a new revision). Bounds how long watches and lists wait behind a lost writer. @default 5000
   */
  readonly gapTimeoutMs?: number;
  /** Longest wait for one DynamoDB call, retries by the SDK included. @default 5000 */
  readonly callTimeoutMs?: number;
  /** How often (at most) this store compacts the change log of a type it uses. @default 60 */
  readonly compactIntervalSeconds?: number;
  /**
   * Compaction deletes the entries it compacted. Off, they stay until DynamoDB's TTL removes them
   * (free on AWS, but DynamoDB Local's TTL job deletes only about 2 items a second). @default true
   */
  readonly deleteCompacted?: boolean;
  /**
   * Writes of a type wait and join the next group commit while a group is in flight, unless it
   * has been in flight this long (or three times the recent commit time): then a hung call does
   * not hold them up. 0 commits every write on its own. @default 200
   */
  readonly groupStallMs?: number;
  /**
   * A single-object update committed on its own is two plain conditional puts (the object, then
   * its change entry) instead of a transaction: 3 write units for a ≤ 1 KB object instead of 5
   * (docs/adr/005). Batches, creates and deletes stay transactions. The hosts turn it on.
   * @default false
   */
  readonly plainUpdates?: boolean;
  /**
   * Types (ids) whose writes claim the change log's next revisions instead of taking them from the
   * counter; with `plainUpdates` a single update is then 2 write units for a ≤ 1 KB object instead
   * of 3 (docs/adr/189). The hosts name the Lease type: node heartbeats are most of a node's bill.
   */
  readonly claimedRevisionTypes?: readonly string[];
  readonly now?: () => Date;
  /** Test seam for fault tests: runs after a group of writes took its revisions, before it commits. */
  readonly afterAllocate?: (type: ResourceType, from: number, through: number) => Promise<void>;
}

/** The Lease type: each node renews its own every 20 s, most of what a node costs (docs/adr/189). */
export const heartbeatType = 'coordination.k8s.io/leases';

/**
 * How the store runs on AWS (the Lambdas; the bench prices it): single-object updates as plain
 * puts (docs/adr/005), and compacted change entries left to DynamoDB's TTL, whose deletes are free
 * where a delete by compaction costs a write unit.
 */
export const awsStoreSettings = {
  plainUpdates: true,
  deleteCompacted: false,
  claimedRevisionTypes: [heartbeatType],
} as const satisfies Partial<DynamoDbStoreOptions>;

export type DynamoDbStore = ObjectStore & {
  /** Compacts the change log of a type now (it also happens on its own as the store is used). */
  compactChangeLog(type: ResourceType): Promise<void>;
  /** Ends every watch of this store. */
  close(): void;
};

const maxGeneratedNameAttempts = 8;

/** An object this store read or wrote lately: its JSON at a revision, and the object parsed from it once asked for. */
interface RecentObject {
  readonly revision: number;
  readonly body: string;
  parsed?: KubeObject;
}

/** `value` and everything in it made read-only; parsed JSON has no cycles. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const member of Object.values(value)) deepFreeze(member);
    Object.freeze(value);
  }
  return value;
}
/** Objects remembered at the revision they were read or written at, per store. */
const recentObjectsLimit = 20_000;

export function createDynamoDbStore(options: DynamoDbStoreOptions): DynamoDbStore {
  const { tables } = options;
  const claimedTypes = options.claimedRevisionTypes?.length ? new Set(options.claimedRevisionTypes) : undefined;
  const retentionSeconds = options.changeRetentionSeconds ?? 300;
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  const bookmarkIntervalMs = options.bookmarkIntervalMs ?? 60_000;
  const now = options.now ?? (() => new Date());
  const closed = new AbortController();

  const calls = createDynamoDbCalls(options.client, options.callTimeoutMs !== undefined ? { callTimeoutMs: options.callTimeoutMs } : {});
  const objectReader = createItemReader(calls, tables.objects, [attributes.partitionKey, attributes.sortKey]);
  const log = createChangeLog({
    calls,
    tables,
    now,
    retentionSeconds,
    pollIntervalMs,
    gapTimeoutMs: options.gapTimeoutMs ?? 5000,
    compactIntervalSeconds: options.compactIntervalSeconds ?? 60,
    deleteCompacted: options.deleteCompacted ?? true,
    ...(claimedTypes ? { claimedTypes } : {}),
    // A plain update whose writer died between its two puts leaves the object at a revision a
    // reader voids: the committer writes it again at a new one (nothing to do without plain updates).
    ...(options.plainUpdates ? { onVoided: (type: ResourceType, revision: number) => void committer.repairVoided(type, revision).catch(() => undefined) } : {}),
  });
  /**
   * The objects this store read or wrote lately, each at its revision. An update that names the
   * revision it expects and finds the object remembered at exactly that revision plans from it
   * without reading: revisions are never reused, so the object at that revision is exactly this,
   * and the commit is conditional on it still being there (if not, it plans again from a read).
   */
  const recent = new Map<string, RecentObject>();
  const recentKey = (type: ResourceType, key: string): string => `${type.id}\u0000${key}`;
  /** Keeps the object's JSON (not the object: callers may change what they were given). */
  function remember(type: ResourceType, key: string, revision?: number, body?: string): void {
    const id = recentKey(type, key);
    recent.delete(id);
    if (revision === undefined || body === undefined) return;
    recent.set(id, { revision, body });
    if (recent.size > recentObjectsLimit) {
      const oldest = recent.keys().next().value;
      if (oldest !== undefined) recent.delete(oldest);
    }
  }
  /**
   * The stored object at `expected`, if this store has it in mind; only on a first attempt.
   * The first ask parses the JSON and keeps the parsed object, frozen, beside it: the API asks for
   * the object it updates and then updates it, and the store's plan of that update asks again
   * (docs/adr/201). Frozen, it is handed out as it is: a caller that tries to change it gets a
   * TypeError instead of changing what the store remembers. Only objects asked for are kept
   * parsed, until their next write replaces them.
   */
  function rememberedAt(type: ResourceType, key: string, expected: string | undefined, uid: string | undefined, attempt: number): StoredObject | undefined {
    if (attempt > 0 || expected === undefined) return undefined;
    const entry = recent.get(recentKey(type, key));
    if (!entry || String(entry.revision) !== expected) return undefined;
    if (!entry.parsed) entry.parsed = deepFreeze(parseStoredObject(entry.body));
    const object = entry.parsed;
    if (uid !== undefined && object.metadata.uid !== uid) return undefined;
    return { key, revision: entry.revision, object };
  }

  const committer = createCommitter({
    calls,
    tables,
    log,
    now,
    retentionSeconds,
    onCommitted: (type, writes, revisions, bodies) => {
      writes.forEach((write, index) => {
        if (write.action === 'put') remember(type, write.key, revisions[index], bodies[index]);
        else remember(type, write.key);
      });
    },
    ...(options.afterAllocate ? { afterAllocate: options.afterAllocate } : {}),
    ...(options.plainUpdates ? { plainUpdates: true } : {}),
    ...(claimedTypes ? { claimedTypes } : {}),
    ...(options.groupStallMs !== undefined ? { groupStallMs: options.groupStallMs } : {}),
  });
  const list = createLister({
    calls,
    tables,
    log,
    onRead: (type, stored, body) => remember(type, stored.key, stored.revision, body),
    skipRevision: (type) => committer.skipRevision(type),
  });

  async function readObject(type: ResourceType, key: string): Promise<StoredObject | undefined> {
    const item = await objectReader.get({ [attributes.partitionKey]: { S: type.id }, [attributes.sortKey]: { S: key } });
    const stored = item ? parseObjectItem(item) : undefined;
    remember(type, key, stored?.revision, stored ? item?.[attributes.body]?.S : undefined);
    return stored;
  }

  async function readExisting(type: ResourceType, namespace: string | undefined, name: string): Promise<StoredObject> {
    const record = await readObject(type, objectKey(namespace, name));
    if (!record) throw new NotFoundError(refOf(type, name));
    return record;
  }

  /**
   * The update's write planned from the object remembered at the revision it expects, else
   * from a read. Only a write is planned from memory: "nothing to change" needs the stored object
   * to be current (the caller's revision may be stale: a 409), which only a read tells.
   */
  async function planUpdateOf(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    object: KubeObject,
    expected: string | undefined,
    attempt: number,
  ) {
    const remembered = rememberedAt(type, objectKey(namespace, name), expected, object.metadata.uid, attempt);
    const fromMemory = remembered ? planUpdate(type, remembered, object, expected) : undefined;
    if (remembered && fromMemory) return { stored: remembered, write: fromMemory };
    const stored = await readExisting(type, namespace, name);
    return { stored, write: planUpdate(type, stored, object, expected) };
  }

  const store: DynamoDbStore = {
    async get(type, namespace, name) {
      return (await readExisting(type, type.namespaced ? storedNamespace(type, namespace) : undefined, name)).object;
    },

    rememberedAt(type, namespace, name, resourceVersion) {
      return rememberedAt(type, objectKey(type.namespaced ? namespace : undefined, name), resourceVersion, undefined, 0)?.object;
    },

    list,

    async create(type, object) {
      storedNamespace(type, object.metadata.namespace);
      for (let nameAttempt = 0; ; nameAttempt++) {
        const { name, generated } = requestedName(type, object);
        try {
          return await committer.run(type, async () => ({
            writes: [planCreate(type, object, name, randomUUID(), now())],
            result: ([created]) => created ?? object,
          }));
        } catch (error) {
          if (!(error instanceof AlreadyExistsError) || !generated || nameAttempt + 1 >= maxGeneratedNameAttempts) throw error;
        }
      }
    },

    async update(type, object, updateOptions?: UpdateOptions) {
      const name = object.metadata.name;
      if (!name) throw new BadRequestError('metadata.name is required to update an object');
      const namespace = type.namespaced ? storedNamespace(type, object.metadata.namespace) : undefined;
      const expected = expectedRevision(object, updateOptions?.expectedResourceVersion);
      return committer.run(type, async (attempt) => {
        const { stored, write } = await planUpdateOf(type, namespace, name, object, expected, attempt);
        return { writes: write ? [write] : [], result: ([updated]) => updated ?? stored.object };
      });
    },

    async delete(type, namespace, name, deleteOptions?: DeleteOptions): Promise<DeleteResult> {
      const ns = type.namespaced ? storedNamespace(type, namespace) : undefined;
      return committer.run(type, async () => {
        const stored = await readExisting(type, ns, name);
        const { write, removed } = planDelete(type, stored, deleteOptions, now());
        return { writes: write ? [write] : [], result: ([object]) => ({ object: object ?? stored.object, removed }) };
      });
    },

    async batch(type, writes: readonly BatchWrite[]) {
      if (writes.length === 0) return [];
      if (writes.length > maxBatchWrites) throw new BadRequestError(`a batch holds at most ${maxBatchWrites} writes (got ${writes.length})`);
      return committer.run(type, async (attempt) => {
        const planned = await Promise.all(
          writes.map(async (write): Promise<{ write?: PlannedWrite; stored?: KubeObject }> => {
            if (write.op === 'create') {
              const namespace = storedNamespace(type, write.object.metadata.namespace);
              const { name } = requestedName(type, write.object);
              // A batch that would fail on a taken name fails before it takes revisions.
              if (await readObject(type, objectKey(namespace, name))) throw new AlreadyExistsError(refOf(type, name));
              return { write: planCreate(type, write.object, name, randomUUID(), now()) };
            }
            if (write.op === 'update') {
              const name = write.object.metadata.name;
              if (!name) throw new BadRequestError('metadata.name is required to update an object');
              const namespace = type.namespaced ? storedNamespace(type, write.object.metadata.namespace) : undefined;
              const expected = expectedRevision(write.object, write.expectedResourceVersion);
              const { stored, write: planned } = await planUpdateOf(type, namespace, name, write.object, expected, attempt);
              return planned ? { write: planned } : { stored: stored.object };
            }
            const namespace = type.namespaced ? storedNamespace(type, write.namespace) : undefined;
            const stored = await readExisting(type, namespace, write.name);
            const preconditions = write.expectedResourceVersion !== undefined ? { resourceVersion: write.expectedResourceVersion } : undefined;
            const planned = planDelete(type, stored, preconditions ? { preconditions } : undefined, now()).write;
            return planned ? { write: planned } : { stored: stored.object };
          }),
        );
        const keys = new Set<string>();
        for (const entry of planned) {
          if (!entry.write) continue;
          // DynamoDB refuses a transaction that touches one item twice.
          if (keys.has(entry.write.key)) throw new BadRequestError(`a batch may write ${type.plural} "${entry.write.object.metadata.name ?? ''}" only once`);
          keys.add(entry.write.key);
        }
        return {
          writes: planned.flatMap((entry) => (entry.write ? [entry.write] : [])),
          result: (committed) => {
            let next = 0;
            return planned.map((entry) =>
              entry.write ? (committed[next++] ?? entry.write.object) : (entry.stored ?? { apiVersion: apiVersionOf(type), kind: type.kind, metadata: {} }),
            );
          },
        };
      });
    },

    watch(type, watchOptions: WatchOptions): AsyncIterable<WatchEvent> {
      return followChanges({ source: log.source, list, pollIntervalMs, bookmarkIntervalMs, closed: closed.signal }, type, watchOptions);
    },

    currentRevision(type) {
      return log.currentRevision(type);
    },

    changesSince(type, resourceVersion, limit) {
      return readChangesSince(log.source, type, resourceVersion, limit, closed.signal);
    },

    compactChangeLog(type) {
      return log.compact(type);
    },

    close() {
      closed.abort();
      log.close();
    },
  };
  return store;
}

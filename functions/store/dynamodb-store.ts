/**
 * `ObjectStore` on DynamoDB (docs/adr/001). Every write is one TransactWriteItems: the type's
 * revision counter (conditional on the value just read), the object item (conditional on its
 * stored revision, or on absence), and the change-log entry at the new revision. Revisions of a
 * type are therefore gap-free and commit-ordered; watch reads the log after a revision.
 */

import { randomUUID } from 'node:crypto';
import {
  type AttributeValue,
  type DynamoDBClient,
  GetItemCommand,
  QueryCommand,
  TransactionCanceledException,
  type TransactWriteItem,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import type { KubeObject } from '../../schemas/meta.ts';
import type { ResourceType } from '../../schemas/registry.ts';
import { apiVersionOf } from '../../schemas/registry.ts';
import { AlreadyExistsError, BadRequestError, ConflictError, GoneError, NotFoundError } from '../core/errors.ts';
import { decodeContinue, encodeContinue } from './continue-token.ts';
import { parseChangeItem, parseCounterItem, parseObjectItem } from './object-items.ts';
import {
  checkWritableTogether,
  expectedRevision,
  maxBatchWrites,
  namespacePrefix,
  objectKey,
  type PlannedWrite,
  planCreate,
  planDelete,
  planUpdate,
  refOf,
  requestedName,
  type StoredObject,
  storedNamespace,
  withResourceVersion,
} from './object-lifecycle.ts';
import { type ChangeRecord, objectMatcher } from './object-matcher.ts';
import type { BatchWrite, DeleteOptions, DeleteResult, ListOptions, ListResult, ObjectStore, UpdateOptions, WatchEvent, WatchOptions } from './store.ts';
import { attributes, type TableNames } from './tables.ts';
import { type ChangePage, type ChangeSource, followChanges } from './watch-loop.ts';

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
  readonly now?: () => Date;
}

export type DynamoDbStore = ObjectStore & {
  /** Ends every watch of this store. */
  close(): void;
};

const maxCommitAttempts = 60;
const maxGeneratedNameAttempts = 8;
const watchPageSize = 200;

interface Plan<T> {
  readonly writes: readonly PlannedWrite[];
  /** Builds the operation's answer from the committed objects, one per write, stamped with revisions. */
  readonly result: (committed: readonly KubeObject[]) => T;
}

/** Writes committed in this process wake the watches of the same table and type at once. */
const wakers = new Map<string, Set<() => void>>();
/** Counts the wake-ups per table and type: a change-log read from before the last one is stale. */
const wakeGenerations = new Map<string, number>();

function wake(key: string): void {
  wakeGenerations.set(key, (wakeGenerations.get(key) ?? 0) + 1);
  for (const waker of wakers.get(key) ?? []) waker();
}

class RetryCommit extends Error {}

const retriableCancellations = new Set(['None', 'ConditionalCheckFailed', 'TransactionConflict', 'ThrottlingError', 'ProvisionedThroughputExceeded']);

export function createDynamoDbStore(options: DynamoDbStoreOptions): DynamoDbStore {
  const { client, tables } = options;
  const retentionSeconds = options.changeRetentionSeconds ?? 300;
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  const bookmarkIntervalMs = options.bookmarkIntervalMs ?? 60_000;
  const now = options.now ?? (() => new Date());
  const closed = new AbortController();

  const typeKey = (type: ResourceType): Record<string, AttributeValue> => ({ [attributes.partitionKey]: { S: type.id } });
  const wakeKey = (type: ResourceType): string => `${tables.changes}\u0000${type.id}`;

  async function readCounter(type: ResourceType, signal?: AbortSignal): Promise<number> {
    const { Item } = await client.send(
      new GetItemCommand({ TableName: tables.changes, Key: { ...typeKey(type), [attributes.sortKey]: { N: '0' } }, ConsistentRead: true }),
      signal ? { abortSignal: signal } : {},
    );
    return parseCounterItem(Item);
  }

  async function readObject(type: ResourceType, key: string): Promise<StoredObject | undefined> {
    const { Item } = await client.send(
      new GetItemCommand({ TableName: tables.objects, Key: { ...typeKey(type), [attributes.sortKey]: { S: key } }, ConsistentRead: true }),
    );
    return Item ? parseObjectItem(Item) : undefined;
  }

  async function readExisting(type: ResourceType, namespace: string | undefined, name: string): Promise<StoredObject> {
    const record = await readObject(type, objectKey(namespace, name));
    if (!record) throw new NotFoundError(refOf(type, name));
    return record;
  }

  function transactItems(type: ResourceType, current: number, writes: readonly PlannedWrite[]): { items: TransactWriteItem[]; committed: KubeObject[] } {
    const next = current + writes.length;
    const items: TransactWriteItem[] = [
      {
        Put: {
          TableName: tables.changes,
          Item: { ...typeKey(type), [attributes.sortKey]: { N: '0' }, [attributes.counter]: { N: String(next) } },
          ConditionExpression: current === 0 ? 'attribute_not_exists(#counter)' : '#counter = :current',
          ExpressionAttributeNames: { '#counter': attributes.counter },
          ...(current === 0 ? {} : { ExpressionAttributeValues: { ':current': { N: String(current) } } }),
        },
      },
    ];
    const committed: KubeObject[] = [];
    const expiresAt = Math.floor(now().getTime() / 1000) + retentionSeconds;
    writes.forEach((write, index) => {
      const revision = current + index + 1;
      const object = withResourceVersion(write.object, revision);
      committed.push(object);
      const body = JSON.stringify(object);
      const key = { ...typeKey(type), [attributes.sortKey]: { S: write.key } };
      const condition =
        write.expect === 'absent'
          ? { ConditionExpression: 'attribute_not_exists(#rv)', ExpressionAttributeNames: { '#rv': attributes.revision } }
          : {
              ConditionExpression: '#rv = :expected',
              ExpressionAttributeNames: { '#rv': attributes.revision },
              ExpressionAttributeValues: { ':expected': { N: String(write.expect) } },
            };
      if (write.action === 'put') {
        const slash = write.key.indexOf('/');
        items.push({
          Put: {
            TableName: tables.objects,
            Item: {
              ...key,
              [attributes.body]: { S: body },
              [attributes.revision]: { N: String(revision) },
              [attributes.namespace]: { S: write.key.slice(0, slash) },
              [attributes.name]: { S: write.key.slice(slash + 1) },
            },
            ...condition,
          },
        });
      } else {
        items.push({ Delete: { TableName: tables.objects, Key: key, ...condition } });
      }
      items.push({
        Put: {
          TableName: tables.changes,
          Item: {
            ...typeKey(type),
            [attributes.sortKey]: { N: String(revision) },
            [attributes.eventType]: { S: write.event },
            [attributes.body]: { S: body },
            ...(write.prior ? { [attributes.prior]: { S: JSON.stringify(write.prior) } } : {}),
            [attributes.expiresAt]: { N: String(expiresAt) },
          },
        },
      });
    });
    return { items, committed };
  }

  async function commit(type: ResourceType, current: number, writes: readonly PlannedWrite[]): Promise<KubeObject[]> {
    const { items, committed } = transactItems(type, current, writes);
    try {
      await client.send(new TransactWriteItemsCommand({ TransactItems: items }));
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      // Items 1 + 2i are the object writes: a failed create condition means the name is taken.
      const reasons = error.CancellationReasons ?? [];
      // Only races are worth another attempt; anything else (a validation error) is final.
      if (reasons.some((reason) => reason.Code !== undefined && !retriableCancellations.has(reason.Code))) throw error;
      writes.forEach((write, index) => {
        if (write.expect === 'absent' && reasons[1 + 2 * index]?.Code === 'ConditionalCheckFailed') {
          throw new AlreadyExistsError(refOf(type, write.object.metadata.name ?? ''));
        }
      });
      // A lost counter race, a concurrent change of an object, or a transaction conflict:
      // plan again from fresh reads.
      throw new RetryCommit();
    }
    wake(wakeKey(type));
    return committed;
  }

  /**
   * Writers of one type in this process take turns: they would only collide on the counter.
   * Whoever holds the turn also knows the counter it left, so the next one skips reading it.
   */
  const turns = new Map<string, Promise<void>>();
  const knownCounters = new Map<string, number>();

  async function inTurn<T>(type: ResourceType, work: () => Promise<T>): Promise<T> {
    const previous = turns.get(type.id) ?? Promise.resolve();
    let release = (): void => {};
    const mine = new Promise<void>((done) => {
      release = done;
    });
    const queue = previous.then(() => mine);
    turns.set(type.id, queue);
    await previous;
    try {
      return await work();
    } finally {
      release();
      if (turns.get(type.id) === queue) turns.delete(type.id);
    }
  }

  /** Plans from fresh reads and commits, again while writers elsewhere win the race. */
  function run<T>(type: ResourceType, name: string, plan: (attempt: number) => Promise<Plan<T>>): Promise<T> {
    return inTurn(type, () => planAndCommit(type, name, plan));
  }

  async function planAndCommit<T>(type: ResourceType, name: string, plan: (attempt: number) => Promise<Plan<T>>): Promise<T> {
    for (let attempt = 0; attempt < maxCommitAttempts; attempt++) {
      const known = knownCounters.get(type.id);
      const [current, planned] = await Promise.all([known ?? readCounter(type), plan(attempt)]);
      if (planned.writes.length === 0) return planned.result([]);
      checkWritableTogether(type, planned.writes);
      try {
        const committed = await commit(type, current, planned.writes);
        knownCounters.set(type.id, current + planned.writes.length);
        return planned.result(committed);
      } catch (error) {
        // Another process may have moved the counter.
        knownCounters.delete(type.id);
        if (!(error instanceof RetryCommit)) throw error;
      }
      // Jittered, growing backoff spreads out writers that collided on the counter.
      await new Promise((done) => setTimeout(done, Math.random() * Math.min(100, 2 ** Math.min(attempt, 7))));
    }
    throw new ConflictError(refOf(type, name), 'too many concurrent writes to this resource type; please try again');
  }

  const store: DynamoDbStore = {
    async get(type, namespace, name) {
      return (await readExisting(type, type.namespaced ? storedNamespace(type, namespace) : undefined, name)).object;
    },

    async list(type, listOptions: ListOptions = {}): Promise<ListResult> {
      const namespace = type.namespaced ? listOptions.namespace || undefined : undefined;
      const matcher = objectMatcher(type, namespace, listOptions.labelSelector, listOptions.fieldSelector);
      const position = listOptions.continue ? decodeContinue(listOptions.continue) : undefined;
      // The counter is read before the objects: a watch from this revision misses nothing.
      const resourceVersion = position?.rv ?? String(await readCounter(type));
      const limit = listOptions.limit && listOptions.limit > 0 ? listOptions.limit : undefined;
      const pageLimit = limit === undefined ? undefined : matcher.filtered ? Math.max(limit + 1, 250) : limit + 1;

      if (position && namespace !== undefined && !position.after.startsWith(namespacePrefix(namespace))) {
        throw new BadRequestError('continue key is not valid: it was returned by a list of another namespace');
      }
      const items: KubeObject[] = [];
      let after = position?.after;
      let more = false;
      pages: for (;;) {
        const page = await client.send(
          new QueryCommand({
            TableName: tables.objects,
            KeyConditionExpression: namespace ? '#pk = :pk AND begins_with(#sk, :prefix)' : '#pk = :pk',
            ExpressionAttributeNames: { '#pk': attributes.partitionKey, ...(namespace ? { '#sk': attributes.sortKey } : {}) },
            ExpressionAttributeValues: { ':pk': { S: type.id }, ...(namespace ? { ':prefix': { S: namespacePrefix(namespace) } } : {}) },
            ConsistentRead: true,
            ...(after !== undefined ? { ExclusiveStartKey: { ...typeKey(type), [attributes.sortKey]: { S: after } } } : {}),
            ...(pageLimit !== undefined ? { Limit: pageLimit } : {}),
          }),
        );
        for (const item of page.Items ?? []) {
          if (limit !== undefined && items.length === limit) {
            more = true;
            break pages;
          }
          const record = parseObjectItem(item);
          after = record.key;
          if (matcher.matches(record.object)) items.push(record.object);
        }
        const lastKey = page.LastEvaluatedKey?.[attributes.sortKey]?.S;
        if (lastKey === undefined) break;
        after = lastKey;
      }
      return { items, resourceVersion, ...(more && after !== undefined ? { continue: encodeContinue({ rv: resourceVersion, after }) } : {}) };
    },

    async create(type, object) {
      storedNamespace(type, object.metadata.namespace);
      for (let nameAttempt = 0; ; nameAttempt++) {
        const { name, generated } = requestedName(type, object);
        try {
          return await run(type, name, async () => ({
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
      return run(type, name, async () => {
        const stored = await readExisting(type, namespace, name);
        const write = planUpdate(type, stored, object, expected);
        return { writes: write ? [write] : [], result: ([updated]) => updated ?? stored.object };
      });
    },

    async delete(type, namespace, name, deleteOptions?: DeleteOptions): Promise<DeleteResult> {
      const ns = type.namespaced ? storedNamespace(type, namespace) : undefined;
      return run(type, name, async () => {
        const stored = await readExisting(type, ns, name);
        const { write, removed } = planDelete(type, stored, deleteOptions, now());
        return { writes: write ? [write] : [], result: ([object]) => ({ object: object ?? stored.object, removed }) };
      });
    },

    async batch(type, writes: readonly BatchWrite[]) {
      if (writes.length === 0) return [];
      if (writes.length > maxBatchWrites) throw new BadRequestError(`a batch holds at most ${maxBatchWrites} writes (got ${writes.length})`);
      const names = writes.map((write) => (write.op === 'delete' ? write.name : write.object.metadata.name) ?? write.op);
      return run(type, names[0] ?? '', async () => {
        const planned = await Promise.all(
          writes.map(async (write): Promise<{ write?: PlannedWrite; stored?: KubeObject }> => {
            if (write.op === 'create') {
              storedNamespace(type, write.object.metadata.namespace);
              return { write: planCreate(type, write.object, requestedName(type, write.object).name, randomUUID(), now()) };
            }
            if (write.op === 'update') {
              const name = write.object.metadata.name;
              if (!name) throw new BadRequestError('metadata.name is required to update an object');
              const namespace = type.namespaced ? storedNamespace(type, write.object.metadata.namespace) : undefined;
              const stored = await readExisting(type, namespace, name);
              const planned = planUpdate(type, stored, write.object, expectedRevision(write.object, write.expectedResourceVersion));
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
        const plannedWrites = planned.flatMap((entry) => (entry.write ? [entry.write] : []));
        return {
          writes: plannedWrites,
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
      return followChanges({ source: changeSource, list: store.list, pollIntervalMs, bookmarkIntervalMs, closed: closed.signal }, type, watchOptions);
    },

    async currentRevision(type) {
      return String(await readCounter(type));
    },

    close() {
      closed.abort();
    },
  };

  /**
   * Watches of one type mostly sit at the same revision: they share one read of the log after
   * it, reused until a write of this process or half a poll interval makes it stale.
   */
  const changeReads = new Map<string, { readonly generation: number; readonly startedAt: number; readonly result: Promise<ChangeRecord[]> }>();

  function readChanges(type: ResourceType, after: number, signal: AbortSignal): Promise<ChangeRecord[]> {
    const key = `${type.id}\u0000${after}`;
    const generation = wakeGenerations.get(wakeKey(type)) ?? 0;
    const startedAt = Date.now();
    const shared = changeReads.get(key);
    if (shared && shared.generation === generation && startedAt - shared.startedAt < pollIntervalMs / 2) return abortable(shared.result, signal);
    for (const [oldKey, read] of changeReads) {
      if (startedAt - read.startedAt >= pollIntervalMs) changeReads.delete(oldKey);
    }
    const result = queryChanges(type, after);
    changeReads.set(key, { generation, startedAt, result });
    result.catch(() => changeReads.delete(key));
    return abortable(result, signal);
  }

  async function queryChanges(type: ResourceType, after: number): Promise<ChangeRecord[]> {
    const { Items } = await client.send(
      new QueryCommand({
        TableName: tables.changes,
        KeyConditionExpression: '#pk = :pk AND #sk > :after',
        ExpressionAttributeNames: { '#pk': attributes.partitionKey, '#sk': attributes.sortKey },
        ExpressionAttributeValues: { ':pk': { S: type.id }, ':after': { N: String(after) } },
        ConsistentRead: true,
        Limit: watchPageSize,
      }),
    );
    return (Items ?? []).map(parseChangeItem);
  }

  function tooOld(revision: number, oldest: number): GoneError {
    return new GoneError(`too old resource version: ${revision} (${oldest})`);
  }

  const changeSource: ChangeSource = {
    async read(type, after, first, signal): Promise<ChangePage> {
      // At the start, the counter read before the log tells an empty log from a compacted one.
      const counterBefore = first ? await readCounter(type, signal) : 0;
      // A revision this store never reached (its data was reset): the client must list again.
      if (first && counterBefore < after) throw new GoneError(`too large resource version: ${after}, current: ${counterBefore}`);
      const changes = await readChanges(type, after, signal);
      const nowSeconds = Math.floor(now().getTime() / 1000);
      const head = changes[0];
      // Revisions are gap-free: a missing or expired next entry means the log was compacted past it.
      if (head && (head.revision !== after + 1 || head.expiresAt <= nowSeconds)) {
        const oldest = changes.find((change) => change.expiresAt > nowSeconds)?.revision ?? head.revision;
        throw tooOld(after, oldest - 1);
      }
      if (!head && first && counterBefore > after) throw tooOld(after, counterBefore);
      return { changes, through: changes.at(-1)?.revision ?? after, more: changes.length === watchPageSize };
    },
    subscribe(type, wakeUp) {
      const key = wakeKey(type);
      const set = wakers.get(key) ?? new Set();
      set.add(wakeUp);
      wakers.set(key, set);
      return () => {
        set.delete(wakeUp);
        if (set.size === 0) wakers.delete(key);
      };
    },
  };

  return store;
}

/** `promise`, or an AbortError as soon as `signal` aborts (the shared work goes on for others). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
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

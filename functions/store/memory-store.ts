/**
 * `ObjectStore` in memory, with the DynamoDB adapter's semantics (docs/adr/001–003): per-type
 * revisions stamped into `resourceVersion`, optimistic concurrency (409), list with `limit` /
 * `continue` / selectors at a revision a watch can start from, a change log replayed by watches
 * and compacted after `changeRetentionSeconds` (410 for what is gone), graceful deletion and
 * finalizers, atomic batches, the same size limits. It plans every write with the same pure
 * rules (`object-lifecycle.ts`) and serves watches with the same loop (`watch-loop.ts`).
 *
 * For fast tests of code that uses the store, and for anything that needs a store without
 * DynamoDB. Objects are kept as JSON and parsed on every read, as DynamoDB's items are, so a
 * caller never holds a reference into the store. Several store instances can share one
 * `MemoryDatabase`, like processes sharing tables.
 *
 *   const store = createMemoryStore();
 *   const cm = await store.create(types.configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'default' } });
 */
import { randomUUID } from 'node:crypto';
import type { KubeObject } from '../../schemas/meta.ts';
import type { ResourceType } from '../../schemas/registry.ts';
import { apiVersionOf } from '../../schemas/registry.ts';
import { AlreadyExistsError, BadRequestError, ConflictError, GoneError, NotFoundError } from '../core/errors.ts';
import { continueIsWithin, decodeContinue, encodeContinue } from './continue-token.ts';
import {
  checkWritableTogether,
  expectedRevision,
  maxBatchWrites,
  namespacePrefix,
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
  withResourceVersion,
} from './object-lifecycle.ts';
import { type ChangeEventType, type ChangeRecord, objectMatcher, type Projection } from './object-matcher.ts';
import type { BatchWrite, DeleteResult, ListResult, ObjectStore, WatchEvent } from './store.ts';
import { type ChangePage, type ChangeSource, followChanges, readChangesSince } from './watch-loop.ts';

interface StoredItem {
  readonly revision: number;
  /** The object as JSON, stamped with its revision. */
  readonly body: string;
}

interface LogEntry {
  readonly revision: number;
  readonly event: ChangeEventType;
  readonly body: string;
  readonly prior?: Projection;
  readonly retainedUntil: number;
}

interface TypeData {
  readonly objects: Map<string, StoredItem>;
  /** The objects' keys in key order, rebuilt after a create or a removal. */
  sortedKeys: string[] | undefined;
  /** The type's latest revision. */
  revision: number;
  /** Retained changes in revision order. */
  readonly log: LogEntry[];
  /** The newest revision compacted away (0: none). */
  compacted: number;
  readonly wakers: Set<() => void>;
}

/** The data several memory stores may share, as processes share tables. */
export interface MemoryDatabase {
  readonly types: Map<string, TypeData>;
}

export function createMemoryDatabase(): MemoryDatabase {
  return { types: new Map() };
}

export interface MemoryStoreOptions {
  /** Share data with other stores. @default a new, empty database */
  readonly database?: MemoryDatabase;
  /** How long change-log entries are kept, like etcd compaction. @default 300 */
  readonly changeRetentionSeconds?: number;
  /** How often a quiet watch looks at the log again; every commit wakes watches at once. @default 1000 */
  readonly pollIntervalMs?: number;
  /** Quiet time after which a watch with allowBookmarks sends a BOOKMARK. @default 60000 */
  readonly bookmarkIntervalMs?: number;
  readonly now?: () => Date;
}

export type MemoryStore = ObjectStore & {
  /** Ends every watch of this store. */
  close(): void;
};

const watchPageSize = 200;
const continueElsewhere = 'continue key is not valid: it was returned by a list of another namespace';
const maxGeneratedNameAttempts = 8;

export function createMemoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const database = options.database ?? createMemoryDatabase();
  const retentionSeconds = options.changeRetentionSeconds ?? 300;
  const now = options.now ?? (() => new Date());
  const closed = new AbortController();

  function data(type: ResourceType): TypeData {
    let found = database.types.get(type.id);
    if (!found) {
      found = { objects: new Map(), sortedKeys: undefined, revision: 0, log: [], compacted: 0, wakers: new Set() };
      database.types.set(type.id, found);
    }
    // Entries past their time are gone, as the DynamoDB adapter treats expired entries.
    const nowSeconds = Math.floor(now().getTime() / 1000);
    let expired = 0;
    while (expired < found.log.length && (found.log[expired]?.retainedUntil ?? 0) <= nowSeconds) expired++;
    if (expired > 0) found.compacted = found.log.splice(0, expired).at(-1)?.revision ?? found.compacted;
    return found;
  }

  function stored(type: ResourceType, key: string): StoredObject | undefined {
    const item = data(type).objects.get(key);
    return item ? { key, revision: item.revision, object: parseStoredObject(item.body) } : undefined;
  }

  function existing(type: ResourceType, namespace: string | undefined, name: string): StoredObject {
    const found = stored(type, objectKey(namespace, name));
    if (!found) throw new NotFoundError(refOf(type, name));
    return found;
  }

  /** Writes all or nothing at consecutive revisions; the planner has checked the stored revisions. */
  function commit(type: ResourceType, writes: readonly PlannedWrite[]): KubeObject[] {
    if (writes.length === 0) return [];
    checkWritableTogether(type, writes);
    const typeData = data(type);
    for (const write of writes) {
      const current = typeData.objects.get(write.key);
      if (write.expect === 'absent') {
        if (current) throw new AlreadyExistsError(refOf(type, write.object.metadata.name ?? ''));
      } else if (current?.revision !== write.expect) {
        throw new ConflictError(refOf(type, write.object.metadata.name ?? ''));
      }
    }
    const retainedUntil = Math.floor(now().getTime() / 1000) + retentionSeconds;
    const committed = writes.map((write, index) => {
      const revision = typeData.revision + index + 1;
      const object = withResourceVersion(write.object, revision);
      const body = JSON.stringify(object);
      if (write.action === 'put') {
        if (!typeData.objects.has(write.key)) typeData.sortedKeys = undefined;
        typeData.objects.set(write.key, { revision, body });
      } else {
        typeData.objects.delete(write.key);
        typeData.sortedKeys = undefined;
      }
      typeData.log.push({ revision, event: write.event, body, ...(write.prior ? { prior: write.prior } : {}), retainedUntil });
      return parseStoredObject(body);
    });
    typeData.revision += writes.length;
    for (const wake of typeData.wakers) wake();
    return committed;
  }

  function sortedKeys(typeData: TypeData): string[] {
    typeData.sortedKeys ??= [...typeData.objects.keys()].sort(compareKeys);
    return typeData.sortedKeys;
  }

  const changeSource: ChangeSource = {
    async read(type, after, first): Promise<ChangePage> {
      const typeData = data(type);
      // A revision this store never reached (its data was reset): the client must list again.
      if (first && after > typeData.revision) throw new GoneError(`too large resource version: ${after}, current: ${typeData.revision}`);
      if (after < typeData.compacted) throw new GoneError(`too old resource version: ${after} (${typeData.compacted})`);
      const start = firstAfter(typeData.log, after);
      const entries = typeData.log.slice(start, start + watchPageSize);
      const changes = entries.map(
        (entry): ChangeRecord => ({
          typeId: type.id,
          revision: entry.revision,
          type: entry.event,
          object: parseStoredObject(entry.body),
          ...(entry.prior ? { prior: entry.prior } : {}),
          retainedUntil: entry.retainedUntil,
        }),
      );
      return { changes, through: changes.at(-1)?.revision ?? after, more: start + entries.length < typeData.log.length };
    },
    subscribe(type, wake) {
      const wakers = data(type).wakers;
      wakers.add(wake);
      return () => wakers.delete(wake);
    },
  };

  async function create(type: ResourceType, object: KubeObject): Promise<KubeObject> {
    await turn();
    storedNamespace(type, object.metadata.namespace);
    for (let attempt = 0; ; attempt++) {
      const { name, generated } = requestedName(type, object);
      try {
        const [created] = commit(type, [planCreate(type, object, name, randomUUID(), now())]);
        return created ?? object;
      } catch (error) {
        if (!(error instanceof AlreadyExistsError) || !generated || attempt + 1 >= maxGeneratedNameAttempts) throw error;
      }
    }
  }

  const store: MemoryStore = {
    async get(type, namespace, name) {
      await turn();
      return existing(type, type.namespaced ? storedNamespace(type, namespace) : undefined, name).object;
    },

    async list(type, listOptions = {}): Promise<ListResult> {
      await turn();
      const namespace = type.namespaced ? listOptions.namespace || undefined : undefined;
      const matcher = objectMatcher(type, namespace, listOptions.labelSelector, listOptions.fieldSelector);
      const position = listOptions.continue ? decodeContinue(listOptions.continue) : undefined;
      const typeData = data(type);
      // A type never written is at revision 0, which a watch reads as "any": skip to a real one.
      if (typeData.revision === 0) typeData.revision = 1;
      const resourceVersion = position?.rv ?? String(typeData.revision);
      const limit = listOptions.limit && listOptions.limit > 0 ? listOptions.limit : undefined;
      const prefix = namespace === undefined ? '' : namespacePrefix(namespace);
      if (position && !continueIsWithin(position, namespace)) throw new BadRequestError(continueElsewhere);
      const keys = sortedKeys(typeData);
      const items: KubeObject[] = [];
      let after = position?.after;
      let more = false;
      for (let index = after === undefined ? firstKeyFrom(keys, prefix) : firstKeyAfter(keys, after); index < keys.length; index++) {
        const key = keys[index] ?? '';
        if (!key.startsWith(prefix)) break;
        if (limit !== undefined && items.length === limit) {
          more = true;
          break;
        }
        after = key;
        const item = typeData.objects.get(key);
        if (!item) continue;
        const object = parseStoredObject(item.body);
        if (matcher.matches(object)) items.push(object);
      }
      return { items, resourceVersion, ...(more && after !== undefined ? { continue: encodeContinue({ rv: resourceVersion, after }) } : {}) };
    },

    create,

    async update(type, object, updateOptions) {
      await turn();
      const name = object.metadata.name;
      if (!name) throw new BadRequestError('metadata.name is required to update an object');
      const namespace = type.namespaced ? storedNamespace(type, object.metadata.namespace) : undefined;
      const current = existing(type, namespace, name);
      const write = planUpdate(type, current, object, expectedRevision(object, updateOptions?.expectedResourceVersion));
      if (!write) return current.object;
      const [updated] = commit(type, [write]);
      return updated ?? current.object;
    },

    async delete(type, namespace, name, deleteOptions): Promise<DeleteResult> {
      await turn();
      const current = existing(type, type.namespaced ? storedNamespace(type, namespace) : undefined, name);
      const { write, removed } = planDelete(type, current, deleteOptions, now());
      if (!write) return { object: current.object, removed };
      const [object] = commit(type, [write]);
      return { object: object ?? current.object, removed };
    },

    async batch(type, writes: readonly BatchWrite[]) {
      await turn();
      if (writes.length === 0) return [];
      if (writes.length > maxBatchWrites) throw new BadRequestError(`a batch holds at most ${maxBatchWrites} writes (got ${writes.length})`);
      const planned = writes.map((write): { write?: PlannedWrite; stored?: KubeObject } => {
        if (write.op === 'create') {
          storedNamespace(type, write.object.metadata.namespace);
          return { write: planCreate(type, write.object, requestedName(type, write.object).name, randomUUID(), now()) };
        }
        if (write.op === 'update') {
          const name = write.object.metadata.name;
          if (!name) throw new BadRequestError('metadata.name is required to update an object');
          const current = existing(type, type.namespaced ? storedNamespace(type, write.object.metadata.namespace) : undefined, name);
          const update = planUpdate(type, current, write.object, expectedRevision(write.object, write.expectedResourceVersion));
          return update ? { write: update } : { stored: current.object };
        }
        const current = existing(type, type.namespaced ? storedNamespace(type, write.namespace) : undefined, write.name);
        const preconditions = write.expectedResourceVersion !== undefined ? { resourceVersion: write.expectedResourceVersion } : undefined;
        const removal = planDelete(type, current, preconditions ? { preconditions } : undefined, now()).write;
        return removal ? { write: removal } : { stored: current.object };
      });
      const keys = new Set<string>();
      for (const entry of planned) {
        if (!entry.write) continue;
        if (keys.has(entry.write.key)) throw new BadRequestError(`a batch may write ${type.plural} "${entry.write.object.metadata.name ?? ''}" only once`);
        keys.add(entry.write.key);
      }
      const committed = commit(
        type,
        planned.flatMap((entry) => (entry.write ? [entry.write] : [])),
      );
      let next = 0;
      return planned.map((entry) =>
        entry.write ? (committed[next++] ?? entry.write.object) : (entry.stored ?? { apiVersion: apiVersionOf(type), kind: type.kind, metadata: {} }),
      );
    },

    changesSince(type, resourceVersion, limit) {
      return readChangesSince(changeSource, type, resourceVersion, limit, closed.signal);
    },

    watch(type, watchOptions): AsyncIterable<WatchEvent> {
      return followChanges(
        {
          source: changeSource,
          list: store.list,
          pollIntervalMs: options.pollIntervalMs ?? 1000,
          bookmarkIntervalMs: options.bookmarkIntervalMs ?? 60_000,
          closed: closed.signal,
        },
        type,
        watchOptions,
      );
    },

    async currentRevision(type) {
      await turn();
      return String(data(type).revision);
    },

    close() {
      closed.abort();
    },
  };
  return store;
}

/** Lets other callers run between a call and its answer, as a round trip to a database would. */
function turn(): Promise<void> {
  return new Promise((done) => setImmediate(done));
}

/** Keys in DynamoDB's order for string sort keys: by UTF-8 bytes. */
function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Index of the first log entry after `revision`. */
function firstAfter(log: readonly LogEntry[], revision: number): number {
  let low = 0;
  let high = log.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if ((log[middle]?.revision ?? 0) <= revision) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** Index of the first key that sorts at or after `prefix`. */
function firstKeyFrom(keys: readonly string[], prefix: string): number {
  let low = 0;
  let high = keys.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (compareKeys(keys[middle] ?? '', prefix) < 0) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** Index of the first key that sorts after `key`. */
function firstKeyAfter(keys: readonly string[], key: string): number {
  let low = 0;
  let high = keys.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (compareKeys(keys[middle] ?? '', key) <= 0) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * Lists on DynamoDB: one Query per page of a type's partition (a namespace is a key prefix),
 * strongly consistent, at a revision the change log says is settled — so a watch from it misses
 * nothing (docs/adr/002). Selectors are applied after the read; `limit` / `continue` page by key.
 *
 * A client that got a `continue` token asks for the next page next (kubectl pages by 500, the
 * controllers' list loop too): that page's Query starts as soon as this page is answered, so
 * reading it from DynamoDB overlaps with the client's own work. A page read ahead is used only
 * for the request it was read for, within a few seconds; it is at least as new as the list's
 * revision, as every page must be.
 */
import { type AttributeValue, QueryCommand, type QueryCommandOutput } from '@aws-sdk/client-dynamodb';
import type { KubeObject } from '../../schemas/meta.ts';
import type { ResourceType } from '../../schemas/registry.ts';
import { BadRequestError } from '../core/errors.ts';
import { continueIsWithin, decodeContinue, encodeContinue } from './continue-token.ts';
import type { DynamoDbCalls } from './dynamodb-calls.ts';
import type { ChangeLog } from './dynamodb-change-log.ts';
import { createListSnapshot, type FilledObject, type ListSnapshot, listedBytes } from './list-snapshot.ts';
import { parseObjectItem } from './object-items.ts';
import { namespacePrefix, type StoredObject } from './object-lifecycle.ts';
import { objectMatcher } from './object-matcher.ts';
import type { ListOptions, ListResult } from './store.ts';
import { attributes, type TableNames } from './tables.ts';

export interface ListerOptions {
  readonly calls: DynamoDbCalls;
  readonly tables: TableNames;
  readonly log: ChangeLog;
  /** Told of every object a list read, with its JSON as stored. */
  readonly onRead?: (type: ResourceType, stored: StoredObject, body: string) => void;
  /** Moves a type that was never written past revision 0 (the committer's `skipRevision`). */
  readonly skipRevision?: (type: ResourceType) => Promise<void>;
  /** Lists served from a snapshot of each type kept in memory (docs/adr/198); absent, every list reads the table. */
  readonly snapshots?: ListSnapshotOptions;
}

/** Lists served from memory, as kube-apiserver's watch cache serves them (docs/adr/198). */
export interface ListSnapshotOptions {
  /**
   * A type's snapshot is read (the whole type, once) at its `fillAfterLists`-th list in this
   * process (pages after a list's first do not count); the lists before it read the table. 1: at
   * the first. @default 2
   */
  readonly fillAfterLists?: number;
  /** Past this many bytes (the objects' JSON, about), a type is not held: its lists read the table. @default 64 MiB */
  readonly maxBytesPerType?: number;
  /**
   * How often (at most) a list from a snapshot reads the type's counter first, to learn of a
   * compaction that deleted entries this process never read (then the snapshot is read afresh).
   * @default 1000
   */
  readonly counterCheckMs?: number;
}

/** What the store tells of its snapshots: for tests and the bench. */
export interface ListSnapshotStats {
  /** Lists answered from a snapshot. */
  served: number;
  /** Lists that read the table. */
  read: number;
  /** Whole-type reads that filled a snapshot. */
  fills: number;
}

interface TypeSnapshot {
  lists: number;
  usedAt: number;
  counterCheckedAt: number;
  snapshot: ListSnapshot | undefined;
  filling: Promise<ListSnapshot | 'too large' | undefined> | undefined;
  /** Too large to hold: lists read the table until this time (ms). */
  tooLargeUntil: number;
}

/** How long a type too large to hold is not tried again. */
const tooLargeRetryMs = 10 * 60_000;
/** A snapshot not listed for this long is dropped (its memory freed; the log moved on anyway). */
const unusedSnapshotMs = 5 * 60_000;

/** How long a page read ahead waits for its request. */
const readAheadMs = 5000;
/** Pages read ahead at once, at most (the oldest are dropped). */
const maxReadAhead = 16;

type Page = Pick<QueryCommandOutput, 'Items' | 'LastEvaluatedKey'>;

export type Lister = ((type: ResourceType, listOptions?: ListOptions) => Promise<ListResult>) & { readonly snapshotStats: ListSnapshotStats };

export function createLister(options: ListerOptions): Lister {
  const { calls, tables, log } = options;
  const readAhead = new Map<string, { readonly at: number; readonly page: Promise<Page> }>();
  const snapshots = new Map<string, TypeSnapshot>();
  const snapshotStats: ListSnapshotStats = { served: 0, read: 0, fills: 0 };
  const fillAfterLists = Math.max(1, options.snapshots?.fillAfterLists ?? 2);
  const maxBytesPerType = options.snapshots?.maxBytesPerType ?? 64 * 1024 * 1024;
  const counterCheckMs = options.snapshots?.counterCheckMs ?? 1000;

  function query(type: ResourceType, namespace: string | undefined, after: string | undefined, pageLimit: number | undefined): Promise<Page> {
    return calls.run(
      'Query',
      (abortSignal) =>
        calls.client.send(
          new QueryCommand({
            TableName: tables.objects,
            KeyConditionExpression: namespace ? '#pk = :pk AND begins_with(#sk, :prefix)' : '#pk = :pk',
            ExpressionAttributeNames: { '#pk': attributes.partitionKey, ...(namespace ? { '#sk': attributes.sortKey } : {}) },
            ExpressionAttributeValues: { ':pk': { S: type.id }, ...(namespace ? { ':prefix': { S: namespacePrefix(namespace) } } : {}) },
            ConsistentRead: true,
            ...(after !== undefined ? { ExclusiveStartKey: { [attributes.partitionKey]: { S: type.id }, [attributes.sortKey]: { S: after } } } : {}),
            ...(pageLimit !== undefined ? { Limit: pageLimit } : {}),
          }),
          { abortSignal },
        ),
      { idempotent: true },
    );
  }

  const aheadKey = (type: ResourceType, namespace: string | undefined, after: string, pageLimit: number | undefined): string =>
    [type.id, namespace ?? '', after, pageLimit ?? ''].join('\u0000');

  /** The page starting after `after`: read ahead for this very request, or read now. */
  function firstPage(type: ResourceType, namespace: string | undefined, after: string | undefined, pageLimit: number | undefined): Promise<Page> {
    if (after === undefined) return query(type, namespace, after, pageLimit);
    const key = aheadKey(type, namespace, after, pageLimit);
    const ahead = readAhead.get(key);
    readAhead.delete(key);
    if (ahead && Date.now() - ahead.at < readAheadMs) return ahead.page;
    return query(type, namespace, after, pageLimit);
  }

  function readNextAhead(type: ResourceType, namespace: string | undefined, after: string, pageLimit: number | undefined): void {
    const now = Date.now();
    for (const [key, entry] of readAhead) if (now - entry.at >= readAheadMs) readAhead.delete(key);
    while (readAhead.size >= maxReadAhead) {
      const oldest = readAhead.keys().next().value;
      if (oldest === undefined) break;
      readAhead.delete(oldest);
    }
    const page = query(type, namespace, after, pageLimit);
    // Unused or failed, it is simply dropped; a request that takes it sees the failure itself.
    page.catch(() => undefined);
    readAhead.set(aheadKey(type, namespace, after, pageLimit), { at: now, page });
  }

  /**
   * The whole type read into a snapshot at a settled revision: each object read after that
   * revision settled is at least as new as it, and every change after it is in the log.
   */
  async function fill(type: ResourceType): Promise<ListSnapshot | 'too large' | undefined> {
    const revision = Number(await log.listRevision(type));
    // A type never written: the table's list gives it a revision first.
    if (revision === 0) return undefined;
    const filled: FilledObject[] = [];
    let bytes = 0;
    let after: string | undefined;
    for (;;) {
      const page = await query(type, undefined, after, undefined);
      for (const item of page.Items ?? []) {
        const record = parseObjectItem(item);
        // Its JSON as the schema parsed it: parsing it again gives exactly this object.
        const body = JSON.stringify(record.object);
        // Counted as it will be once listed (parsed too), so a snapshot filled is not dropped at its first list.
        bytes += listedBytes(record.key, body);
        if (bytes > maxBytesPerType) return 'too large';
        filled.push({ key: record.key, revision: record.revision, body });
      }
      const lastKey = page.LastEvaluatedKey?.[attributes.sortKey]?.S;
      if (lastKey === undefined) break;
      after = lastKey;
    }
    snapshotStats.fills++;
    return createListSnapshot(revision, filled);
  }

  /** Brings a snapshot up to the log's settled revision from the entries this process read; false when they are no longer all kept, or it grew past the bound. */
  function catchUp(type: ResourceType, state: TypeSnapshot, snapshot: ListSnapshot): boolean {
    const since = log.settledSince(type, snapshot.revision);
    if (since) {
      for (const entry of since.entries) if (entry.change) snapshot.apply(type, entry.change);
      snapshot.settle(since.through);
      if (snapshot.bytes <= maxBytesPerType) return true;
      state.tooLargeUntil = Date.now() + tooLargeRetryMs;
    }
    // Behind what the log keeps (unused for long, or compacted meanwhile), or too large: dropped.
    if (state.snapshot === snapshot) state.snapshot = undefined;
    return false;
  }

  /** The type's snapshot, current as of at least `wanted` (a revision) or the log's settled revision now; undefined to read the table. */
  async function snapshotFor(type: ResourceType, wanted: number | undefined): Promise<ListSnapshot | undefined> {
    const now = Date.now();
    for (const held of snapshots.values()) if (held.snapshot && now - held.usedAt > unusedSnapshotMs) held.snapshot = undefined;
    let state = snapshots.get(type.id);
    if (!state) {
      state = { lists: 0, usedAt: now, counterCheckedAt: 0, snapshot: undefined, filling: undefined, tooLargeUntil: 0 };
      snapshots.set(type.id, state);
    }
    // Pages after the first are one list: a cold instance paging through a type once reads no snapshot.
    if (wanted === undefined) state.lists++;
    state.usedAt = now;
    if (!state.snapshot) {
      if (state.lists < fillAfterLists || now < state.tooLargeUntil) return undefined;
      const current = state;
      current.filling ??= fill(type).finally(() => {
        current.filling = undefined;
      });
      const filled = await current.filling;
      if (filled === 'too large') current.tooLargeUntil = Date.now() + tooLargeRetryMs;
      if (filled === undefined || filled === 'too large') return undefined;
      current.snapshot ??= filled;
      current.counterCheckedAt = Date.now();
    }
    const snapshot = state.snapshot;
    if (!snapshot) return undefined;
    if (Date.now() - state.counterCheckedAt >= counterCheckMs) {
      state.counterCheckedAt = Date.now();
      await log.learnCounter(type);
    }
    // A list reads the log afresh first: every write acknowledged before it began, in this process
    // or another, is then in the snapshot (a consistent read, as Kubernetes' cache answers one).
    // A write committed past a revision still in flight is not settled yet: the table answers.
    let target = wanted;
    if (target === undefined) {
      const now = await log.settledNow(type);
      if (!now.complete) return undefined;
      target = now.revision;
    }
    if (!catchUp(type, state, snapshot)) return undefined;
    if (snapshot.revision >= target) return snapshot;
    // A token of another process's list, ahead of what this one read: settle the log again.
    await log.listRevision(type);
    return catchUp(type, state, snapshot) && snapshot.revision >= target ? snapshot : undefined;
  }

  async function listFromSnapshot(
    type: ResourceType,
    namespace: string | undefined,
    matcher: ReturnType<typeof objectMatcher>,
    position: { readonly rv: string; readonly after: string } | undefined,
    limit: number | undefined,
  ): Promise<ListResult | undefined> {
    const snapshot = await snapshotFor(type, position ? Number(position.rv) : undefined);
    if (!snapshot) return undefined;
    const resourceVersion = position?.rv ?? String(snapshot.revision);
    const { onRead } = options;
    const page = snapshot.page({
      ...(namespace !== undefined ? { prefix: namespacePrefix(namespace) } : {}),
      ...(position ? { after: position.after } : {}),
      ...(limit !== undefined ? { limit } : {}),
      matches: matcher.matches,
      ...(onRead ? { onItem: (key: string, revision: number, object: KubeObject, body: string) => onRead(type, { key, revision, object }, body) } : {}),
    });
    snapshotStats.served++;
    return { items: page.items, resourceVersion, ...(page.next !== undefined ? { continue: encodeContinue({ rv: resourceVersion, after: page.next }) } : {}) };
  }

  const list = async function list(type: ResourceType, listOptions: ListOptions = {}): Promise<ListResult> {
    const namespace = type.namespaced ? listOptions.namespace || undefined : undefined;
    const matcher = objectMatcher(type, namespace, listOptions.labelSelector, listOptions.fieldSelector);
    const position = listOptions.continue ? decodeContinue(listOptions.continue) : undefined;
    if (position && !continueIsWithin(position, namespace)) {
      throw new BadRequestError('continue key is not valid: it was returned by a list of another namespace');
    }
    const limit = listOptions.limit && listOptions.limit > 0 ? listOptions.limit : undefined;
    if (options.snapshots) {
      const served = await listFromSnapshot(type, namespace, matcher, position, limit);
      if (served) return served;
      snapshotStats.read++;
    }
    // The revision is settled before the objects are read: a watch from it misses nothing.
    let resourceVersion = position?.rv ?? (await log.listRevision(type));
    // A type never written is at revision 0, which a watch reads as "any": give it a real one.
    if (resourceVersion === '0' && options.skipRevision) {
      await options.skipRevision(type);
      resourceVersion = await log.listRevision(type);
    }
    const pageLimit = limit === undefined ? undefined : matcher.filtered ? Math.max(limit + 1, 250) : limit + 1;

    const items: KubeObject[] = [];
    let after = position?.after;
    let more = false;
    let page = await firstPage(type, namespace, after, pageLimit);
    pages: for (;;) {
      for (const item of page.Items ?? []) {
        if (limit !== undefined && items.length === limit) {
          more = true;
          break pages;
        }
        const record = parseObjectItem(item);
        const body = item[attributes.body]?.S;
        if (body !== undefined) options.onRead?.(type, record, body);
        after = record.key;
        if (matcher.matches(record.object)) items.push(record.object);
      }
      const lastKey: AttributeValue | undefined = page.LastEvaluatedKey?.[attributes.sortKey];
      if (lastKey?.S === undefined) break;
      after = lastKey.S;
      page = await query(type, namespace, after, pageLimit);
    }
    if (more && after !== undefined) readNextAhead(type, namespace, after, pageLimit);
    return { items, resourceVersion, ...(more && after !== undefined ? { continue: encodeContinue({ rv: resourceVersion, after }) } : {}) };
  };
  return Object.assign(list, { snapshotStats });
}

/**
 * Revisions and commits on DynamoDB (docs/adr/004). A write is planned from fresh reads, then
 * committed in a group with the writes of the same type that are waiting in this process:
 *
 *   1. the group takes a range of revisions from the type's counter with one atomic `ADD`
 *      (outside any transaction: writers of one type, here or in other processes, never wait
 *      for each other's transactions), after its objects were read, so an object's revisions only
 *      grow;
 *   2. one TransactWriteItems puts each object (conditional on the revision it was read at, or
 *      on its absence) and its change entry (conditional on the revision still being free: a
 *      reader may have voided it, see dynamodb-change-log.ts).
 *
 * A group that fails gives its revisions back as a void entry, and its writes plan again (a
 * conflict) or answer (a name taken). Throttling and transaction conflicts are retried with
 * jittered back-off up to a bound, then become 429 / 503 (dynamodb-calls.ts).
 */
import { randomUUID } from 'node:crypto';
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  GetItemCommand,
  PutItemCommand,
  type PutItemCommandInput,
  QueryCommand,
  TransactionCanceledException,
  type TransactWriteItem,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { KubeObject } from '../../schemas/meta.ts';
import type { ResourceType } from '../../schemas/registry.ts';
import { AlreadyExistsError, ServiceUnavailableError } from '../core/errors.ts';
import { type DynamoDbCalls, exhausted, type FailureKind, OutcomeUnknownError } from './dynamodb-calls.ts';
import { type ChangeLog, changeEntryItem } from './dynamodb-change-log.ts';
import { type LogEntry, parseCounterItem, parseLogItem, parseObjectItem } from './object-items.ts';
import { checkWritableTogether, maxTransactionBytes, type PlannedWrite, parseStoredObject, refOf, withResourceVersion } from './object-lifecycle.ts';
import { attributes, type TableNames } from './tables.ts';

/** The call went unanswered: it may have been applied. */
function outcomeUnknown(error: unknown): boolean {
  return error instanceof OutcomeUnknownError || error instanceof ServiceUnavailableError;
}

/** What a write planned from fresh reads: the item writes, and how to answer once they are committed. */
export interface Plan<T> {
  readonly writes: readonly PlannedWrite[];
  /** Builds the operation's answer from the committed objects, one per write, stamped with revisions. */
  readonly result: (committed: readonly KubeObject[]) => T;
}

export interface CommitterOptions {
  readonly calls: DynamoDbCalls;
  readonly tables: TableNames;
  readonly log: ChangeLog;
  readonly now: () => Date;
  readonly retentionSeconds: number;
  /**
   * A group in flight longer than this (or three times the recent commit time, if more) no
   * longer holds back the next one. @default 200
   */
  readonly groupStallMs?: number;
  /** Test seam for fault tests: runs after a group took its revisions, before it commits. */
  readonly afterAllocate?: (type: ResourceType, from: number, through: number) => Promise<void>;
  /**
   * A single-object update committed on its own is written as two plain conditional puts, the
   * object and then its change entry, instead of one transaction (3 write units for a ≤ 1 KB
   * object instead of 5; docs/adr/005). Batches, creates and deletes keep the transaction.
   * @default false
   */
  readonly plainUpdates?: boolean;
  /**
   * Types (ids) whose writes claim their revisions at the change log's tail instead of taking them
   * from the counter (docs/adr/189): the next revisions after the log's last entry, the counter's
   * and any this process is claiming, held by the entries' own conditional puts. A single update
   * (with `plainUpdates`) is then the object put and its entry put, 2 write units for a ≤ 1 KB
   * object, no `ADD`; other writes are one transaction at the claimed revisions, as before.
   */
  readonly claimedTypes?: ReadonlySet<string>;
  /** Told of every committed write, with its revision and the object's JSON as stored. */
  readonly onCommitted?: (type: ResourceType, writes: readonly PlannedWrite[], revisions: readonly number[], bodies: readonly string[]) => void;
}

export interface Committer {
  /** Plans (`plan` reads afresh each attempt) and commits, again while writers elsewhere win races. */
  run<T>(type: ResourceType, plan: (attempt: number) => Promise<Plan<T>>): Promise<T>;
  /**
   * A reader voided `revision`: if an object holds it (a plain update whose writer died between
   * its two puts), commits that object again at a new revision, so watches see the change.
   */
  repairVoided(type: ResourceType, revision: number): Promise<void>;
  /**
   * Takes one revision from the type's counter and voids it at once: what a list of a type that
   * was never written does, so that it reports a revision above 0 from which a watch gets the
   * first create (kube-apiserver's lists always carry a real revision).
   */
  skipRevision(type: ResourceType): Promise<void>;
}

/** Attempts of one write before its last failure is answered (429); one that went unanswered is tried once more (then 503). */
const maxAttempts = 12;
const maxUnansweredAttempts = 2;
/**
 * Claims of one write lost to other writers before it is answered 429. Each lost claim is another
 * writer's progress, so the type's writes go on; a claim is tried again at once, after a short
 * random pause that grows with the losses.
 */
const maxReclaims = 64;
/** TransactWriteItems holds 100 items: an object and its change entry per write. */
const maxGroupWrites = 50;
/** Groups of one type in flight at once in a process, when the earlier ones stall. */
const maxGroupsInFlight = 8;

type Outcome =
  | { readonly kind: 'committed'; readonly objects: KubeObject[] }
  /** A create found its name taken: the write at this index. */
  | { readonly kind: 'exists'; readonly index: number }
  /** An object changed since it was read, or the revision was voided: plan again from fresh reads. */
  | { readonly kind: 'replan' }
  /** A claimed revision was taken by another writer first (docs/adr/189): claim again at once, past it. */
  | { readonly kind: 'reclaim' }
  /** Throttled, conflicting or unanswered: back off and plan again. */
  | { readonly kind: 'retry'; readonly failure: FailureKind; readonly cause: unknown }
  | { readonly kind: 'failed'; readonly error: unknown };

interface Waiting {
  readonly writes: readonly PlannedWrite[];
  readonly bytes: number;
  readonly resolve: (outcome: Outcome) => void;
}

interface TypeQueue {
  readonly waiting: Waiting[];
  /** Start times of the groups in flight. */
  readonly inFlight: Set<{ readonly startedAt: number }>;
  timer: NodeJS.Timeout | undefined;
  /** Recent commit time of a group (ms, moving average): what counts as a stall scales with it. */
  commitMs: number;
}

export function createCommitter(options: CommitterOptions): Committer {
  const { calls, tables, log, now } = options;
  const groupStallMs = options.groupStallMs ?? 200;
  const queues = new Map<string, TypeQueue>();

  const typeKey = (type: ResourceType): Record<string, AttributeValue> => ({ [attributes.partitionKey]: { S: type.id } });

  const claimed = (type: ResourceType): boolean => options.claimedTypes?.has(type.id) === true;

  /** A plain update of a claimed type: it claims its own revision, without waiting for a group. */
  function claims(type: ResourceType, writes: readonly PlannedWrite[]): PlannedWrite | undefined {
    if (!options.plainUpdates || !claimed(type) || writes.length !== 1) return undefined;
    const [single] = writes;
    return single && single.action === 'put' && typeof single.expect === 'number' ? single : undefined;
  }

  function enqueue(type: ResourceType, writes: readonly PlannedWrite[], bytes: number): Promise<Outcome> {
    const claimed = claims(type, writes);
    if (claimed) {
      return new Promise((resolve) => {
        const waiting: Waiting = { writes, bytes, resolve };
        commitPlain(type, waiting, claimed).catch((error: unknown) => resolve({ kind: 'failed', error }));
      });
    }
    let queue = queues.get(type.id);
    if (!queue) {
      queue = { waiting: [], inFlight: new Set(), timer: undefined, commitMs: 0 };
      queues.set(type.id, queue);
    }
    const typeQueue = queue;
    return new Promise((resolve) => {
      typeQueue.waiting.push({ writes, bytes, resolve });
      pump(type, typeQueue);
    });
  }

  /**
   * Starts a group when none is in flight, or when those in flight have stalled (a hung call
   * must not hold up the writers behind it); otherwise writes wait and join the next group.
   */
  function pump(type: ResourceType, queue: TypeQueue): void {
    const stallMs = groupStallMs === 0 ? 0 : Math.max(groupStallMs, 3 * queue.commitMs);
    for (;;) {
      if (queue.waiting.length === 0) return;
      const stalled = [...queue.inFlight].every((group) => Date.now() - group.startedAt >= stallMs);
      if (queue.inFlight.size > 0 && (!stalled || queue.inFlight.size >= maxGroupsInFlight)) break;
      const group = takeGroup(queue);
      const token = { startedAt: Date.now() };
      queue.inFlight.add(token);
      void commitGroup(type, group)
        // Whatever went wrong, every write of the group gets an answer (a second answer is ignored).
        .catch((error: unknown) => {
          for (const waiting of group) waiting.resolve({ kind: 'failed', error });
        })
        .finally(() => {
          queue.inFlight.delete(token);
          queue.commitMs = 0.8 * queue.commitMs + 0.2 * (Date.now() - token.startedAt);
          pump(type, queue);
        });
    }
    if (!queue.timer) {
      queue.timer = setTimeout(() => {
        queue.timer = undefined;
        pump(type, queue);
      }, stallMs);
      queue.timer.unref();
    }
  }

  /** The waiting writes that fit one transaction (items, bytes, each object once), oldest first. */
  function takeGroup(queue: TypeQueue): Waiting[] {
    const group: Waiting[] = [];
    const keys = new Set<string>();
    let writes = 0;
    let bytes = 0;
    for (let index = 0; index < queue.waiting.length; ) {
      const candidate = queue.waiting[index];
      if (!candidate) break;
      const fits =
        group.length === 0 ||
        (writes + candidate.writes.length <= maxGroupWrites &&
          bytes + candidate.bytes <= maxTransactionBytes - 64 * 1024 &&
          candidate.writes.every((write) => !keys.has(write.key)));
      if (!fits) {
        index++;
        if (writes >= maxGroupWrites) break;
        continue;
      }
      queue.waiting.splice(index, 1);
      group.push(candidate);
      writes += candidate.writes.length;
      bytes += candidate.bytes;
      for (const write of candidate.writes) keys.add(write.key);
    }
    return group;
  }

  /**
   * The highest revision the type's log accounts for: its last entry (a change, or the end of a
   * void range), and — when that entry may already be compacted (past its retention) or there is
   * none — the counter's handed-out revisions and compaction point (compaction deletes entries
   * only below that point, so an entry still well within its retention is above it). One
   * consistent read of the log's last entry; a second, of the counter, only for a type idle about
   * as long as its retention.
   */
  async function logTail(type: ResourceType): Promise<number> {
    const entry = await log.endEntry(type, 'newest');
    // A minute's margin for the clocks of the processes that compact.
    if (entry && entry.retainedUntil > Math.floor(now().getTime() / 1000) + 60) return entry.through;
    const counter = await calls.run(
      'GetItem',
      (abortSignal) =>
        calls.client.send(
          new GetItemCommand({ TableName: tables.changes, Key: { ...typeKey(type), [attributes.sortKey]: { N: '0' } }, ConsistentRead: true }),
          { abortSignal },
        ),
      { idempotent: true },
    );
    const state = parseCounterItem(counter.Item);
    return Math.max(state.allocated, state.compacted, entry?.through ?? 0);
  }

  /** The highest revision this process claimed or is claiming, per claimed type. */
  const claimTails = new Map<string, number>();

  /**
   * Revisions for `count` writes, the last one answered: a range from the counter, or for a
   * claimed type the next ones after the log's tail, after any this process is claiming and after
   * `floor` (the highest revision the writes' objects hold, so an object's revisions only grow).
   * A claim never leaves a gap that nobody fills: every revision below it has its entry, was handed
   * out by the counter, or is being claimed by a writer that commits or voids it (or, if that
   * writer died, a reader voids it after the gap bound, as any revision handed out).
   */
  async function reserve(type: ResourceType, count: number, floor: number): Promise<number> {
    if (!claimed(type)) return allocate(type, count);
    const tail = await logTail(type);
    const high = Math.max(tail, claimTails.get(type.id) ?? 0, floor) + count;
    claimTails.set(type.id, Math.max(claimTails.get(type.id) ?? 0, high));
    return high;
  }

  async function allocate(type: ResourceType, count: number): Promise<number> {
    const output = await calls.run(
      'UpdateItem',
      (abortSignal) =>
        calls.client.send(
          new UpdateItemCommand({
            TableName: tables.changes,
            Key: { ...typeKey(type), [attributes.sortKey]: { N: '0' } },
            // A new counter starts with its compaction point at 0 (one without is from before this design).
            UpdateExpression: 'ADD #revision :count SET #compacted = if_not_exists(#compacted, :zero)',
            ExpressionAttributeNames: { '#revision': attributes.counter, '#compacted': attributes.compacted },
            ExpressionAttributeValues: { ':count': { N: String(count) }, ':zero': { N: '0' } },
            ReturnValues: 'UPDATED_NEW',
          }),
          { abortSignal },
        ),
      // Not idempotent: sent twice it hands out two ranges (the lost one is voided by readers).
      { idempotent: false },
    );
    const high = Number(output.Attributes?.[attributes.counter]?.N);
    if (!Number.isSafeInteger(high) || high < count) throw new Error(`the revision counter of ${type.id} answered ${String(high)}`);
    return high;
  }

  function transactItems(
    type: ResourceType,
    from: number,
    writes: readonly PlannedWrite[],
  ): { items: TransactWriteItem[]; entries: LogEntry[]; objects: KubeObject[]; bodies: string[] } {
    const retainedUntil = Math.floor(now().getTime() / 1000) + options.retentionSeconds;
    const items: TransactWriteItem[] = [];
    const entries: LogEntry[] = [];
    const objects: KubeObject[] = [];
    const bodies: string[] = [];
    writes.forEach((write, index) => {
      const revision = from + index;
      const object = withResourceVersion(write.object, revision);
      const body = JSON.stringify(object);
      objects.push(object);
      bodies.push(body);
      entries.push({
        revision,
        through: revision,
        retainedUntil,
        // Watches get their own copy, as they would reading the table: the caller may change `object`.
        change: {
          typeId: type.id,
          revision,
          type: write.event,
          object: parseStoredObject(body),
          ...(write.prior ? { prior: write.prior } : {}),
          retainedUntil,
        },
      });
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
          Item: changeEntryItem(type, revision, write.event, body, write.prior, retainedUntil),
          ConditionExpression: 'attribute_not_exists(#sk)',
          ExpressionAttributeNames: { '#sk': attributes.sortKey },
        },
      });
    });
    return { items, entries, objects, bodies };
  }

  async function commitGroup(type: ResourceType, group: readonly Waiting[]): Promise<void> {
    const writes = group.flatMap((waiting) => waiting.writes);
    const [single] = writes;
    const [waiting] = group;
    if (options.plainUpdates && writes.length === 1 && single && waiting && single.action === 'put' && typeof single.expect === 'number') {
      await commitPlain(type, waiting, single);
      return;
    }
    let high: number;
    try {
      high = await reserve(type, writes.length, Math.max(0, ...writes.map((write) => (typeof write.expect === 'number' ? write.expect : 0))));
    } catch (error) {
      for (const waiting of group) waiting.resolve(failure(error));
      return;
    }
    const from = high - writes.length + 1;
    log.allocated(type, from, high);
    try {
      await options.afterAllocate?.(type, from, high);
    } catch (error) {
      await log.voidOwn(type, from, high).catch(() => undefined);
      for (const waiting of group) waiting.resolve({ kind: 'failed', error });
      return;
    }
    const { items, entries, objects, bodies } = transactItems(type, from, writes);
    const clientRequestToken = randomUUID();
    try {
      await calls.run(
        'TransactWriteItems',
        (abortSignal) => calls.client.send(new TransactWriteItemsCommand({ TransactItems: items, ClientRequestToken: clientRequestToken }), { abortSignal }),
        // The client request token makes a resend idempotent: DynamoDB answers it without writing twice.
        { idempotent: true },
      );
    } catch (error) {
      let committed = false;
      if (outcomeUnknown(error)) committed = await committedAfterAll(type, from, entries[0]);
      if (committed) {
        resolveCommitted(type, group, entries, objects, bodies);
        return;
      }
      // Nothing was written: the range goes back before anyone answers, so readers wait no longer than a round trip.
      await (claimed(type) ? giveBack(type, from, high, error) : log.voidOwn(type, from, high)).catch(() => undefined);
      resolveFailed(type, group, error);
      return;
    }
    resolveCommitted(type, group, entries, objects, bodies);
  }

  /**
   * A claimed range whose transaction wrote nothing. Revisions other writers took stay theirs; free
   * ones below the log's tail are gaps now and go void; free ones past it go back unclaimed when
   * this process has no later claim of the type, so its next claim takes them up and no revision
   * is skipped (docs/adr/189). With a later claim in flight they go void, as that claim is above them.
   */
  async function giveBack(type: ResourceType, from: number, high: number, error: unknown): Promise<void> {
    const taken = new Set<number>();
    if (error instanceof TransactionCanceledException) {
      (error.CancellationReasons ?? []).forEach((reason, index) => {
        if (index % 2 === 1 && reason.Code === 'ConditionalCheckFailed') taken.add(from + (index - 1) / 2);
      });
    }
    // Unread, the tail counts as past the range: every free revision goes void, as before claims.
    const tail = await logTail(type).catch(() => high);
    if (claimTails.get(type.id) !== high) {
      await log.giveBack(type, from, high, high, taken);
      return;
    }
    claimTails.set(type.id, Math.min(high, Math.max(tail, from - 1)));
    await log.giveBack(type, from, high, tail, taken);
  }

  /**
   * One update as two plain puts (docs/adr/005): the object, conditional on the revision it was
   * read at, then its change entry, conditional on the revision still being free. Until the
   * entry is written the revision is a gap that holds lists and watches back, as a transaction in
   * flight does. If a reader voided it meanwhile (this writer stalled past the gap bound), the
   * object already holds a revision no watch will send: it is committed again at a new one. If
   * this writer dies between the puts, the reader that voids the revision does that
   * (`repairVoided`).
   */
  async function commitPlain(type: ResourceType, waiting: Waiting, write: PlannedWrite): Promise<void> {
    let revision: number;
    try {
      revision = await reserve(type, 1, typeof write.expect === 'number' ? write.expect : 0);
    } catch (error) {
      waiting.resolve(failure(error));
      return;
    }
    log.allocated(type, revision, revision);
    try {
      await options.afterAllocate?.(type, revision, revision);
    } catch (error) {
      await log.voidOwn(type, revision, revision).catch(() => undefined);
      waiting.resolve({ kind: 'failed', error });
      return;
    }
    const { items, entries, objects, bodies } = transactItems(type, revision, [write]);
    const objectPut = items[0]?.Put as PutItemCommandInput | undefined;
    const entryPut = items[1]?.Put as PutItemCommandInput | undefined;
    const entry = entries[0];
    if (!objectPut || !entryPut || !entry) throw new Error('a plain update without its two items');
    try {
      // Not idempotent: a resend of a put that landed fails its condition; the outcome is looked up instead.
      await calls.run('PutItem', (abortSignal) => calls.client.send(new PutItemCommand(objectPut), { abortSignal }), { idempotent: false });
    } catch (error) {
      const landed = outcomeUnknown(error) && (await objectRevision(type, write.key).catch(() => undefined)) === revision;
      if (!landed) {
        await log.voidOwn(type, revision, revision).catch(() => undefined);
        if (error instanceof ConditionalCheckFailedException) waiting.resolve({ kind: 'replan' });
        else {
          // An unanswered put could still land after its revision went void: the repair catches that.
          if (outcomeUnknown(error)) void repairVoided(type, revision).catch(() => undefined);
          waiting.resolve(failure(error));
        }
        return;
      }
    }
    const written = await putEntry(type, entryPut, entry);
    if (written === 'ours') {
      resolveCommitted(type, [waiting], entries, objects, bodies);
      return;
    }
    // The object holds `revision`, which is void (a reader gave up on this writer) or could not be
    // recorded: give it back if still free, and commit the object again at a new revision.
    if (written === 'unwritten') await log.voidOwn(type, revision, revision).catch(() => undefined);
    // A claimed revision another writer's entry took: nothing to give back.
    else if (claimed(type)) log.committed(type, revision, []);
    else log.voidOwn(type, revision, revision).catch(() => undefined);
    try {
      const again = await recommit(type, write.key, revision, write.prior);
      waiting.resolve({ kind: 'committed', objects: [again ?? (objects[0] as KubeObject)] });
    } catch (error) {
      // The object holds the write; the revision is void, and readers that void it repair it.
      waiting.resolve({ kind: 'committed', objects: objects as KubeObject[] });
      void error;
    }
  }

  /** Writes a plain update's change entry: 'ours' once it is there, 'void' if a reader voided the revision first, 'unwritten' if it could not be written. */
  async function putEntry(type: ResourceType, entryPut: PutItemCommandInput, expected: LogEntry): Promise<'ours' | 'void' | 'unwritten'> {
    try {
      // Idempotent: sent again after it landed, it fails its condition and the entry is read below.
      await calls.run('PutItem', (abortSignal) => calls.client.send(new PutItemCommand(entryPut), { abortSignal }), { idempotent: true });
      return 'ours';
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException) && !outcomeUnknown(error)) return 'unwritten';
      if (await committedAfterAll(type, expected.revision, expected)) return 'ours';
      return error instanceof ConditionalCheckFailedException ? 'void' : 'unwritten';
    }
  }

  /** The object's item as it is now, read consistently (undefined: absent). */
  async function storedObject(type: ResourceType, key: string): Promise<ReturnType<typeof parseObjectItem> | undefined> {
    const { Item } = await calls.run(
      'GetItem',
      (abortSignal) =>
        calls.client.send(
          new GetItemCommand({ TableName: tables.objects, Key: { ...typeKey(type), [attributes.sortKey]: { S: key } }, ConsistentRead: true }),
          { abortSignal },
        ),
      { idempotent: true },
    );
    return Item ? parseObjectItem(Item) : undefined;
  }

  /** The revision the object's item holds now (undefined: absent). */
  async function objectRevision(type: ResourceType, key: string): Promise<number | undefined> {
    return (await storedObject(type, key))?.revision;
  }

  /**
   * Commits the object at `key` again at a new revision if it still holds `revision` (one that
   * went void): the same object, a MODIFIED change. Answers the object as committed, or
   * undefined when it no longer holds that revision (someone wrote it since: their change is on
   * the log, and it carries this state's successor).
   */
  function recommit(type: ResourceType, key: string, revision: number, prior: PlannedWrite['prior']): Promise<KubeObject | undefined> {
    return run(type, async () => {
      const stored = await storedObject(type, key);
      if (!stored || stored.revision !== revision) return { writes: [], result: () => undefined };
      const write: PlannedWrite = { key, action: 'put', object: stored.object, expect: revision, event: 'MODIFIED', ...(prior ? { prior } : {}) };
      return { writes: [write], result: (committed) => committed[0] };
    });
  }

  /** Revisions voided by readers, waiting for a repair scan, per type; and the scan running. */
  const repairs = new Map<string, { readonly revisions: Set<number>; running: Promise<void> | undefined }>();

  /**
   * Queues a voided revision for repair. One scan of the type's partition at a time, each for up
   * to 100 revisions (`IN`): voids come in bursts when a writer dies, and each scan reads the
   * whole partition.
   */
  function repairVoided(type: ResourceType, revision: number): Promise<void> {
    if (!options.plainUpdates) return Promise.resolve();
    let repair = repairs.get(type.id);
    if (!repair) {
      repair = { revisions: new Set(), running: undefined };
      repairs.set(type.id, repair);
    }
    const queue = repair;
    queue.revisions.add(revision);
    queue.running ??= (async () => {
      try {
        while (queue.revisions.size > 0) {
          const batch = [...queue.revisions].slice(0, 100);
          for (const taken of batch) queue.revisions.delete(taken);
          await repairScan(type, batch);
        }
      } finally {
        queue.running = undefined;
      }
    })();
    return queue.running;
  }

  /** Finds the objects that hold any of `revisions` (consistent, the whole partition) and commits each again at a new revision. */
  async function repairScan(type: ResourceType, revisions: readonly number[]): Promise<void> {
    const values = Object.fromEntries(revisions.map((revision, index) => [`:r${index}`, { N: String(revision) }]));
    let start: Record<string, AttributeValue> | undefined;
    do {
      const exclusiveStartKey = start;
      const output = await calls.run(
        'Query',
        (abortSignal) =>
          calls.client.send(
            new QueryCommand({
              TableName: tables.objects,
              KeyConditionExpression: '#pk = :pk',
              FilterExpression: `#rv IN (${Object.keys(values).join(', ')})`,
              ExpressionAttributeNames: { '#pk': attributes.partitionKey, '#sk': attributes.sortKey, '#rv': attributes.revision },
              ExpressionAttributeValues: { ':pk': { S: type.id }, ...values },
              ProjectionExpression: '#pk, #sk, #rv',
              ConsistentRead: true,
              ...(exclusiveStartKey ? { ExclusiveStartKey: exclusiveStartKey } : {}),
            }),
            { abortSignal },
          ),
        { idempotent: true },
      );
      for (const item of output.Items ?? []) {
        const key = item[attributes.sortKey]?.S;
        const revision = Number(item[attributes.revision]?.N);
        if (key !== undefined && Number.isSafeInteger(revision)) await recommit(type, key, revision, undefined);
      }
      start = output.LastEvaluatedKey;
    } while (start);
  }

  function resolveCommitted(
    type: ResourceType,
    group: readonly Waiting[],
    entries: readonly LogEntry[],
    objects: readonly KubeObject[],
    bodies: readonly string[],
  ): void {
    log.committed(type, entries[0]?.revision ?? 0, entries);
    options.onCommitted?.(
      type,
      group.flatMap((waiting) => waiting.writes),
      entries.map((entry) => entry.revision),
      bodies,
    );
    let next = 0;
    for (const waiting of group) {
      waiting.resolve({ kind: 'committed', objects: objects.slice(next, next + waiting.writes.length) });
      next += waiting.writes.length;
    }
  }

  /** Each write's part in a cancelled transaction: items 2i (object) and 2i + 1 (change entry). */
  function resolveFailed(_type: ResourceType, group: readonly Waiting[], error: unknown): void {
    if (!(error instanceof TransactionCanceledException)) {
      for (const waiting of group) waiting.resolve(failure(error));
      return;
    }
    const reasons = error.CancellationReasons ?? [];
    let next = 0;
    for (const waiting of group) {
      const first = next;
      next += waiting.writes.length;
      let outcome: Outcome | undefined;
      for (let index = 0; index < waiting.writes.length && !outcome; index++) {
        // A claimed revision taken first by another writer is no conflict of this write's.
        if (claimed(_type) && reasons[2 * (first + index) + 1]?.Code === 'ConditionalCheckFailed') {
          outcome = { kind: 'reclaim' };
          break;
        }
        const write = waiting.writes[index];
        const objectReason = reasons[2 * (first + index)]?.Code;
        const entryReason = reasons[2 * (first + index) + 1]?.Code;
        for (const code of [objectReason, entryReason]) {
          if (code === undefined || code === 'None') continue;
          if (code === 'ConditionalCheckFailed') {
            outcome = code === objectReason && write?.expect === 'absent' ? { kind: 'exists', index } : { kind: 'replan' };
          } else if (code === 'TransactionConflict') {
            outcome = { kind: 'retry', failure: 'conflict', cause: error };
          } else if (code === 'ThrottlingError' || code === 'ProvisionedThroughputExceeded') {
            outcome = { kind: 'retry', failure: 'throttled', cause: error };
          } else {
            outcome = { kind: 'failed', error };
          }
          break;
        }
      }
      // Not at fault: it only lost its revisions with the group.
      waiting.resolve(outcome ?? (claimed(_type) ? { kind: 'reclaim' } : { kind: 'replan' }));
    }
  }

  /** After a transaction went unanswered: its first change entry tells whether it was applied (it is all or nothing). */
  async function committedAfterAll(type: ResourceType, from: number, expected: LogEntry | undefined): Promise<boolean> {
    try {
      const { Item } = await calls.run(
        'GetItem',
        (abortSignal) =>
          calls.client.send(
            new GetItemCommand({ TableName: tables.changes, Key: { ...typeKey(type), [attributes.sortKey]: { N: String(from) } }, ConsistentRead: true }),
            { abortSignal },
          ),
        { idempotent: true },
      );
      if (!Item) return false;
      const entry = parseLogItem(Item);
      return entry.change !== undefined && JSON.stringify(entry.change.object) === JSON.stringify(expected?.change?.object);
    } catch {
      return false;
    }
  }

  function failure(error: unknown): Outcome {
    // Its revisions are void by now, so the write can go again safely.
    if (outcomeUnknown(error)) return { kind: 'retry', failure: 'unavailable', cause: error };
    return { kind: 'failed', error };
  }

  async function run<T>(type: ResourceType, plan: (attempt: number) => Promise<Plan<T>>): Promise<T> {
    let last: { failure: FailureKind; cause: unknown } = { failure: 'conflict', cause: undefined };
    let unanswered = 0;
    let reclaims = 0;
    for (let attempt = 0; attempt < maxAttempts && unanswered < maxUnansweredAttempts && reclaims <= maxReclaims; attempt++) {
      const planned = await plan(attempt);
      if (planned.writes.length === 0) return planned.result([]);
      const bytes = checkWritableTogether(type, planned.writes);
      const outcome = await enqueue(type, planned.writes, bytes);
      switch (outcome.kind) {
        case 'committed':
          return planned.result(outcome.objects);
        case 'exists':
          throw new AlreadyExistsError(refOf(type, planned.writes[outcome.index]?.object.metadata.name ?? ''));
        case 'failed':
          throw outcome.error;
        case 'reclaim':
          reclaims++;
          last = { failure: 'conflict', cause: undefined };
          attempt--;
          await new Promise((done) => setTimeout(done, Math.random() * 2 * Math.min(reclaims, 10)));
          break;
        case 'replan':
          last = { failure: 'conflict', cause: undefined };
          if (attempt > 0) await calls.backOff(attempt - 1);
          break;
        case 'retry':
          last = { failure: outcome.failure, cause: outcome.cause };
          if (outcome.failure === 'unavailable') unanswered++;
          await calls.backOff(attempt);
          break;
      }
    }
    throw exhausted(last.failure, `writing ${type.plural}`, last.cause);
  }

  async function skipRevision(type: ResourceType): Promise<void> {
    const revision = await reserve(type, 1, 0);
    log.allocated(type, revision, revision);
    await log.voidOwn(type, revision, revision);
  }

  return { run, repairVoided, skipRevision };
}

/**
 * Reads the objects table's DynamoDB Stream the way Lambda's event source mapping does and
 * hands each batch, in Lambda's exact `DynamoDBStreamEvent` shape, to the same handlers the
 * Lambdas run. It follows shards from parent to child, starts at LATEST (the caller resyncs
 * what came before), re-acquires iterators that expire or point at trimmed data, and
 * re-delivers the records a handler reports as failed, with back-off, a bounded number of times.
 */
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  type _Record,
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  type GetRecordsCommandOutput,
  GetShardIteratorCommand,
  type AttributeValue as SdkAttributeValue,
  type Shard,
  type ShardIteratorType,
} from '@aws-sdk/client-dynamodb-streams';
import type { AttributeValue, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { type Log, silentLog } from '../logging/log.ts';

export type StreamConsumer = (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse | undefined>;

export interface StreamPollerOptions {
  readonly dynamoDb: DynamoDBClient;
  readonly streams: DynamoDBStreamsClient;
  readonly tableName: string;
  /** Each gets every batch, like separate event source mappings on one stream. */
  readonly consumers: readonly StreamConsumer[];
  /** Wait between empty reads of a quiet stream. @default 200 */
  readonly pollIntervalMs?: number;
  /**
   * Wait between empty reads for `busyWindowMs` after the last read that found records: the
   * records of a burst's next hop (a pod created, then bound, then Running) follow within
   * this, not a quiet poll interval later. @default 20
   */
  readonly busyPollIntervalMs?: number;
  /** @default 2000 */
  readonly busyWindowMs?: number;
  /** Records per GetRecords. @default 100 */
  readonly batchSize?: number;
  /** Deliveries of a failed record before it is dropped (the resync repairs it). @default 5 */
  readonly maxAttempts?: number;
  /** How often to look for new shards while none closed. @default 5000 */
  readonly describeIntervalMs?: number;
  readonly log?: Log;
}

export interface StreamPoller {
  stop(): Promise<void>;
}

interface ShardState {
  iterator?: string;
  lastSequence?: string;
  finished: boolean;
}

const awsRegion = 'us-east-1';

export async function startStreamPoller(options: StreamPollerOptions): Promise<StreamPoller> {
  const log = options.log ?? silentLog;
  const pollIntervalMs = options.pollIntervalMs ?? 200;
  const busyPollIntervalMs = Math.min(options.busyPollIntervalMs ?? 50, pollIntervalMs);
  const busyWindowMs = options.busyWindowMs ?? 2000;
  const describeIntervalMs = options.describeIntervalMs ?? 5000;
  const stopping = new AbortController();
  const shards = new Map<string, ShardState>();
  let streamArn = await latestStreamArn(options.dynamoDb, options.tableName);

  // Shards closed before we started are history the resync covers; open ones start now.
  for (const shard of await describeShards(options.streams, streamArn)) {
    const id = shard.ShardId ?? '';
    if (shard.SequenceNumberRange?.EndingSequenceNumber) shards.set(id, { finished: true });
    else shards.set(id, { iterator: await shardIterator(options.streams, streamArn, id, 'LATEST'), finished: false });
  }
  let lastDescribe = Date.now();

  const discover = async () => {
    lastDescribe = Date.now();
    for (const shard of await describeShards(options.streams, streamArn)) {
      const id = shard.ShardId ?? '';
      if (shards.has(id)) continue;
      const parent = shard.ParentShardId ? shards.get(shard.ParentShardId) : undefined;
      // A child is read from its start once its parent is done, so records stay in order.
      if (parent && !parent.finished) continue;
      shards.set(id, { iterator: await shardIterator(options.streams, streamArn, id, 'TRIM_HORIZON'), finished: false });
      log.info('following new stream shard', { shardId: id, parentShardId: shard.ParentShardId });
    }
  };

  const readShard = async (id: string, state: ShardState): Promise<number> => {
    if (!state.iterator) return 0;
    let result: GetRecordsCommandOutput;
    try {
      result = await options.streams.send(new GetRecordsCommand({ ShardIterator: state.iterator, Limit: options.batchSize ?? 100 }), {
        abortSignal: stopping.signal,
      });
    } catch (error) {
      const name = (error as { name?: string }).name;
      if (name === 'ExpiredIteratorException') {
        state.iterator = await shardIterator(options.streams, streamArn, id, state.lastSequence ? 'AFTER_SEQUENCE_NUMBER' : 'LATEST', state.lastSequence);
        return 0;
      }
      if (name === 'TrimmedDataAccessException') {
        state.iterator = await shardIterator(options.streams, streamArn, id, 'TRIM_HORIZON');
        return 0;
      }
      if (name === 'ResourceNotFoundException') {
        // The table (and so its stream) was recreated: start over on the new stream.
        streamArn = await latestStreamArn(options.dynamoDb, options.tableName);
        shards.clear();
        for (const shard of await describeShards(options.streams, streamArn)) {
          const shardId = shard.ShardId ?? '';
          const open = !shard.SequenceNumberRange?.EndingSequenceNumber;
          shards.set(
            shardId,
            open ? { iterator: await shardIterator(options.streams, streamArn, shardId, 'TRIM_HORIZON'), finished: false } : { finished: true },
          );
        }
        return 0;
      }
      throw error;
    }
    const records = (result.Records ?? []).map((record) => toLambdaRecord(record, streamArn));
    if (records.length > 0) {
      await deliver(records);
      state.lastSequence = records[records.length - 1]?.dynamodb?.SequenceNumber ?? state.lastSequence;
    }
    if (result.NextShardIterator) state.iterator = result.NextShardIterator;
    else {
      state.iterator = undefined;
      state.finished = true;
    }
    return records.length;
  };

  /**
   * Each consumer works through its own queue of records, like separate event source mappings:
   * one handler retrying a batch never holds up the others. A consumer that is free takes what
   * waits for it, up to a batch, as a mapping does after a slow invocation (the next batch holds
   * the records that came meanwhile, up to its size), rather than one small batch per read: a
   * controller's work is per batch (each key once), so a busy consumer does less, not more. The
   * poller waits only while a consumer has far more waiting than a batch; then until that one
   * has taken a batch, not until it has done them all (a mapping's reads do not wait for another
   * mapping's invocations; docs/adr/195).
   */
  const batchSize = options.batchSize ?? 100;
  const maxWaitingRecords = 100 * batchSize;
  const queues = options.consumers.map((consume) => ({
    consume,
    waiting: [] as DynamoDBRecord[],
    running: undefined as Promise<void> | undefined,
    /** Told each time the consumer takes a batch. */
    took: new Set<() => void>(),
  }));
  type ConsumerQueue = (typeof queues)[number];

  const deliverTo = async (consume: StreamConsumer, records: DynamoDBRecord[]) => {
    let batch = records;
    for (let attempt = 1; batch.length > 0; attempt++) {
      try {
        batch = remainderAfterResponse(batch, await consume({ Records: batch }));
      } catch (error) {
        log.warn('stream handler failed; retrying the batch', { error: String(error), attempt });
      }
      if (batch.length === 0) return;
      if (attempt >= (options.maxAttempts ?? 5) || stopping.signal.aborted) {
        log.error('stream records dropped after retries; the next resync repairs them', { count: batch.length });
        return;
      }
      await sleep(Math.min(5000, 100 * 2 ** attempt), stopping.signal);
    }
  };

  const work = (queue: ConsumerQueue): void => {
    if (queue.running || queue.waiting.length === 0) return;
    queue.running = (async () => {
      while (queue.waiting.length > 0) {
        const batch = queue.waiting.splice(0, batchSize);
        for (const tell of queue.took) tell();
        queue.took.clear();
        await deliverTo(queue.consume, batch);
      }
    })().finally(() => {
      queue.running = undefined;
      // Records that came while it was finishing.
      work(queue);
    });
  };

  const deliver = async (records: DynamoDBRecord[]) => {
    for (const queue of queues) {
      queue.waiting.push(...records);
      work(queue);
    }
    for (const queue of queues) {
      while (queue.waiting.length > maxWaitingRecords && !stopping.signal.aborted) await new Promise<void>((tell) => queue.took.add(tell));
    }
  };

  /** Until every consumer has done what waits for it. */
  const drained = async () => {
    for (const queue of queues) while (queue.running) await queue.running;
  };

  const loop = (async () => {
    // A fixed 200 ms between empty reads made every stream hop of a burst wait ~100 ms on
    // average for nothing; a quiet stream still costs 5 reads a second (docs/adr/191).
    let lastRecordsAt = Number.NEGATIVE_INFINITY;
    while (!stopping.signal.aborted) {
      let read = 0;
      let closed = false;
      try {
        for (const [id, state] of [...shards.entries()]) {
          if (state.finished || stopping.signal.aborted) continue;
          read += await readShard(id, state);
          if (state.finished) closed = true;
        }
        if (closed || Date.now() - lastDescribe > describeIntervalMs) await discover();
      } catch (error) {
        if (stopping.signal.aborted) break;
        log.warn('stream poll failed', { error: String(error) });
      }
      if (read > 0) lastRecordsAt = Date.now();
      else await sleep(Date.now() - lastRecordsAt < busyWindowMs ? busyPollIntervalMs : pollIntervalMs, stopping.signal);
    }
  })();

  return {
    async stop() {
      stopping.abort();
      await loop;
      await drained();
    },
  };
}

/**
 * What Lambda's event source mapping delivers again after a handler's response
 * (ReportBatchItemFailures): nothing for an empty or absent list; otherwise every record from
 * the lowest reported `dynamodb.SequenceNumber` to the end of the batch, in order; the whole
 * batch when an identifier is empty or names no record of the batch.
 */
export function remainderAfterResponse(batch: readonly DynamoDBRecord[], response: DynamoDBBatchResponse | undefined | null): DynamoDBRecord[] {
  const failures = response?.batchItemFailures ?? [];
  if (failures.length === 0) return [];
  const positions = new Map(batch.map((record, index) => [record.dynamodb?.SequenceNumber, index]));
  let checkpoint: { sequence: bigint; index: number } | undefined;
  for (const failure of failures) {
    const index = failure.itemIdentifier ? positions.get(failure.itemIdentifier) : undefined;
    if (index === undefined) return [...batch];
    // Sequence numbers are decimal strings of varying length: compare them as numbers.
    const sequence = BigInt(failure.itemIdentifier);
    if (!checkpoint || sequence < checkpoint.sequence) checkpoint = { sequence, index };
  }
  return checkpoint ? batch.slice(checkpoint.index) : [];
}

async function latestStreamArn(client: DynamoDBClient, tableName: string): Promise<string> {
  const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
  const arn = Table?.LatestStreamArn;
  if (!arn) throw new Error(`table ${tableName} has no stream`);
  return arn;
}

async function describeShards(client: DynamoDBStreamsClient, streamArn: string): Promise<Shard[]> {
  const shards: Shard[] = [];
  let start: string | undefined;
  do {
    const { StreamDescription } = await client.send(new DescribeStreamCommand({ StreamArn: streamArn, ...(start ? { ExclusiveStartShardId: start } : {}) }));
    shards.push(...(StreamDescription?.Shards ?? []));
    start = StreamDescription?.LastEvaluatedShardId;
  } while (start);
  return shards;
}

async function shardIterator(
  client: DynamoDBStreamsClient,
  streamArn: string,
  shardId: string,
  type: ShardIteratorType,
  sequenceNumber?: string,
): Promise<string | undefined> {
  const { ShardIterator } = await client.send(
    new GetShardIteratorCommand({
      StreamArn: streamArn,
      ShardId: shardId,
      ShardIteratorType: type,
      ...(sequenceNumber ? { SequenceNumber: sequenceNumber } : {}),
    }),
  );
  return ShardIterator;
}

/** The record as Lambda delivers it: epoch seconds, binary values base64-encoded. */
export function toLambdaRecord(record: _Record, streamArn: string): DynamoDBRecord {
  const data = record.dynamodb ?? {};
  const image = (value: Record<string, SdkAttributeValue> | undefined) =>
    value ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toLambdaValue(v)])) : undefined;
  const keys = image(data.Keys);
  const newImage = image(data.NewImage);
  const oldImage = image(data.OldImage);
  return {
    eventID: record.eventID,
    eventName: record.eventName,
    eventVersion: record.eventVersion ?? '1.1',
    eventSource: record.eventSource ?? 'aws:dynamodb',
    awsRegion: record.awsRegion ?? awsRegion,
    dynamodb: {
      ...(data.ApproximateCreationDateTime ? { ApproximateCreationDateTime: Math.floor(data.ApproximateCreationDateTime.getTime() / 1000) } : {}),
      ...(keys ? { Keys: keys } : {}),
      ...(newImage ? { NewImage: newImage } : {}),
      ...(oldImage ? { OldImage: oldImage } : {}),
      ...(data.SequenceNumber ? { SequenceNumber: data.SequenceNumber } : {}),
      ...(data.SizeBytes !== undefined ? { SizeBytes: data.SizeBytes } : {}),
      ...(data.StreamViewType ? { StreamViewType: data.StreamViewType } : {}),
    },
    eventSourceARN: streamArn,
  };
}

function toLambdaValue(value: SdkAttributeValue): AttributeValue {
  if (value.S !== undefined) return { S: value.S };
  if (value.N !== undefined) return { N: value.N };
  if (value.B !== undefined) return { B: Buffer.from(value.B).toString('base64') };
  if (value.BOOL !== undefined) return { BOOL: value.BOOL };
  if (value.NULL !== undefined) return { NULL: value.NULL };
  if (value.SS !== undefined) return { SS: value.SS };
  if (value.NS !== undefined) return { NS: value.NS };
  if (value.BS !== undefined) return { BS: value.BS.map((b) => Buffer.from(b).toString('base64')) };
  if (value.L !== undefined) return { L: value.L.map(toLambdaValue) };
  if (value.M !== undefined) return { M: Object.fromEntries(Object.entries(value.M).map(([k, v]) => [k, toLambdaValue(v)])) };
  return { NULL: true };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

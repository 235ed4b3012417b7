/**
 * Counts what a scenario would be billed for. DynamoDB: every call the store and the
 * controllers make goes through an SDK middleware that asks for `ReturnConsumedCapacity`
 * and adds up the read and write units DynamoDB reports (DynamoDB Local reports them too).
 * One exception, measured: DynamoDB Local reports a TransactWriteItems as 4 write units per
 * table per kilobyte of its largest item, whatever the number of items (one item: 4; 25 items
 * of one table: 4), where AWS bills 2 per kilobyte of each item. Transactions are therefore
 * counted by AWS's rule from their items' sizes; DynamoDB Local's own figure is kept beside it
 * (`reportedWriteUnits`).
 * Lambda and API Gateway: the bench wraps the API handler, the stream consumers, the watch
 * channel's handler and its fan-out, the node heartbeat endpoint's handler, counting invocations and their wall-clock duration as
 * Lambda would bill them, and every WebSocket message in either direction in API Gateway's
 * 32 KB billing units.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** Commands whose input takes `ReturnConsumedCapacity`; reads and writes are billed differently. */
const readCommands = new Set(['GetItemCommand', 'QueryCommand', 'ScanCommand', 'BatchGetItemCommand', 'TransactGetItemsCommand']);
const writeCommands = new Set(['PutItemCommand', 'UpdateItemCommand', 'DeleteItemCommand', 'BatchWriteItemCommand', 'TransactWriteItemsCommand']);

export interface CallRecord {
  readonly command: string;
  /** The table called (for a transaction, the first item's), and the partition key (the store's type id) where the input names one. */
  readonly table?: string;
  readonly partition?: string;
  readonly ms: number;
  readonly readUnits: number;
  /** As AWS bills them (for transactions: computed from the items, see above). */
  readonly writeUnits: number;
  /** As DynamoDB Local reported them. */
  readonly reportedWriteUnits: number;
}

export interface DynamoDbUsage {
  readonly calls: number;
  readonly readUnits: number;
  readonly writeUnits: number;
}

export interface InvocationUsage {
  readonly invocations: number;
  readonly seconds: number;
}

/** Everything a scenario used, in billed units. */
export interface Usage {
  readonly dynamoDb: DynamoDbUsage;
  /** API server Lambda behind API Gateway: one invocation per request. */
  readonly api: InvocationUsage;
  /** Controller-manager and scheduler Lambdas: one invocation per stream batch each. */
  readonly streamConsumers: InvocationUsage;
  /** The scheduled resync Lambda. */
  readonly resync: InvocationUsage;
  /** The watch channel's Lambda: one invocation per $connect, $disconnect and routed message. */
  readonly channel: InvocationUsage;
  /** The fan-out Lambda: one invocation per change-log stream batch. */
  readonly fanOut: InvocationUsage;
  /** The node heartbeat Lambda behind its function URL (docs/adr/196): one invocation per request, no API Gateway. */
  readonly heartbeat: InvocationUsage;
  /** WebSocket messages, sent and received, in 32 KB billing units. */
  readonly webSocketMessages: number;
  /** STS GetCallerIdentity calls made to verify sign-in tokens. */
  readonly stsCalls: number;
}

export const emptyUsage: Usage = {
  dynamoDb: { calls: 0, readUnits: 0, writeUnits: 0 },
  api: { invocations: 0, seconds: 0 },
  streamConsumers: { invocations: 0, seconds: 0 },
  resync: { invocations: 0, seconds: 0 },
  channel: { invocations: 0, seconds: 0 },
  fanOut: { invocations: 0, seconds: 0 },
  heartbeat: { invocations: 0, seconds: 0 },
  webSocketMessages: 0,
  stsCalls: 0,
};

/** API Gateway bills WebSocket messages in 32 KB increments. */
export const webSocketBillingUnitBytes = 32 * 1024;

/** The billed messages one message of this many bytes counts as. */
export function billedMessages(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / webSocketBillingUnitBytes));
}

/** `after` minus `before`: what happened between two readings of a meter. */
export function usageBetween(before: Usage, after: Usage): Usage {
  const minus = (a: InvocationUsage, b: InvocationUsage): InvocationUsage => ({ invocations: a.invocations - b.invocations, seconds: a.seconds - b.seconds });
  return {
    dynamoDb: {
      calls: after.dynamoDb.calls - before.dynamoDb.calls,
      readUnits: after.dynamoDb.readUnits - before.dynamoDb.readUnits,
      writeUnits: after.dynamoDb.writeUnits - before.dynamoDb.writeUnits,
    },
    api: minus(after.api, before.api),
    streamConsumers: minus(after.streamConsumers, before.streamConsumers),
    resync: minus(after.resync, before.resync),
    channel: minus(after.channel, before.channel),
    fanOut: minus(after.fanOut, before.fanOut),
    heartbeat: minus(after.heartbeat, before.heartbeat),
    webSocketMessages: after.webSocketMessages - before.webSocketMessages,
    stsCalls: after.stsCalls - before.stsCalls,
  };
}

/** Bytes DynamoDB counts for an attribute value (its documented item size rules). */
function valueSize(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  const [kind, inner] = Object.entries(value)[0] ?? [];
  switch (kind) {
    case 'S':
      return Buffer.byteLength(String(inner), 'utf8');
    case 'N':
      return Math.ceil(String(inner).replace(/^-/, '').replace(/^0+/, '').replace('.', '').length / 2) + 1;
    case 'B':
      return inner instanceof Uint8Array ? inner.byteLength : Buffer.byteLength(String(inner), 'base64');
    case 'BOOL':
    case 'NULL':
      return 1;
    case 'SS':
    case 'NS':
    case 'BS':
      return (Array.isArray(inner) ? inner : []).reduce((sum: number, member: unknown) => sum + valueSize({ [kind.slice(0, 1)]: member }), 0);
    case 'L':
      return 3 + (Array.isArray(inner) ? inner : []).reduce((sum: number, member: unknown) => sum + 1 + valueSize(member), 0);
    case 'M':
      return 3 + itemSize(inner);
    default:
      return 0;
  }
}

function itemSize(item: unknown): number {
  if (item === null || typeof item !== 'object') return 0;
  return Object.entries(item).reduce((sum, [name, value]) => sum + Buffer.byteLength(name, 'utf8') + valueSize(value), 0);
}

/**
 * Write units AWS bills a TransactWriteItems: 2 per kilobyte (rounded up) of each item. A Put's
 * item is in the request; for a Delete, Update or ConditionCheck the stored item's size is not,
 * so they count as one kilobyte (an undercount for large deleted objects).
 */
export function transactionWriteUnits(input: unknown): number {
  const items = (input as { TransactItems?: readonly Record<string, { Item?: unknown } | undefined>[] } | undefined)?.TransactItems ?? [];
  let units = 0;
  for (const item of items) {
    const put = item.Put?.Item;
    units += 2 * Math.max(1, Math.ceil(itemSize(put) / 1024));
  }
  return units;
}

/** The table and partition key a call names: from its Key, Item, `:pk` value or first transaction item. */
export function callTarget(input: unknown): { table?: string; partition?: string } {
  const call = (input ?? {}) as Record<string, unknown>;
  const first = (call.TransactItems as readonly Record<string, Record<string, unknown> | undefined>[] | undefined)?.[0];
  const inner = first ? Object.values(first)[0] : undefined;
  const source = inner ?? call;
  const table = typeof source.TableName === 'string' ? source.TableName : undefined;
  const keyed = (source.Key ?? source.Item) as Record<string, { S?: string } | undefined> | undefined;
  const values = source.ExpressionAttributeValues as Record<string, { S?: string } | undefined> | undefined;
  const partition = keyed?.pk?.S ?? values?.[':pk']?.S;
  return { ...(table ? { table } : {}), ...(partition ? { partition } : {}) };
}

/** Calls and units per `table partition command`, largest first: where a measured window's units went. */
export function unitsByTarget(calls: readonly CallRecord[]): { target: string; calls: number; readUnits: number; writeUnits: number }[] {
  const totals = new Map<string, { target: string; calls: number; readUnits: number; writeUnits: number }>();
  for (const call of calls) {
    const table = call.table?.match(/(objects|changes|channel)$/)?.[1] ?? call.table ?? '?';
    const target = `${table} ${call.partition ?? '-'} ${call.command.replace(/Command$/, '')}`;
    const entry = totals.get(target) ?? { target, calls: 0, readUnits: 0, writeUnits: 0 };
    entry.calls += 1;
    entry.readUnits += call.readUnits;
    entry.writeUnits += call.writeUnits;
    totals.set(target, entry);
  }
  return [...totals.values()].sort((a, b) => b.readUnits + b.writeUnits - (a.readUnits + a.writeUnits));
}

/** Units DynamoDB reported in one response (a single object for item calls, an array for batches). */
export function consumedUnits(command: string, consumed: unknown): { readUnits: number; writeUnits: number } {
  const entries = Array.isArray(consumed) ? consumed : consumed ? [consumed] : [];
  let total = 0;
  let reads = 0;
  let writes = 0;
  for (const entry of entries as { CapacityUnits?: number; ReadCapacityUnits?: number; WriteCapacityUnits?: number }[]) {
    total += entry.CapacityUnits ?? 0;
    reads += entry.ReadCapacityUnits ?? 0;
    writes += entry.WriteCapacityUnits ?? 0;
  }
  if (reads + writes > 0) return { readUnits: reads, writeUnits: writes };
  if (writeCommands.has(command)) return { readUnits: 0, writeUnits: total };
  return { readUnits: total, writeUnits: 0 };
}

export interface Meter {
  usage(): Usage;
  /** The DynamoDB calls made from now until `stop` is called, for attributing them to one operation. */
  recordCalls(): { stop(): CallRecord[] };
  countApi(seconds: number): void;
  countStreamBatch(seconds: number): void;
  countResync(seconds: number): void;
  countChannel(seconds: number): void;
  countFanOutBatch(seconds: number): void;
  /** One request to the node heartbeat endpoint's function URL. */
  countHeartbeat(seconds: number): void;
  /** One WebSocket message of this many bytes, in either direction. */
  countWebSocketMessage(bytes: number): void;
  countStsCall(): void;
  countDynamoDbCall(call: CallRecord): void;
}

export function createMeter(): Meter {
  let usage: Usage = emptyUsage;
  const recorders = new Set<CallRecord[]>();
  const add = (part: 'api' | 'streamConsumers' | 'resync' | 'channel' | 'fanOut' | 'heartbeat', seconds: number): void => {
    usage = { ...usage, [part]: { invocations: usage[part].invocations + 1, seconds: usage[part].seconds + seconds } };
  };
  return {
    usage: () => usage,
    recordCalls() {
      const calls: CallRecord[] = [];
      recorders.add(calls);
      return {
        stop() {
          recorders.delete(calls);
          return calls;
        },
      };
    },
    countApi: (seconds) => add('api', seconds),
    countStreamBatch: (seconds) => add('streamConsumers', seconds),
    countResync: (seconds) => add('resync', seconds),
    countChannel: (seconds) => add('channel', seconds),
    countFanOutBatch: (seconds) => add('fanOut', seconds),
    countHeartbeat: (seconds) => add('heartbeat', seconds),
    countWebSocketMessage(bytes) {
      usage = { ...usage, webSocketMessages: usage.webSocketMessages + billedMessages(bytes) };
    },
    countStsCall() {
      usage = { ...usage, stsCalls: usage.stsCalls + 1 };
    },
    countDynamoDbCall(call) {
      usage = {
        ...usage,
        dynamoDb: {
          calls: usage.dynamoDb.calls + 1,
          readUnits: usage.dynamoDb.readUnits + call.readUnits,
          writeUnits: usage.dynamoDb.writeUnits + call.writeUnits,
        },
      };
      for (const calls of recorders) calls.push(call);
    },
  };
}

/** Adds the metering middleware to a DynamoDB client (the bench's own client, never one it was given by others). */
export function meterDynamoDb(client: DynamoDBClient, meter: Meter): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = context.commandName ?? 'unknown';
      const billed = readCommands.has(command) || writeCommands.has(command);
      const input = args.input as Record<string, unknown>;
      const started = performance.now();
      let consumed: unknown;
      try {
        const result = await next(billed ? { ...args, input: { ...input, ReturnConsumedCapacity: 'TOTAL' } } : args);
        consumed = (result.output as { ConsumedCapacity?: unknown }).ConsumedCapacity;
        return result;
      } finally {
        // A cancelled transaction reports no units: it is counted as a call with none (an undercount).
        const reported = consumedUnits(command, billed ? consumed : undefined);
        const writeUnits = command === 'TransactWriteItemsCommand' && consumed !== undefined ? transactionWriteUnits(input) : reported.writeUnits;
        meter.countDynamoDbCall({
          command,
          ...callTarget(input),
          ms: performance.now() - started,
          readUnits: reported.readUnits,
          writeUnits,
          reportedWriteUnits: reported.writeUnits,
        });
      }
    },
    { step: 'initialize', name: 'skiffBenchMeter' },
  );
}

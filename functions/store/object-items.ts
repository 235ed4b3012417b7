/**
 * How objects and change-log entries look as DynamoDB items, and their parsers (zod, never
 * casts): used by the store and by the stream consumers through `parseStreamRecord`.
 */
import { z } from 'zod';
import type { KubeObject } from '../../schemas/meta.ts';
import { parseStoredObject } from './object-lifecycle.ts';
import { type ChangeRecord, changeEventTypes } from './object-matcher.ts';
import { attributes } from './tables.ts';

const stringValue = z.object({ S: z.string() });
const numberValue = z.object({ N: z.string().regex(/^\d+$/) });

/** Labels and selectable fields of an object before a change: what watch filters need. */
const projectionSchema = z.object({
  labels: z.record(z.string(), z.string()),
  fields: z.record(z.string(), z.string()),
});

const objectItemSchema = z.object({
  [attributes.partitionKey]: stringValue,
  [attributes.sortKey]: stringValue,
  [attributes.body]: stringValue,
  [attributes.revision]: numberValue,
});

/** A change entry, or a void entry (`void` set, no event or body). */
const logItemSchema = z.object({
  [attributes.partitionKey]: stringValue,
  [attributes.sortKey]: numberValue,
  [attributes.eventType]: z.object({ S: z.enum(changeEventTypes) }).optional(),
  [attributes.body]: stringValue.optional(),
  [attributes.prior]: stringValue.optional(),
  [attributes.voidThrough]: numberValue.optional(),
  [attributes.retainedUntil]: numberValue.optional(),
  [attributes.expiresAt]: numberValue,
});

const counterItemSchema = z.object({ [attributes.counter]: numberValue.optional(), [attributes.compacted]: numberValue.optional() });

export interface ObjectRecord {
  readonly typeId: string;
  readonly key: string;
  readonly revision: number;
  readonly object: KubeObject;
}

export function parseObjectJson(json: string): KubeObject {
  return parseStoredObject(json);
}

export function parseObjectItem(item: unknown): ObjectRecord {
  const parsed = objectItemSchema.parse(item);
  return {
    typeId: parsed[attributes.partitionKey].S,
    key: parsed[attributes.sortKey].S,
    revision: Number(parsed[attributes.revision].N),
    object: parseObjectJson(parsed[attributes.body].S),
  };
}

/** One entry of the change log: a committed change, or revisions that were never used (void). */
export interface LogEntry {
  readonly revision: number;
  /** The last revision the entry accounts for: `revision` for a change, the end of a void range. */
  readonly through: number;
  /** The change; undefined for a void entry. */
  readonly change?: ChangeRecord;
  /** Epoch seconds after which the entry counts as compacted. */
  readonly retainedUntil: number;
}

export function parseLogItem(item: unknown): LogEntry {
  const parsed = logItemSchema.parse(item);
  const revision = Number(parsed[attributes.sortKey].N);
  // Entries written before `retainedUntil` existed were deleted by TTL at `expiresAt`.
  const retainedUntil = Number((parsed[attributes.retainedUntil] ?? parsed[attributes.expiresAt]).N);
  const voidThrough = parsed[attributes.voidThrough];
  if (voidThrough) return { revision, through: Math.max(revision, Number(voidThrough.N)), retainedUntil };
  const event = parsed[attributes.eventType];
  const body = parsed[attributes.body];
  if (!event || !body) throw new Error(`change-log entry ${revision} of ${parsed[attributes.partitionKey].S} has neither a change nor a void mark`);
  const prior = parsed[attributes.prior];
  const change: ChangeRecord = {
    typeId: parsed[attributes.partitionKey].S,
    revision,
    type: event.S,
    object: parseObjectJson(body.S),
    ...(prior ? { prior: projectionSchema.parse(JSON.parse(prior.S)) } : {}),
    retainedUntil,
  };
  return { revision, through: revision, change, retainedUntil };
}

/** The type's counter item (sort key 0): revisions handed out, and the log compacted up to. */
export interface CounterState {
  /** The highest revision handed out to a writer. */
  readonly allocated: number;
  /** Every revision up to here is compacted away: a watch from before it gets 410. */
  readonly compacted: number;
  /**
   * Written by the store before revisions were handed out by counter (docs/adr/001): it has no
   * compaction point, and entries below the oldest one left were deleted by TTL.
   */
  readonly legacy: boolean;
}

/** The counter item; zeros when the type has never been written. */
export function parseCounterItem(item: unknown): CounterState {
  if (item === undefined) return { allocated: 0, compacted: 0, legacy: false };
  const parsed = counterItemSchema.parse(item);
  const compacted = parsed[attributes.compacted];
  return { allocated: Number(parsed[attributes.counter]?.N ?? 0), compacted: Number(compacted?.N ?? 0), legacy: compacted === undefined };
}

export interface StreamChange {
  readonly typeId: string;
  readonly namespace?: string;
  readonly name: string;
  readonly oldObject?: KubeObject;
  readonly newObject?: KubeObject;
}

const streamKeysSchema = z.object({ [attributes.partitionKey]: stringValue, [attributes.sortKey]: stringValue });

/**
 * What `parseStreamRecord` reads of a stream record: satisfied both by the Lambda event's
 * `DynamoDBRecord` (aws-lambda) and by the Streams API's `GetRecords` records.
 */
export interface StreamRecordLike {
  readonly dynamodb?: { readonly Keys?: unknown; readonly NewImage?: unknown; readonly OldImage?: unknown };
}

/**
 * An objects-table stream record as the object before and after the change; undefined for
 * records that are not object items.
 */
export function parseStreamRecord(record: StreamRecordLike): StreamChange | undefined {
  const keys = streamKeysSchema.safeParse(record.dynamodb?.Keys);
  if (!keys.success) return undefined;
  const typeId = keys.data[attributes.partitionKey].S;
  const key = keys.data[attributes.sortKey].S;
  const slash = key.indexOf('/');
  if (slash < 0) return undefined;
  const image = (value: unknown): KubeObject | undefined => {
    if (value === undefined) return undefined;
    const parsed = objectItemSchema.safeParse(value);
    return parsed.success ? parseObjectJson(parsed.data[attributes.body].S) : undefined;
  };
  const oldObject = image(record.dynamodb?.OldImage);
  const newObject = image(record.dynamodb?.NewImage);
  if (!oldObject && !newObject) return undefined;
  const namespace = key.slice(0, slash);
  return {
    typeId,
    ...(namespace ? { namespace } : {}),
    name: key.slice(slash + 1),
    ...(oldObject ? { oldObject } : {}),
    ...(newObject ? { newObject } : {}),
  };
}

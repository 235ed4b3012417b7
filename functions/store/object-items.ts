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

const changeItemSchema = z.object({
  [attributes.partitionKey]: stringValue,
  [attributes.sortKey]: numberValue,
  [attributes.eventType]: z.object({ S: z.enum(changeEventTypes) }),
  [attributes.body]: stringValue,
  [attributes.prior]: stringValue.optional(),
  [attributes.expiresAt]: numberValue,
});

const counterItemSchema = z.object({ [attributes.counter]: numberValue });

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

export function parseChangeItem(item: unknown): ChangeRecord {
  const parsed = changeItemSchema.parse(item);
  const prior = parsed[attributes.prior];
  return {
    typeId: parsed[attributes.partitionKey].S,
    revision: Number(parsed[attributes.sortKey].N),
    type: parsed[attributes.eventType].S,
    object: parseObjectJson(parsed[attributes.body].S),
    ...(prior ? { prior: projectionSchema.parse(JSON.parse(prior.S)) } : {}),
    expiresAt: Number(parsed[attributes.expiresAt].N),
  };
}

/** The counter item's revision; 0 when the type has never been written. */
export function parseCounterItem(item: unknown): number {
  if (item === undefined) return 0;
  return Number(counterItemSchema.parse(item)[attributes.counter].N);
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

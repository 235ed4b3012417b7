/**
 * How objects and change-log entries look as DynamoDB items, and their parsers (zod, never
 * casts): used by the store and by the stream consumers through `parseStreamRecord`.
 */
import { z } from 'zod';
import { type KubeObject, storedObjectSchema } from '../../schemas/meta.ts';
import { attributes } from './tables.ts';

const stringValue = z.object({ S: z.string() });
const numberValue = z.object({ N: z.string().regex(/^\d+$/) });

/** Labels and selectable fields of an object before a change: what watch filters need. */
export const projectionSchema = z.object({
  labels: z.record(z.string(), z.string()),
  fields: z.record(z.string(), z.string()),
});
export type Projection = z.infer<typeof projectionSchema>;

export const watchEventTypes = ['ADDED', 'MODIFIED', 'DELETED'] as const;
export type ChangeEventType = (typeof watchEventTypes)[number];

const objectItemSchema = z.object({
  [attributes.partitionKey]: stringValue,
  [attributes.sortKey]: stringValue,
  [attributes.body]: stringValue,
  [attributes.revision]: numberValue,
});

const changeItemSchema = z.object({
  [attributes.partitionKey]: stringValue,
  [attributes.sortKey]: numberValue,
  [attributes.eventType]: z.object({ S: z.enum(watchEventTypes) }),
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

export interface ChangeRecord {
  readonly typeId: string;
  readonly revision: number;
  readonly type: ChangeEventType;
  readonly object: KubeObject;
  readonly prior?: Projection;
  /** Epoch seconds after which the entry counts as compacted. */
  readonly expiresAt: number;
}

/** Sort key of an object: `<namespace>/<name>`, namespace '' for cluster-scoped objects. */
export function objectKey(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

export function namespacePrefix(namespace: string): string {
  return `${namespace}/`;
}

export function parseObjectJson(json: string): KubeObject {
  return storedObjectSchema.parse(JSON.parse(json));
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

/** DynamoDB's item limit: attribute names plus values, UTF-8. */
export const maxItemBytes = 400 * 1024;
/** Room kept for the store's own attributes and the revision stamped at commit. */
const itemHeadroomBytes = 1024;
/** The largest object (as JSON) the store accepts. */
export const maxObjectBytes = maxItemBytes - itemHeadroomBytes;

/** Bytes the larger of the object item and the change entry takes, before headroom. */
export function storedSize(body: string, key: string, typeId: string, prior: string | undefined): number {
  const bytes = (text: string): number => Buffer.byteLength(text, 'utf8');
  const objectItem = bytes(body) + 2 * bytes(key) + bytes(typeId) + 64;
  const changeItem = bytes(body) + bytes(prior ?? '') + bytes(typeId) + 64;
  return Math.max(objectItem, changeItem);
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

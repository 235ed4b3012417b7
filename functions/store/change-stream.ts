/**
 * The change log as a stream (docs/adr/073): what the watch channel's fan-out reads from the
 * change log table's DynamoDB Stream. Kept in the store because it follows the change log's item
 * shape; what one change looks like to a watcher with selectors is `object-matcher.ts`, the same
 * rules every store adapter's watch applies, so the fan-out sends exactly what a REST watch with
 * the same selectors would.
 */
import type { ResourceType } from '../../schemas/registry.ts';
import { parseLogItem } from './object-items.ts';
import { type ChangeRecord, type ObjectMatcher, objectMatcher } from './object-matcher.ts';
import { attributes } from './tables.ts';

/** What `parseChangeStreamRecord` reads of a record: Lambda's `DynamoDBRecord` and the Streams API's records both fit. */
export interface ChangeStreamRecordLike {
  readonly eventName?: string;
  readonly dynamodb?: { readonly NewImage?: unknown };
}

/**
 * A change-log stream record as the change it logs; undefined for records that are not new
 * change entries (the revision counter's updates, void entries for revisions never used,
 * compaction removing old entries).
 */
export function parseChangeStreamRecord(record: ChangeStreamRecordLike): ChangeRecord | undefined {
  if (record.eventName !== 'INSERT') return undefined;
  try {
    return parseLogItem(record.dynamodb?.NewImage).change;
  } catch {
    return undefined;
  }
}

/**
 * A Lambda event filter pattern that lets only new change entries of the given types through
 * (the counter item is rewritten on every write; TTL deletions are REMOVE records).
 */
export function changeStreamFilterPattern(typeIds: readonly string[]): Record<string, unknown> {
  return { eventName: ['INSERT'], dynamodb: { Keys: { [attributes.partitionKey]: { S: [...typeIds] } } } };
}

export interface WatchSelectors {
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
}

/** The matcher of a watch of `type` with these selectors (a namespace only narrows a namespaced type). */
export function watchMatcher(type: ResourceType, selectors: WatchSelectors): ObjectMatcher {
  return objectMatcher(type, type.namespaced ? selectors.namespace || undefined : undefined, selectors.labelSelector, selectors.fieldSelector);
}

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
}

/** How long a page read ahead waits for its request. */
const readAheadMs = 5000;
/** Pages read ahead at once, at most (the oldest are dropped). */
const maxReadAhead = 16;

type Page = Pick<QueryCommandOutput, 'Items' | 'LastEvaluatedKey'>;

export function createLister(options: ListerOptions): (type: ResourceType, listOptions?: ListOptions) => Promise<ListResult> {
  const { calls, tables, log } = options;
  const readAhead = new Map<string, { readonly at: number; readonly page: Promise<Page> }>();

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

  return async function list(type, listOptions = {}) {
    const namespace = type.namespaced ? listOptions.namespace || undefined : undefined;
    const matcher = objectMatcher(type, namespace, listOptions.labelSelector, listOptions.fieldSelector);
    const position = listOptions.continue ? decodeContinue(listOptions.continue) : undefined;
    if (position && !continueIsWithin(position, namespace)) {
      throw new BadRequestError('continue key is not valid: it was returned by a list of another namespace');
    }
    // The revision is settled before the objects are read: a watch from it misses nothing.
    let resourceVersion = position?.rv ?? (await log.listRevision(type));
    // A type never written is at revision 0, which a watch reads as "any": give it a real one.
    if (resourceVersion === '0' && options.skipRevision) {
      await options.skipRevision(type);
      resourceVersion = await log.listRevision(type);
    }
    const limit = listOptions.limit && listOptions.limit > 0 ? listOptions.limit : undefined;
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
}

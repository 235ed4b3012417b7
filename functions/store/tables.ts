/**
 * The store's DynamoDB tables, defined once: the local host creates them with `ensureTables`,
 * the CDK stack maps `tableDefinitions` onto `dynamodb.Table` props. See docs/adr/001.
 *
 * - objects: one item per object. pk = resource type id (`apps/deployments`),
 *   sk = `<namespace>/<name>` ('' namespace for cluster-scoped types), so a namespace's
 *   objects are one `begins_with` query. Stream NEW_AND_OLD_IMAGES drives the controllers.
 * - changes: the change log. pk = type id, sk = revision; sk 0 holds the type's revision
 *   counter. Entries expire through the TTL attribute (like etcd compaction).
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  ResourceNotFoundException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';

export interface TableNames {
  readonly objects: string;
  readonly changes: string;
}

export type AttributeKind = 'S' | 'N';

export interface TableDefinition {
  readonly partitionKey: { readonly name: string; readonly type: AttributeKind };
  readonly sortKey: { readonly name: string; readonly type: AttributeKind };
  readonly stream?: 'NEW_AND_OLD_IMAGES';
  readonly timeToLiveAttribute?: string;
}

/** Attribute names of the items, shared by the store and the stream parser. */
export const attributes = {
  partitionKey: 'pk',
  sortKey: 'sk',
  /** objects: the object as JSON. changes: the object after the change (for DELETED, its last state). */
  body: 'body',
  /** objects: the object's revision (number). */
  revision: 'rv',
  namespace: 'ns',
  name: 'name',
  /** changes: ADDED | MODIFIED | DELETED. */
  eventType: 'event',
  /** changes: labels and selectable fields of the object before the change, as JSON. */
  prior: 'prior',
  /**
   * changes: when DynamoDB's TTL may delete the entry, epoch seconds. Well after `retainedUntil`:
   * the store's compaction removes entries first (docs/adr/053); TTL only cleans up after it.
   */
  expiresAt: 'expiresAt',
  /** changes: when the entry counts as compacted (watches from before it get 410), epoch seconds. */
  retainedUntil: 'retainedUntil',
  /** changes: marks a void entry, revisions never used, up to this one (number). */
  voidThrough: 'void',
  /** changes, counter item (sk 0): the highest revision handed out (an atomic counter). */
  counter: 'revision',
  /** changes, counter item (sk 0): every revision up to this one is compacted. */
  compacted: 'compacted',
} as const;

export const tableDefinitions: { readonly objects: TableDefinition; readonly changes: TableDefinition } = {
  objects: {
    partitionKey: { name: attributes.partitionKey, type: 'S' },
    sortKey: { name: attributes.sortKey, type: 'S' },
    stream: 'NEW_AND_OLD_IMAGES',
  },
  changes: {
    partitionKey: { name: attributes.partitionKey, type: 'S' },
    sortKey: { name: attributes.sortKey, type: 'N' },
    timeToLiveAttribute: attributes.expiresAt,
  },
};

/** Creates the tables that do not exist yet and waits until they are active. Idempotent. */
export async function ensureTables(client: DynamoDBClient, names: TableNames): Promise<void> {
  await Promise.all([ensureTable(client, names.objects, tableDefinitions.objects), ensureTable(client, names.changes, tableDefinitions.changes)]);
}

async function ensureTable(client: DynamoDBClient, name: string, definition: TableDefinition): Promise<void> {
  let created = false;
  try {
    await client.send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: definition.partitionKey.name, AttributeType: definition.partitionKey.type },
          { AttributeName: definition.sortKey.name, AttributeType: definition.sortKey.type },
        ],
        KeySchema: [
          { AttributeName: definition.partitionKey.name, KeyType: 'HASH' },
          { AttributeName: definition.sortKey.name, KeyType: 'RANGE' },
        ],
        ...(definition.stream ? { StreamSpecification: { StreamEnabled: true, StreamViewType: definition.stream } } : {}),
      }),
    );
    created = true;
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  await waitUntilActive(client, name);
  if (created && definition.timeToLiveAttribute) {
    await client.send(
      new UpdateTimeToLiveCommand({ TableName: name, TimeToLiveSpecification: { Enabled: true, AttributeName: definition.timeToLiveAttribute } }),
    );
  }
}

async function waitUntilActive(client: DynamoDBClient, name: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: name }));
      if (Table?.TableStatus === 'ACTIVE') return;
    } catch (error) {
      // A table created a moment ago by someone else may not be visible yet.
      if (!(error instanceof ResourceNotFoundException)) throw error;
    }
    if (Date.now() > deadline) throw new Error(`table ${name} did not become ACTIVE within 60 s`);
    await new Promise((done) => setTimeout(done, 200));
  }
}

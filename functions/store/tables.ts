/**
 * The store's DynamoDB tables, defined once: the local host creates them with `ensureTables`,
 * the CDK stack maps `tableDefinitions` onto `dynamodb.Table` props. See docs/adr/001.
 *
 * - objects: one item per object. pk = resource type id (`apps/deployments`),
 *   sk = `<namespace>/<name>` ('' namespace for cluster-scoped types), so a namespace's
 *   objects are one `begins_with` query. Stream NEW_AND_OLD_IMAGES drives the controllers.
 * - changes: the change log. pk = type id, sk = revision; sk 0 holds the type's revision
 *   counter. Entries expire through the TTL attribute (like etcd compaction). Where the watch
 *   channel runs (the stack, the local host) its stream (new images) feeds the fan-out
 *   (`change-stream.ts`, docs/adr/073): `changeLogStream`.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  ResourceNotFoundException,
  type TableDescription,
  UpdateTableCommand,
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
  readonly stream?: 'NEW_AND_OLD_IMAGES' | 'NEW_IMAGE';
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

/**
 * The change log's stream, for the watch channel's fan-out. Only where the channel runs: every
 * write puts two items in the change log (the entry and the revision counter), and DynamoDB Local
 * slows down with every stream record it holds, so tests without a channel do without it.
 */
export const changeLogStream = 'NEW_IMAGE' as const;

/**
 * The DynamoDB calls the store's adapter makes on its tables, as IAM actions: the CDK stack
 * grants functions exactly these (no `dynamodb:*`). A `TransactWriteItems` is authorized by the
 * actions of its parts (Put → PutItem, Delete → DeleteItem, Update → UpdateItem,
 * ConditionCheck → ConditionCheckItem). Keep this in step with the adapter:
 * `test/unit/store/table-actions.test.ts` reads the adapter's source and fails when a call is
 * missing here.
 */
export const tableActions: { readonly read: readonly string[]; readonly write: readonly string[] } = {
  read: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'],
  write: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'],
};

/** Creates the tables that do not exist yet and waits until they are active. Idempotent. */
export async function ensureTables(client: DynamoDBClient, names: TableNames, options: { readonly changeLogStream?: boolean } = {}): Promise<void> {
  const changes = options.changeLogStream ? { ...tableDefinitions.changes, stream: changeLogStream } : tableDefinitions.changes;
  await Promise.all([ensureTable(client, names.objects, tableDefinitions.objects), ensureTable(client, names.changes, changes)]);
}

/** Creates one table from its definition unless it exists (then turns on a stream it lacks); waits until it is active. */
export async function ensureTable(client: DynamoDBClient, name: string, definition: TableDefinition): Promise<void> {
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
  const table = await waitUntilActive(client, name);
  if (!created && definition.stream && !table.StreamSpecification?.StreamEnabled) {
    // A table made before its definition had a stream (an older data dir).
    await client.send(new UpdateTableCommand({ TableName: name, StreamSpecification: { StreamEnabled: true, StreamViewType: definition.stream } }));
    await waitUntilActive(client, name);
  }
  if (created && definition.timeToLiveAttribute) {
    await client.send(
      new UpdateTimeToLiveCommand({ TableName: name, TimeToLiveSpecification: { Enabled: true, AttributeName: definition.timeToLiveAttribute } }),
    );
  }
}

async function waitUntilActive(client: DynamoDBClient, name: string): Promise<TableDescription> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: name }));
      if (Table?.TableStatus === 'ACTIVE') return Table;
    } catch (error) {
      // A table created a moment ago by someone else may not be visible yet.
      if (!(error instanceof ResourceNotFoundException)) throw error;
    }
    if (Date.now() > deadline) throw new Error(`table ${name} did not become ACTIVE within 60 s`);
    await new Promise((done) => setTimeout(done, 200));
  }
}

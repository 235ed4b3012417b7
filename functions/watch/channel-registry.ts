/**
 * Who is connected to the watch channel and what each connection subscribed to, in one DynamoDB
 * table (docs/adr/073). Items expire by TTL a little after API Gateway's 2-hour connection limit,
 * in case `$disconnect` never came; readers ignore expired items themselves, since TTL deletes
 * them only eventually.
 *
 *   pk `connection#<connectionId>`, sk `connection`: the user, when it connected, its subscriptions
 *   pk `subscriptions#<typeId>`,    sk `<connectionId> <subscriptionId>`: one subscription, its selectors
 */
import {
  type AttributeValue,
  BatchWriteItemCommand,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { z } from 'zod';
import type { UserInfo } from '../domain/authorization/user-info.ts';
import type { TableDefinition } from '../store/tables.ts';

export const channelTableDefinition: TableDefinition = {
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  timeToLiveAttribute: 'expiresAt',
};

/** The calls the registry makes, as IAM actions (the stack grants exactly these). */
export const channelTableActions = [
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:Query',
  'dynamodb:BatchWriteItem',
] as const;

/** API Gateway ends a WebSocket connection after 2 hours; its items outlive that by a margin. */
export const connectionLifetimeSeconds = 2 * 3600 + 600;

/** Who the connection authenticated as (Kubernetes' UserInfo): kept for the authorizer. */
export type ChannelUser = UserInfo;

export interface Subscription {
  readonly connectionId: string;
  readonly id: string;
  readonly typeId: string;
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
}

export interface ChannelConnection {
  readonly connectionId: string;
  readonly user: ChannelUser;
  readonly connectedAt: number;
}

export interface ChannelRegistry {
  addConnection(connection: ChannelConnection): Promise<void>;
  /** undefined when unknown or expired. */
  connection(connectionId: string): Promise<ChannelConnection | undefined>;
  /** Registers (or replaces) a subscription of a live connection; false when the connection is not registered. */
  subscribe(subscription: Subscription): Promise<boolean>;
  unsubscribe(connectionId: string, id: string): Promise<void>;
  /** Every live subscription to a type, strongly consistent: one registered before a change was committed is seen. */
  subscriptionsOf(typeId: string): Promise<Subscription[]>;
  /** Forgets a connection and its subscriptions. */
  removeConnection(connectionId: string): Promise<void>;
}

const s = z.object({ S: z.string() });
const n = z.object({ N: z.string() });
const userSchema = z.object({
  username: z.string(),
  uid: z.string().optional(),
  groups: z.array(z.string()),
  extra: z.record(z.string(), z.array(z.string())).optional(),
});
const connectionItem = z.object({
  user: s,
  connectedAt: n,
  expiresAt: n,
  subscriptions: z.object({ SS: z.array(z.string()) }).optional(),
});
const subscriptionItem = z.object({
  connectionId: s,
  id: s,
  typeId: s,
  namespace: s.optional(),
  labelSelector: s.optional(),
  fieldSelector: s.optional(),
  expiresAt: n,
});

const connectionKey = (connectionId: string) => ({ pk: { S: `connection#${connectionId}` }, sk: { S: 'connection' } });
const subscriptionKey = (typeId: string, connectionId: string, id: string) => ({ pk: { S: `subscriptions#${typeId}` }, sk: { S: `${connectionId} ${id}` } });
/** How a connection item names one of its subscriptions: type ids hold a slash, never a space. */
const subscriptionRef = (typeId: string, id: string) => `${typeId} ${id}`;

export function dynamoDbChannelRegistry(options: { client: DynamoDBClient; tableName: string; now?: () => number }): ChannelRegistry {
  const { client, tableName } = options;
  const nowSeconds = () => Math.floor((options.now ?? Date.now)() / 1000);

  async function read(connectionId: string) {
    const { Item } = await client.send(new GetItemCommand({ TableName: tableName, Key: connectionKey(connectionId), ConsistentRead: true }));
    if (!Item) return undefined;
    const item = connectionItem.parse(Item);
    if (Number(item.expiresAt.N) <= nowSeconds()) return undefined;
    return item;
  }

  return {
    async addConnection(connection) {
      await client.send(
        new PutItemCommand({
          TableName: tableName,
          Item: {
            ...connectionKey(connection.connectionId),
            user: { S: JSON.stringify(connection.user) },
            connectedAt: { N: String(Math.floor(connection.connectedAt / 1000)) },
            expiresAt: { N: String(Math.floor(connection.connectedAt / 1000) + connectionLifetimeSeconds) },
          },
        }),
      );
    },

    async connection(connectionId) {
      const item = await read(connectionId);
      if (!item) return undefined;
      return {
        connectionId,
        user: userSchema.parse(JSON.parse(item.user.S)),
        connectedAt: Number(item.connectedAt.N) * 1000,
      };
    },

    async subscribe(subscription) {
      const connection = await read(subscription.connectionId);
      if (!connection) return false;
      const optional = (name: 'namespace' | 'labelSelector' | 'fieldSelector') => (subscription[name] ? { [name]: { S: subscription[name] } } : {});
      try {
        await client.send(
          new TransactWriteItemsCommand({
            TransactItems: [
              {
                Put: {
                  TableName: tableName,
                  Item: {
                    ...subscriptionKey(subscription.typeId, subscription.connectionId, subscription.id),
                    connectionId: { S: subscription.connectionId },
                    id: { S: subscription.id },
                    typeId: { S: subscription.typeId },
                    ...optional('namespace'),
                    ...optional('labelSelector'),
                    ...optional('fieldSelector'),
                    expiresAt: connection.expiresAt,
                  },
                },
              },
              {
                Update: {
                  TableName: tableName,
                  Key: connectionKey(subscription.connectionId),
                  UpdateExpression: 'ADD subscriptions :ref',
                  ConditionExpression: 'attribute_exists(pk)',
                  ExpressionAttributeValues: { ':ref': { SS: [subscriptionRef(subscription.typeId, subscription.id)] } },
                },
              },
            ],
          }),
        );
        return true;
      } catch (error) {
        // The connection went away in between.
        if (error instanceof TransactionCanceledException && error.CancellationReasons?.[1]?.Code === 'ConditionalCheckFailed') return false;
        throw error;
      }
    },

    async unsubscribe(connectionId, id) {
      const connection = await read(connectionId);
      for (const ref of connection?.subscriptions?.SS ?? []) {
        const [typeId, subscriptionId] = ref.split(' ');
        if (subscriptionId !== id || !typeId) continue;
        await client.send(new DeleteItemCommand({ TableName: tableName, Key: subscriptionKey(typeId, connectionId, id) }));
        await client.send(
          new UpdateItemCommand({
            TableName: tableName,
            Key: connectionKey(connectionId),
            UpdateExpression: 'DELETE subscriptions :ref',
            ExpressionAttributeValues: { ':ref': { SS: [ref] } },
          }),
        );
      }
    },

    async subscriptionsOf(typeId) {
      const found: Subscription[] = [];
      let start: Record<string, AttributeValue> | undefined;
      const now = nowSeconds();
      do {
        const page = await client.send(
          new QueryCommand({
            TableName: tableName,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': { S: `subscriptions#${typeId}` } },
            ConsistentRead: true,
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        for (const raw of page.Items ?? []) {
          const item = subscriptionItem.parse(raw);
          if (Number(item.expiresAt.N) <= now) continue;
          found.push({
            connectionId: item.connectionId.S,
            id: item.id.S,
            typeId: item.typeId.S,
            ...(item.namespace ? { namespace: item.namespace.S } : {}),
            ...(item.labelSelector ? { labelSelector: item.labelSelector.S } : {}),
            ...(item.fieldSelector ? { fieldSelector: item.fieldSelector.S } : {}),
          });
        }
        start = page.LastEvaluatedKey;
      } while (start);
      return found;
    },

    async removeConnection(connectionId) {
      const { Item } = await client.send(new GetItemCommand({ TableName: tableName, Key: connectionKey(connectionId), ConsistentRead: true }));
      const refs = Item ? (connectionItem.partial().parse(Item).subscriptions?.SS ?? []) : [];
      const keys = [
        ...refs.flatMap((ref) => {
          const [typeId, id] = ref.split(' ');
          return typeId && id ? [subscriptionKey(typeId, connectionId, id)] : [];
        }),
        connectionKey(connectionId),
      ];
      for (let index = 0; index < keys.length; index += 25) {
        let requests: { DeleteRequest: { Key: Record<string, AttributeValue> } }[] = keys.slice(index, index + 25).map((Key) => ({ DeleteRequest: { Key } }));
        for (let attempt = 0; requests.length > 0 && attempt < 5; attempt++) {
          const { UnprocessedItems } = await client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: requests } }));
          requests = (UnprocessedItems?.[tableName] ?? []).flatMap((request) =>
            request.DeleteRequest?.Key ? [{ DeleteRequest: { Key: request.DeleteRequest.Key } }] : [],
          );
        }
      }
    },
  };
}

/**
 * DynamoDB for integration tests: the `npm test` harness's DynamoDB Local when it runs
 * (SKIFF_TEST_DYNAMODB_ENDPOINT), else one this process starts. Each call gets its own
 * uniquely-prefixed pair of store tables; call it once per test file and keep tests apart by
 * namespace or name, because every new stream table slows DynamoDB Local down a little.
 *
 *   const db = await useDynamoDb();
 *   after(() => db.cleanup());
 *   const store = createDynamoDbStore({ client: db.client, tables: db.tables });
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { DeleteTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type DynamoDbLocal, localDynamoDbClient, startDynamoDbLocal } from '../../functions/local/dynamodb-local.ts';
import { ensureTables, type TableNames } from '../../functions/store/tables.ts';

export const endpointVariable = 'SKIFF_TEST_DYNAMODB_ENDPOINT';
export const cacheDir = fileURLToPath(new URL('../../.cache/dynamodb-local', import.meta.url));

export interface TestDynamoDb {
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  readonly tables: TableNames;
  /** Deletes the tables, and stops DynamoDB Local when this process started it and nobody else uses it. */
  cleanup(): Promise<void>;
}

let ownLocal: Promise<DynamoDbLocal> | undefined;
let users = 0;

async function endpoint(): Promise<string> {
  const shared = process.env[endpointVariable];
  if (shared) return shared;
  ownLocal ??= startDynamoDbLocal({ cacheDir });
  users++;
  return (await ownLocal).endpoint;
}

async function release(): Promise<void> {
  if (process.env[endpointVariable] || !ownLocal) return;
  users--;
  if (users > 0) return;
  const local = ownLocal;
  ownLocal = undefined;
  await (await local).stop();
}

/** `changeLogStream`: also the change log's stream, which the watch channel's fan-out reads. */
export async function useDynamoDb(options: { readonly changeLogStream?: boolean } = {}): Promise<TestDynamoDb> {
  const url = await endpoint();
  const client = localDynamoDbClient(url);
  const prefix = `test-${randomBytes(4).toString('hex')}`;
  const tables: TableNames = { objects: `${prefix}-objects`, changes: `${prefix}-changes` };
  try {
    await ensureTables(client, tables, options);
  } catch (error) {
    client.destroy();
    await release();
    throw error;
  }
  let cleaned = false;
  return {
    endpoint: url,
    client,
    tables,
    async cleanup() {
      if (cleaned) return;
      cleaned = true;
      await Promise.allSettled([tables.objects, tables.changes].map((name) => client.send(new DeleteTableCommand({ TableName: name }))));
      client.destroy();
      await release();
    },
  };
}

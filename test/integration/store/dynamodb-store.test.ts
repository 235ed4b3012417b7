import { createDynamoDbStore } from '../../../functions/store/dynamodb-store.ts';
import { useDynamoDb } from '../../support/dynamodb.ts';
import { describeObjectStoreContract } from '../../support/object-store-contract.ts';

describeObjectStoreContract('DynamoDB store', async () => {
  const db = await useDynamoDb();
  return {
    open: (options) => createDynamoDbStore({ client: db.client, tables: db.tables, pollIntervalMs: 50, ...options }),
    cleanup: () => db.cleanup(),
  };
});

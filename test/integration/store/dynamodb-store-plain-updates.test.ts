/** The store contract, with single-object updates written as plain puts (docs/adr/005), as the hosts run it. */
import { createDynamoDbStore } from '../../../functions/store/dynamodb-store.ts';
import { useDynamoDb } from '../../support/dynamodb.ts';
import { describeObjectStoreContract } from '../../support/object-store-contract.ts';

describeObjectStoreContract('DynamoDB store (plain updates)', async () => {
  const db = await useDynamoDb();
  return {
    open: (options) => createDynamoDbStore({ client: db.client, tables: db.tables, pollIntervalMs: 50, plainUpdates: true, ...options }),
    cleanup: () => db.cleanup(),
  };
});

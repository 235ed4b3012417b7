/**
 * The store contract with lists served from snapshots kept in memory (docs/adr/198), filled at a
 * type's first list so that nearly every list of the contract is answered from one.
 */
import { createDynamoDbStore } from '../../../functions/store/dynamodb-store.ts';
import { useDynamoDb } from '../../support/dynamodb.ts';
import { describeObjectStoreContract } from '../../support/object-store-contract.ts';

describeObjectStoreContract('DynamoDB store (list snapshots)', async () => {
  const db = await useDynamoDb();
  return {
    open: (options) => createDynamoDbStore({ client: db.client, tables: db.tables, pollIntervalMs: 50, listSnapshots: { fillAfterLists: 1 }, ...options }),
    cleanup: () => db.cleanup(),
  };
});

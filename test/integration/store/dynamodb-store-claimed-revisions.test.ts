/**
 * The store contract, with every type's single-object updates claiming their revision at the
 * log's tail (docs/adr/189), as the hosts run the Lease type.
 */
import { createDynamoDbStore } from '../../../functions/store/dynamodb-store.ts';
import { resourceTypes } from '../../../schemas/registry.ts';
import { useDynamoDb } from '../../support/dynamodb.ts';
import { describeObjectStoreContract } from '../../support/object-store-contract.ts';

describeObjectStoreContract('DynamoDB store (claimed revisions)', async () => {
  const db = await useDynamoDb();
  const claimedRevisionTypes = resourceTypes.map((type) => type.id);
  return {
    open: (options) => createDynamoDbStore({ client: db.client, tables: db.tables, pollIntervalMs: 50, plainUpdates: true, claimedRevisionTypes, ...options }),
    cleanup: () => db.cleanup(),
  };
});

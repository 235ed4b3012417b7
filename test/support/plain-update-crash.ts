/**
 * A writer process for the plain-update fault test: updates one ConfigMap through a store with
 * plain updates (docs/adr/005) and is killed (SIGKILL) the moment it sends the change entry, so
 * the object holds a revision whose entry was never written. With `PLAIN_CRASH_CLAIMED=1` the
 * revision is claimed at the log's tail (docs/adr/189) rather than taken from the counter.
 */
import { localDynamoDbClient } from '../../functions/local/dynamodb-local.ts';
import { createDynamoDbStore } from '../../functions/store/dynamodb-store.ts';
import { types } from '../../schemas/registry.ts';

const endpoint = process.env.PLAIN_CRASH_ENDPOINT ?? '';
const tables = { objects: process.env.PLAIN_CRASH_OBJECTS ?? '', changes: process.env.PLAIN_CRASH_CHANGES ?? '' };
const namespace = process.env.PLAIN_CRASH_NAMESPACE ?? '';
const name = process.env.PLAIN_CRASH_NAME ?? '';

const client = localDynamoDbClient(endpoint);
client.middlewareStack.add(
  (next, context) => async (args) => {
    const input = args.input as { TableName?: string };
    if (context.commandName === 'PutItemCommand' && input.TableName === tables.changes) process.kill(process.pid, 'SIGKILL');
    return next(args);
  },
  { step: 'initialize', name: 'dieBeforeTheChangeEntry' },
);
const claimed = process.env.PLAIN_CRASH_CLAIMED === '1' ? { claimedRevisionTypes: [types.configmaps.id] } : {};
const store = createDynamoDbStore({ client, tables, plainUpdates: true, pollIntervalMs: 50, ...claimed });
const current = await store.get(types.configmaps, namespace, name);
await store.update(types.configmaps, { ...current, data: { written: 'by the writer that died' } });
// Not reached: the process is killed before the change entry is sent.
process.exit(3);

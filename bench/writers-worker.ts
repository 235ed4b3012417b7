/**
 * One process of the `writers` scenario: `writers` loops, each updating its own object of one
 * type as fast as it can for `seconds`, either through the store (`store`: single-object updates,
 * each conditional on the revision it last wrote) or as raw conditional PutItems of an item of
 * the same size (`raw`: the ceiling, what DynamoDB allows without revisions or a change log).
 * Usage: tsx bench/writers-worker.ts <endpoint> <objects table> <changes table> <store|raw> <process index> <writers> <seconds>
 * Prints {"ready":true} when set up, starts on a line on stdin, then prints one JSON line of counts.
 */
import { createInterface } from 'node:readline';
import { ConditionalCheckFailedException, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { localDynamoDbClient } from '../functions/local/dynamodb-local.ts';
import { awsStoreSettings, createDynamoDbStore } from '../functions/store/dynamodb-store.ts';
import type { KubeObject } from '../schemas/meta.ts';
import { types } from '../schemas/registry.ts';

const [endpoint, objects, changes, mode, indexText, writersText, secondsText] = process.argv.slice(2);
if (!endpoint || !objects || !changes || (mode !== 'store' && mode !== 'raw') || !indexText || !writersText || !secondsText) {
  throw new Error('usage: writers-worker.ts <endpoint> <objects> <changes> <store|raw> <index> <writers> <seconds>');
}
const tables = { objects, changes };
const writers = Number(writersText);
const seconds = Number(secondsText);
const client = localDynamoDbClient(endpoint);

/** DynamoDB calls by command, and how many failed: the store's retries show here. */
const calls: Record<string, { sent: number; failed: number }> = {};
client.middlewareStack.add(
  (next, context) => async (args) => {
    const command = (context.commandName ?? 'unknown').replace(/Command$/, '');
    const count = (calls[command] ??= { sent: 0, failed: 0 });
    count.sent++;
    try {
      return await next(args);
    } catch (error) {
      count.failed++;
      throw error;
    }
  },
  { step: 'initialize', name: 'countCalls' },
);

const names = Array.from({ length: writers }, (_, writer) => `w${indexText}-${writer}`);
/** A ConfigMap of about 300 bytes, like a Lease. */
const payload = 'x'.repeat(200);

async function setUp(): Promise<(name: string, deadline: number) => Promise<number>> {
  if (mode === 'store') {
    // SKIFF_BENCH_GROUP_STALL_MS=0 commits every write on its own (the scenario without group commit).
    const stall = process.env.SKIFF_BENCH_GROUP_STALL_MS;
    const store = createDynamoDbStore({ client, tables, ...awsStoreSettings, ...(stall !== undefined ? { groupStallMs: Number(stall) } : {}) });
    const created = new Map<string, KubeObject>();
    for (const name of names) {
      created.set(
        name,
        await store.create(types.configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'writers' }, data: { n: '0', payload } }),
      );
    }
    return async (name, deadline) => {
      let current = created.get(name);
      let writes = 0;
      while (current && Date.now() < deadline) {
        current = await store.update(types.configmaps, { ...current, data: { n: String(writes + 1), payload } });
        writes++;
      }
      return writes;
    };
  }
  const body = JSON.stringify({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'raw', namespace: 'writers', uid: crypto.randomUUID() },
    data: { payload },
  });
  const put = (name: string, revision: number) =>
    client.send(
      new PutItemCommand({
        TableName: tables.objects,
        Item: { pk: { S: 'bench/raw' }, sk: { S: `writers/${name}` }, body: { S: body }, rv: { N: String(revision) } },
        ...(revision === 1
          ? { ConditionExpression: 'attribute_not_exists(rv)' }
          : { ConditionExpression: 'rv = :previous', ExpressionAttributeValues: { ':previous': { N: String(revision - 1) } } }),
      }),
    );
  for (const name of names) {
    try {
      await put(name, 1);
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }
  return async (name, deadline) => {
    let writes = 0;
    while (Date.now() < deadline) {
      await put(name, writes + 2);
      writes++;
    }
    return writes;
  };
}

const run = await setUp();
for (const key of Object.keys(calls)) delete calls[key];
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
const lines = createInterface({ input: process.stdin });
await new Promise<void>((done) => lines.once('line', () => done()));
const started = Date.now();
const deadline = started + seconds * 1000;
const counts = await Promise.all(names.map((name) => run(name, deadline)));
const elapsed = (Date.now() - started) / 1000;
process.stdout.write(`${JSON.stringify({ writes: counts.reduce((sum, n) => sum + n, 0), seconds: elapsed, calls })}\n`);
lines.close();
client.destroy();
process.exit(0);

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { ensureDynamoDbLocal, localDynamoDbClient, startDynamoDbLocal } from '../../../functions/local/dynamodb-local.ts';
import { ensureTables } from '../../../functions/store/tables.ts';
import { cacheDir, useDynamoDb } from '../../support/dynamodb.ts';

function listen(server: Server): Promise<number> {
  return new Promise((done) => {
    server.listen(0, () => {
      const address = server.address();
      done(typeof address === 'object' && address ? address.port : 0);
    });
  });
}

describe('DynamoDB Local', () => {
  it('answers on its endpoint until stopped', async () => {
    const local = await startDynamoDbLocal({ cacheDir });
    const client = localDynamoDbClient(local.endpoint);
    try {
      const tables = await client.send(new ListTablesCommand({}));
      assert.deepEqual(tables.TableNames, []);
      await local.stop();
      await assert.rejects(client.send(new ListTablesCommand({}), { abortSignal: AbortSignal.timeout(3000) }));
    } finally {
      client.destroy();
      await local.stop();
    }
  });

  it('fails clearly when the port it was given is taken', async () => {
    const blocker = createServer((socket) => socket.destroy());
    const port = await listen(blocker);
    try {
      await assert.rejects(startDynamoDbLocal({ cacheDir, port }), /Address already in use/);
    } finally {
      blocker.close();
    }
  });
});

describe('ensureDynamoDbLocal', () => {
  it('lets concurrent callers fetch into an empty cache and agree on one folder', async () => {
    const cache = await mkdtemp(join(tmpdir(), 'skiff-ddb-cache-'));
    try {
      const [first, second] = await Promise.all([ensureDynamoDbLocal(cache), ensureDynamoDbLocal(cache)]);
      assert.equal(first, second);
      assert.ok(existsSync(join(first, 'DynamoDBLocal.jar')));
      // No half-finished download folders stay behind.
      assert.deepEqual(await readdir(cache), ['emulator']);
      assert.equal(await ensureDynamoDbLocal(cache), first);
    } finally {
      await rm(cache, { recursive: true, force: true });
    }
  });
});

describe('ensureTables', () => {
  it('can run again over existing tables', async () => {
    const db = await useDynamoDb();
    try {
      await ensureTables(db.client, db.tables);
      await Promise.all([ensureTables(db.client, db.tables), ensureTables(db.client, db.tables)]);
      const { TableNames } = await db.client.send(new ListTablesCommand({}));
      assert.ok(TableNames?.includes(db.tables.objects));
      assert.ok(TableNames?.includes(db.tables.changes));
    } finally {
      await db.cleanup();
    }
  });
});

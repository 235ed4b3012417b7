import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import {
  ExposedDynamoDbLocalError,
  ensureDynamoDbLocal,
  localDynamoDbClient,
  startDynamoDbLocal,
  verifyLoopbackOnly,
} from '../../../functions/local/dynamodb-local.ts';
import { isLoopbackAddress, listeningSocketsOf } from '../../../functions/local/listening-sockets.ts';
import { ensureTables } from '../../../functions/store/tables.ts';
import { cacheDir, useDynamoDb } from '../../support/dynamodb.ts';

function outsideAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .flatMap((address) => (address && !address.internal && address.family === 'IPv4' ? [address.address] : []));
}

function connects(host: string, port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host, port, timeout: 2000 });
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      done(false);
    });
    socket.once('error', () => done(false));
  });
}

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

  it('runs its JVM with the client compiler only by default, and with the optimizing one when asked for throughput', async () => {
    const jvmFlags = (pid: number): string[] =>
      readFileSync(`/proc/${pid}/cmdline`, 'utf8')
        .split('\0')
        .filter((arg) => arg.startsWith('-XX:'));
    const quick = await startDynamoDbLocal({ cacheDir });
    const steady = await startDynamoDbLocal({ cacheDir, jit: 'throughput' });
    const client = localDynamoDbClient(steady.endpoint);
    try {
      assert.deepEqual(jvmFlags(quick.pid), ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC']);
      assert.deepEqual(jvmFlags(steady.pid), ['-XX:+UseSerialGC']);
      assert.deepEqual((await client.send(new ListTablesCommand({}))).TableNames, []);
    } finally {
      client.destroy();
      await Promise.all([quick.stop(), steady.stop()]);
    }
  });

  it('listens on 127.0.0.1 only, and a foreign web origin gets no CORS grant', async () => {
    const local = await startDynamoDbLocal({ cacheDir });
    try {
      const sockets = listeningSocketsOf(local.pid);
      assert.ok(sockets, 'this machine has /proc');
      assert.ok(sockets.length > 0);
      for (const socket of sockets) assert.ok(isLoopbackAddress(socket.address), `listens on ${socket.address}:${socket.port}`);
      assert.ok(sockets.some((socket) => socket.port === local.port));
      // Through every address of this machine that is not loopback, nothing answers.
      for (const address of outsideAddresses()) assert.equal(await connects(address, local.port), false, `reachable on ${address}`);
      const preflight = await fetch(`${local.endpoint}/`, {
        method: 'OPTIONS',
        headers: { origin: 'http://foreign.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-amz-target' },
      });
      assert.equal(preflight.headers.get('access-control-allow-origin'), null);
    } finally {
      await local.stop();
    }
  });

  it('refuses to go on with a process that listens on every interface', async () => {
    const child = spawn(process.execPath, ['-e', "require('node:net').createServer().listen(0, '0.0.0.0', function () { console.log(this.address().port) })"], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const port = await new Promise<number>((done) => child.stdout.once('data', (chunk: Buffer) => done(Number(chunk.toString().trim()))));
      await assert.rejects(verifyLoopbackOnly(child, port), ExposedDynamoDbLocalError);
      await assert.rejects(verifyLoopbackOnly(child, port), /listens beyond loopback \(0\.0\.0\.0:\d+\)/);
    } finally {
      child.kill('SIGKILL');
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

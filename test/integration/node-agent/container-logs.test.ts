/**
 * Container logs as the agent keeps and serves them: read in chunks whatever their size (a
 * 1 GiB log served with bounded memory, `--tail 10` of it), cut at `limitBytes`, rotated at the
 * kubelet's size and file count while a `-f` reader keeps reading.
 */
import assert from 'node:assert/strict';
import {
  appendFileSync,
  closeSync,
  existsSync,
  ftruncateSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadImageTable } from '../../../node-agent/images.ts';
import { type KubeletServer, startKubeletServer } from '../../../node-agent/kubelet-server.ts';
import { killRecordedContainers, ProcessRuntime, rotateLogFile } from '../../../node-agent/runtime/process-runtime.ts';
import type { ContainerRecord } from '../../../node-agent/runtime/runtime.ts';
import { waitFor } from '../../support/wait.ts';

const dir = mkdtempSync(join(tmpdir(), 'skiff-logs-'));
const gib = 1024 ** 3;
let server: KubeletServer;
/** What the lookup serves: a record per pod name, with `ended` telling a follower to stop. */
const records = new Map<string, ContainerRecord>();

function record(name: string, logPath: string, ended = true): ContainerRecord {
  return {
    id: name,
    containerID: `skiff-process://${name}`,
    pod: { namespace: 'default', name, uid: name },
    containerName: 'app',
    attempt: 0,
    image: 'busybox',
    imageID: 'busybox',
    startedAt: new Date().toISOString(),
    logPath,
    ...(ended ? { exit: { exitCode: 0, reason: 'Completed', finishedAt: new Date().toISOString() } } : {}),
  };
}

/** Streams a log request, counting bytes; `keep` keeps the text (for small answers), `seen` shows it as it comes. */
function fetchLog(path: string, keep = true, seen?: (textSoFar: string) => void): Promise<{ status: number; bytes: number; text: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = request({ host: '127.0.0.1', port: server.port, path, agent: false }, (response) => {
      let bytes = 0;
      const parts: Buffer[] = [];
      response.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (keep) parts.push(chunk);
        seen?.(Buffer.concat(parts).toString('utf8'));
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, bytes, text: Buffer.concat(parts).toString('utf8') }));
      response.on('error', reject);
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}

before(async () => {
  server = await startKubeletServer({
    address: '127.0.0.1',
    port: 0,
    followPollMs: 50,
    logs: {
      find: (_namespace, name) => {
        const found = records.get(name);
        return found
          ? { containerNames: ['app'], record: () => records.get(name), refresh: () => records.get(name), waitingReason: () => 'ContainerCreating' }
          : undefined;
      },
    },
  });
});

after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a 1 GiB container log', () => {
  const path = join(dir, 'big.log');
  before(() => {
    // 1 GiB, sparse: a hole (read as zero bytes) and then a last MiB of numbered 64-byte lines.
    // Writing a whole GiB takes a disk seconds; what is measured here is only what the agent reads.
    const fd = openSync(path, 'w');
    const line = (n: number) => `line ${String(n).padStart(10, '0')} ${'x'.repeat(47)}\n`;
    const tailBytes = 1024 * 1024;
    ftruncateSync(fd, gib - tailBytes);
    writeSync(fd, Buffer.from(Array.from({ length: tailBytes / 64 }, (_, n) => line(n)).join('')), 0, tailBytes, gib - tailBytes);
    closeSync(fd);
    records.set('big', record('big', path));
  });
  after(() => rmSync(path, { force: true }));

  it('answers tailLines=10 with the last 10 lines', async () => {
    assert.equal(statSync(path).size, gib);
    const answer = await fetchLog('/containerLogs/default/big/app?tailLines=10');
    const numbers = answer.text
      .trimEnd()
      .split('\n')
      .map((text) => Number(/^line (\d{10}) x{47}$/.exec(text)?.[1]));
    assert.deepEqual(
      numbers,
      Array.from({ length: 10 }, (_, i) => 16384 - 10 + i),
    );
  });

  it('serves it in chunks: memory stays bounded while 256 MiB of it go out', async () => {
    let peak = 0;
    const base = process.memoryUsage().arrayBuffers;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().arrayBuffers - base);
    }, 20);
    const limit = 256 * 1024 * 1024;
    try {
      const answer = await fetchLog(`/containerLogs/default/big/app?limitBytes=${limit}`, false);
      assert.equal(answer.status, 200);
      assert.equal(answer.bytes, limit);
    } finally {
      clearInterval(sampler);
    }
    assert.ok(peak < 64 * 1024 * 1024, `buffers grew by ${Math.round(peak / 1024 / 1024)} MiB while serving 256 MiB of a 1 GiB log`);
  });

  it('stops at limitBytes, with timestamps too', async () => {
    const plain = await fetchLog('/containerLogs/default/big/app?tailLines=3&limitBytes=100');
    assert.equal(plain.bytes, 100);
    assert.ok(plain.text.startsWith('line 0000016381 '));
    const stamped = await fetchLog('/containerLogs/default/big/app?limitBytes=70&timestamps=true&tailLines=2');
    assert.equal(stamped.bytes, 70);
    assert.match(stamped.text, /^\d{4}-\d\d-\d\dT[\d:.]+Z line \d{10} /);
  });
});

describe('log rotation', () => {
  it('keeps at most the configured number of files, newest copy first', () => {
    const path = join(dir, 'rotated.log');
    for (let round = 1; round <= 7; round++) {
      writeFileSync(path, `round ${round}\n`);
      rotateLogFile(path, 5);
    }
    const files = readdirSync(dir)
      .filter((name) => name.startsWith('rotated.log'))
      .sort();
    assert.deepEqual(files, ['rotated.log', 'rotated.log.1', 'rotated.log.2', 'rotated.log.3', 'rotated.log.4']);
    assert.equal(statSync(path).size, 0, 'the live file starts again empty');
    assert.match(readFileText(`${path}.1`), /round 7/);
    assert.match(readFileText(`${path}.4`), /round 4/);
  });

  it('lets a follower carry on across a rotation', async () => {
    const path = join(dir, 'followed.log');
    writeFileSync(path, 'before-1\nbefore-2\n');
    records.set('followed', record('followed', path, false));
    let soFar = '';
    const answer = fetchLog('/containerLogs/default/followed/app?follow=true', true, (text) => {
      soFar = text;
    });
    await waitFor('the follower to read the first lines', () => soFar === 'before-1\nbefore-2\n');
    rotateLogFile(path, 5);
    appendFileSync(path, 'after-1\n');
    await waitFor('the follower to read past the rotation', () => soFar.endsWith('after-1\n'));
    records.set('followed', record('followed', path, true));
    const { text } = await answer;
    assert.equal(text, 'before-1\nbefore-2\nafter-1\n');
  });

  it('rotates a running container whose log passes the size, in the runtime', async () => {
    const stateDir = mkdtempSync(join(dir, 'runtime-'));
    const runtime = new ProcessRuntime({
      stateDir,
      images: loadImageTable(),
      containerLogMaxBytes: 64 * 1024,
      containerLogMaxFiles: 3,
      logRotationCheckMs: 50,
    });
    try {
      const started = await runtime.start({
        pod: { namespace: 'default', name: 'chatty', uid: 'chatty' },
        containerName: 'app',
        attempt: 0,
        image: 'busybox',
        // Bursts of ~40 KiB every 0.1 s, for as long as it runs.
        command: [
          '/bin/sh',
          '-c',
          'while :; do i=0; while [ $i -lt 800 ]; do echo "line $i of a chatty container, padded to fifty"; i=$((i+1)); done; sleep 0.1; done',
        ],
        env: {},
      });
      const logPath = started.logPath ?? '';
      await waitFor('two rotations', () => existsSync(`${logPath}.2`), { timeoutMs: 20_000 });
      assert.equal(existsSync(`${logPath}.3`), false, 'no more than 3 files');
      await runtime.stop(started.id, 0);
      runtime.remove(started.id);
      assert.equal(existsSync(logPath) || existsSync(`${logPath}.1`) || existsSync(`${logPath}.2`), false, 'removing the run removes its logs');
    } finally {
      await runtime.close();
      killRecordedContainers(stateDir);
    }
  });
});

function readFileText(path: string): string {
  return readFileSync(path, 'utf8');
}

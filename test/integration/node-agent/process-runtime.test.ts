import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadImageTable } from '../../../node-agent/images.ts';
import { processIdentity } from '../../../node-agent/runtime/process-identity.ts';
import { killRecordedContainers, ProcessRuntime } from '../../../node-agent/runtime/process-runtime.ts';
import { type ContainerLaunch, ImagePullError } from '../../../node-agent/runtime/runtime.ts';
import { freePort, randomLoopbackSubnet } from '../../support/loopback.ts';
import { waitFor } from '../../support/wait.ts';

const stateDirs: string[] = [];
const runtimes: ProcessRuntime[] = [];

function newRuntime(stateDir = mkdtempSync(join(tmpdir(), 'skiff-runtime-'))): ProcessRuntime {
  if (!stateDirs.includes(stateDir)) stateDirs.push(stateDir);
  const runtime = new ProcessRuntime({ stateDir, images: loadImageTable(), adoptedPollMs: 100 });
  runtimes.push(runtime);
  return runtime;
}

function launch(command: string[], overrides: Partial<ContainerLaunch> = {}): ContainerLaunch {
  return {
    pod: { namespace: 'default', name: 'p', uid: `uid-${Math.random().toString(16).slice(2)}` },
    containerName: 'c',
    attempt: 0,
    image: 'busybox',
    command,
    env: {},
    ...overrides,
  };
}

after(async () => {
  for (const runtime of runtimes) await runtime.close();
  for (const dir of stateDirs) {
    killRecordedContainers(dir);
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('process runtime', () => {
  it('runs a container command with its environment and writes its output to the log', async () => {
    const runtime = newRuntime();
    const record = await runtime.start(launch(['/bin/sh', '-c', 'echo "hello $GREETING"; echo oops >&2'], { env: { GREETING: 'world' } }));
    const exited = await waitFor('exit', () => runtime.container(record.id)?.exit);
    assert.equal(exited.exitCode, 0);
    assert.equal(exited.reason, 'Completed');
    assert.equal(readFileSync(record.logPath ?? '', 'utf8'), 'hello world\noops\n');
    assert.match(record.containerID, /^skiff-process:\/\/[0-9a-f]{32}$/);
  });

  it('reports the exit code of a crashing container and tells its listeners', async () => {
    const runtime = newRuntime();
    const seen: number[] = [];
    runtime.onExit((r) => seen.push(r.exit?.exitCode ?? -1));
    const record = await runtime.start(launch(['/bin/sh', '-c', 'exit 3']));
    const exited = await waitFor('exit', () => runtime.container(record.id)?.exit);
    assert.deepEqual([exited.exitCode, exited.reason], [3, 'Error']);
    assert.deepEqual(seen, [3]);
  });

  it('stops a container with SIGTERM and records how it exited', async () => {
    const runtime = newRuntime();
    const script = 'trap "echo terminating; exit 0" TERM; echo ready; while true; do sleep 0.1; done';
    const record = await runtime.start(launch(['/bin/sh', '-c', script]));
    await waitFor('ready', () => readFileSync(record.logPath ?? '', 'utf8').includes('ready'));
    const stopped = await runtime.stop(record.id, 5000);
    assert.equal(stopped?.exit?.exitCode, 0);
    assert.match(readFileSync(record.logPath ?? '', 'utf8'), /terminating/);
  });

  it('kills a container that ignores SIGTERM once the grace period is over', async () => {
    const runtime = newRuntime();
    const record = await runtime.start(launch(['/bin/sh', '-c', 'trap "" TERM; echo ready; while true; do sleep 0.1; done']));
    await waitFor('ready', () => readFileSync(record.logPath ?? '', 'utf8').includes('ready'));
    const started = Date.now();
    const stopped = await runtime.stop(record.id, 500);
    assert.ok(Date.now() - started >= 450, 'waited for the grace period');
    assert.equal(stopped?.exit?.exitCode, 137);
    assert.equal(stopped?.exit?.signal, 9);
  });

  it('keeps a stdin open for a container that asks for one, fed by attach -i; others read its end at once', async () => {
    const runtime = newRuntime();
    const closed = await runtime.start(launch(['/bin/sh', '-c', 'read line; echo "read status $?"']));
    await waitFor('the container without stdin to read its end', () => runtime.container(closed.id)?.exit);
    assert.equal(readFileSync(closed.logPath ?? '', 'utf8'), 'read status 1\n');
    const record = await runtime.start(launch(['/bin/sh', '-c', 'echo ready; while read line; do echo "got $line"; done'], { stdin: true }));
    await waitFor('ready', () => readFileSync(record.logPath ?? '', 'utf8').includes('ready'));
    const first = runtime.openAttach(record.id, { stdin: true });
    let output = '';
    first.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    first.stdin?.write('hello\n');
    await waitFor('the line through attach', () => output.includes('got hello'));
    // Closing one session's input leaves the container's stdin open for the next attach.
    first.stdin?.end();
    first.kill();
    const second = runtime.openAttach(record.id, { stdin: true });
    second.stdin?.write('again\n');
    await waitFor('the second line in the log', () => readFileSync(record.logPath ?? '', 'utf8').includes('got again'));
    second.kill();
    assert.equal(runtime.container(record.id)?.exit, undefined);
    await runtime.stop(record.id, 1000);
  });

  it('runs a container with tty: true on a terminal of its own', async () => {
    const runtime = newRuntime();
    const record = await runtime.start(launch(['/bin/sh', '-c', 'tty; exit 4'], { tty: true }));
    const exited = await waitFor('exit', () => runtime.container(record.id)?.exit);
    assert.equal(exited.exitCode, 4);
    assert.match(readFileSync(record.logPath ?? '', 'utf8'), /^\/dev\/pts\/\d+/);
  });

  it('runs an image from the table: the nginx stand-in serves a page on $HOST:$PORT', async () => {
    const runtime = newRuntime();
    const host = randomLoopbackSubnet().address(2);
    const port = await freePort(host);
    const record = await runtime.start(launch([], { image: 'nginx', command: undefined, env: { HOST: host, PORT: String(port), POD_NAME: 'web-1' } }));
    const body = await waitFor('page', async () => {
      const response = await fetch(`http://${host}:${port}/`).catch(() => undefined);
      return response?.ok ? response.text() : undefined;
    });
    assert.match(body, /Welcome to nginx!/);
    assert.match(body, /web-1/);
    await runtime.stop(record.id, 5000);
  });

  it('refuses an unknown image with no command as an image pull error', () => {
    const runtime = newRuntime();
    assert.throws(() => runtime.imageIdOf({ image: 'example.com/unknown:1' }), ImagePullError);
  });

  it('runs exec commands with the container environment', async () => {
    const runtime = newRuntime();
    const record = await runtime.start(launch(['/bin/sh', '-c', 'sleep 30'], { env: { SECRET_WORD: 'swordfish' } }));
    const result = await runtime.exec(record.id, ['/bin/sh', '-c', 'echo $SECRET_WORD; exit 4'], 2000);
    assert.deepEqual(result, { exitCode: 4, output: 'swordfish\n' });
    await runtime.stop(record.id, 0);
  });

  it('adopts a running container after a restart and notices when it exits', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'skiff-runtime-'));
    const first = newRuntime(stateDir);
    const record = await first.start(launch(['/bin/sh', '-c', 'sleep 1; exit 7']));
    await first.close();
    const second = newRuntime(stateDir);
    const adopted = second.container(record.id);
    assert.equal(adopted?.pid, record.pid);
    assert.equal(adopted?.exit, undefined);
    const exited = await waitFor('adopted exit', () => second.container(record.id)?.exit, { timeoutMs: 10_000 });
    assert.equal(exited.exitCode, 7);
  });

  it('kills the recorded containers of a node whose agent is gone', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'skiff-runtime-'));
    const runtime = newRuntime(stateDir);
    const record = await runtime.start(launch(['/bin/sh', '-c', 'sleep 60']));
    await runtime.close();
    assert.equal(killRecordedContainers(stateDir), 1);
    await waitFor('gone', () => {
      try {
        process.kill(record.pid ?? 0, 0);
        return false;
      } catch {
        return true;
      }
    });
  });

  it('records who its process is, and never signals a PID that now names another process', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'skiff-runtime-'));
    const first = newRuntime(stateDir);
    const record = await first.start(launch(['/bin/sh', '-c', 'sleep 60']));
    const recorded = JSON.parse(readFileSync(join(stateDir, 'containers.json'), 'utf8')).containers[0];
    assert.deepEqual(recorded.processIdentity, processIdentity(record.pid ?? 0));
    await first.stop(record.id, 0);
    await first.close();

    // A stranger now holds a PID the state dir names (as after a reboot or a long pause): the
    // record claims this test's own `sleep`, with the start time of the process it once was.
    const stranger = spawn('/bin/sh', ['-c', 'sleep 60'], { detached: true, stdio: 'ignore' });
    after(() => stranger.kill('SIGKILL'));
    const stale = {
      ...recorded,
      id: 'stale',
      pid: stranger.pid,
      exit: undefined,
      processIdentity: { ...recorded.processIdentity, startTicks: '1' },
    };
    writeFileSync(join(stateDir, 'containers.json'), JSON.stringify({ containers: [stale] }));
    assert.equal(killRecordedContainers(stateDir), 0, 'the host clean-up leaves the stranger alone');
    const second = newRuntime(stateDir);
    const stopped = await second.stop('stale', 0);
    assert.match(stopped?.exit?.message ?? '', /ended while no agent watched it/);
    assert.equal(stranger.exitCode, null);
    assert.equal(stranger.signalCode, null);
    process.kill(stranger.pid ?? 0, 0);
  });
});

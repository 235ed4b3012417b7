import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadImageTable } from '../../../node-agent/images.ts';
import { type KubeletServer, startKubeletServer } from '../../../node-agent/kubelet-server.ts';
import { killRecordedContainers, ProcessRuntime } from '../../../node-agent/runtime/process-runtime.ts';
import type { ContainerRecord } from '../../../node-agent/runtime/runtime.ts';
import { waitFor } from '../../support/wait.ts';

const stateDir = mkdtempSync(join(tmpdir(), 'skiff-kubelet-'));
const runtime = new ProcessRuntime({ stateDir, images: loadImageTable() });
const token = 'node-token';
let server: KubeletServer;
const slots: { current?: ContainerRecord; previous?: ContainerRecord } = {};
const pod = { namespace: 'default', name: 'logger', uid: 'uid-logger' };

before(async () => {
  server = await startKubeletServer({
    address: '127.0.0.1',
    port: 0,
    token,
    followPollMs: 50,
    logs: {
      find: (namespace, name) =>
        namespace === 'default' && name === 'logger'
          ? {
              containerNames: ['app'],
              record: (_container, previous) => (previous ? slots.previous : slots.current),
              refresh: (id) => runtime.container(id),
              waitingReason: () => 'ContainerCreating',
            }
          : undefined,
    },
  });
});

after(async () => {
  await server.close();
  await runtime.close();
  killRecordedContainers(stateDir);
  rmSync(stateDir, { recursive: true, force: true });
});

async function get(path: string, auth = token): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://127.0.0.1:${server.port}${path}`, { headers: { authorization: `Bearer ${auth}` } });
  return { status: response.status, body: await response.text() };
}

describe('kubelet log API', () => {
  it('refuses a request without the node token', async () => {
    assert.equal((await get('/containerLogs/default/logger/app', 'wrong')).status, 401);
  });

  it('says the container is waiting when it has not started yet', async () => {
    const { status, body } = await get('/containerLogs/default/logger/app');
    assert.equal(status, 400);
    assert.match(body, /is waiting to start: ContainerCreating/);
  });

  it('answers 404 for a pod that is not on this node and for a missing previous run', async () => {
    assert.equal((await get('/containerLogs/default/other/app')).status, 404);
    const previous = await get('/containerLogs/default/logger/app?previous=true');
    assert.equal(previous.status, 404);
    assert.match(previous.body, /previous terminated container "app" in pod "logger" not found/);
  });

  it('serves the whole log, the last lines with tailLines, and the previous run', async () => {
    const first = await runtime.start({ pod, containerName: 'app', attempt: 0, image: 'busybox', command: ['/bin/sh', '-c', 'echo run-0'], env: {} });
    await waitFor('first exit', () => runtime.container(first.id)?.exit);
    const second = await runtime.start({
      pod,
      containerName: 'app',
      attempt: 1,
      image: 'busybox',
      command: ['/bin/sh', '-c', 'for i in 1 2 3 4 5; do echo line-$i; done'],
      env: {},
    });
    await waitFor('second exit', () => runtime.container(second.id)?.exit);
    slots.previous = runtime.container(first.id);
    slots.current = runtime.container(second.id);
    assert.equal((await get('/containerLogs/default/logger/app')).body, 'line-1\nline-2\nline-3\nline-4\nline-5\n');
    assert.equal((await get('/containerLogs/default/logger/app?tailLines=2')).body, 'line-4\nline-5\n');
    assert.equal((await get('/containerLogs/default/logger/app?tailLines=0')).body, '');
    assert.equal((await get('/containerLogs/default/logger/app?previous=true')).body, 'run-0\n');
    assert.equal((await get('/containerLogs/default/logger/app?limitBytes=9')).body, 'line-1\nli');
    assert.match((await get('/containerLogs/default/logger/app?tailLines=1&timestamps=true')).body, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z line-5\n$/);
  });

  it('follows a running container until it exits', async () => {
    const record = await runtime.start({
      pod,
      containerName: 'app',
      attempt: 2,
      image: 'busybox',
      command: ['/bin/sh', '-c', 'echo start; sleep 0.5; echo middle; sleep 0.5; echo end'],
      env: {},
    });
    slots.current = record;
    const { status, body } = await get('/containerLogs/default/logger/app?follow=true');
    assert.equal(status, 200);
    assert.equal(body, 'start\nmiddle\nend\n');
  });
});

/**
 * The local host's supervisor, end to end: a killed node agent is started again and its pods
 * carry on (same container, no restart, still serving); a killed DynamoDB Local makes /readyz
 * fail and the host says so; a killed host takes its agents and DynamoDB Local with it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repositoryRoot } from '../../functions/local/host.ts';
import { startTestCluster, type TestCluster } from '../support/cluster.ts';
import { rawRequest } from '../support/raw-https.ts';
import { waitFor } from '../support/wait.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

/** Processes whose command line holds every one of `parts`. */
function processesWith(...parts: string[]): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        return parts.every((part) => command.includes(part));
      } catch {
        return false;
      }
    })
    .map(Number);
}

function httpGet(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const outgoing = request({ host, port, path: '/', timeout: 3000, agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve(body));
    });
    outgoing.on('timeout', () => outgoing.destroy(new Error('timeout')));
    outgoing.on('error', reject);
    outgoing.end();
  });
}

describe('the local host supervises its children', { timeout: 240_000 }, () => {
  let cluster: TestCluster;
  const reports: string[] = [];
  before(async () => {
    cluster = await startTestCluster({ nodes: 1, ownDynamoDb: true, onReport: (message) => reports.push(message) });
  });
  after(() => cluster?.stop());

  const podField = (path: string) => cluster.kubectlOk(['get', 'pod', 'web', '-o', `jsonpath={${path}}`]);

  it('starts a killed agent again, and its pod keeps running the same container', async () => {
    await cluster.kubectlOk(['run', 'web', '--image=nginx']);
    await waitFor('web running and ready', async () => (await podField('.status.containerStatuses[0].ready')) === 'true' || undefined, {
      timeoutMs: 60_000,
      intervalMs: 500,
    });
    const containerId = await podField('.status.containerStatuses[0].containerID');
    const podIP = await podField('.status.podIP');
    assert.match(await httpGet(podIP, 80), /Welcome to nginx!/);

    const [node] = cluster.local.nodeNames as [string];
    const firstAgent = cluster.local.agentPid(node) ?? 0;
    cluster.local.killAgent(node, 'SIGKILL');
    await waitFor('the agent started again', () => {
      const pid = cluster.local.agentPid(node);
      return pid !== undefined && pid !== firstAgent && cluster.local.agentRestarts(node) === 1;
    });
    assert.equal(alive(firstAgent), false);
    assert.ok(
      reports.some((line) => line.includes(`node agent ${node} was killed by SIGKILL; restarting it`)),
      reports.join('\n'),
    );

    // The new agent serves this pod's log: it adopted the container rather than starting another.
    await waitFor('the log through the new agent', async () => (await cluster.kubectl(['logs', 'web'])).code === 0 || undefined, {
      timeoutMs: 30_000,
      intervalMs: 500,
    });
    assert.equal(await podField('.status.containerStatuses[0].containerID'), containerId);
    assert.equal(await podField('.status.containerStatuses[0].restartCount'), '0');
    assert.equal(await podField('.status.phase'), 'Running');
    assert.match(await httpGet(podIP, 80), /Welcome to nginx!/);
  });

  it("serves a stopped container's log until its pod is gone, and passes limitBytes through", async () => {
    // A container that takes a few seconds to stop, saying so in its log.
    await cluster.kubectlOk([
      'run',
      'replaced',
      '--image=busybox',
      '--command',
      '--',
      '/bin/sh',
      '-c',
      'trap "echo stopping; sleep 3; echo stopped; exit 0" TERM; echo started; while :; do sleep 1; done',
    ]);
    await waitFor('replaced running', async () => (await cluster.kubectl(['logs', 'replaced'])).stdout.includes('started') || undefined, {
      timeoutMs: 60_000,
      intervalMs: 500,
    });
    assert.equal(await cluster.kubectlOk(['logs', 'replaced', '--limit-bytes=3']), 'sta');
    await cluster.kubectlOk(['delete', 'pod', 'replaced', '--wait=false']);
    const answers: string[] = [];
    await waitFor(
      'the pod to be gone',
      async () => {
        const result = await cluster.kubectl(['logs', 'replaced']);
        answers.push(result.code === 0 ? result.stdout : result.stderr);
        return (result.code !== 0 && /pods? "replaced" not found/.test(result.stderr)) || undefined;
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    assert.ok(!answers.some((answer) => answer.includes('previous terminated container')), answers.join('\n---\n'));
    assert.ok(
      answers.some((answer) => answer.includes('stopping')),
      'the log of the stopped container was served while the pod was terminating',
    );
  });

  it('fails /readyz and says so when DynamoDB Local dies', async () => {
    const ready = await rawRequest(cluster.local.server, { path: '/readyz' });
    assert.equal(ready.status, 200);
    assert.equal(ready.text, 'ok');
    const pid = cluster.local.dynamoDbPid ?? 0;
    assert.ok(alive(pid), 'this cluster runs its own DynamoDB Local');
    process.kill(pid, 'SIGKILL');
    const answer = await waitFor(
      '/readyz to fail',
      async () => {
        const response = await rawRequest(cluster.local.server, { path: '/readyz' });
        return response.status === 500 ? response : undefined;
      },
      { timeoutMs: 20_000 },
    );
    assert.match(answer.text, /\[-\]dynamodb failed: reason withheld\nreadyz check failed/);
    await waitFor('the host to say so', () => reports.some((line) => /DynamoDB Local killed by SIGKILL: the API is not ready/.test(line)));
    assert.equal((await rawRequest(cluster.local.server, { path: '/livez' })).status, 200, 'the process itself is alive');
  });
});

describe('a host killed with SIGKILL', { timeout: 180_000 }, () => {
  let dataDir: string;
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'skiff-host-kill-'));
  });
  after(() => rm(dataDir, { recursive: true, force: true }));

  it('takes its node agents and DynamoDB Local with it', async () => {
    const host = spawn(process.execPath, [join(repositoryRoot, 'bin', 'skiff.js'), 'up', '--data-dir', dataDir, '--port', '0', '--nodes', '1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    host.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    host.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      await waitFor('the host to be up', () => output.includes('Skiff is up'), { timeoutMs: 120_000, intervalMs: 200 });
      const agents = await waitFor('the agent process', () => {
        const found = processesWith('skiff.js', 'agent', join(dataDir, 'nodes', 'skiff-node-1'));
        return found.length > 0 ? found : undefined;
      });
      const dynamo = processesWith('SkiffDynamoDbLocal', join(dataDir, 'dynamodb'));
      assert.equal(dynamo.length, 1, 'DynamoDB Local of this host');
      host.kill('SIGKILL');
      await waitFor('the agent to stop', () => agents.every((pid) => !alive(pid)), { timeoutMs: 30_000 });
      await waitFor('DynamoDB Local to stop', () => dynamo.every((pid) => !alive(pid)), { timeoutMs: 30_000 });
    } finally {
      if (host.exitCode === null && host.signalCode === null) host.kill('SIGKILL');
    }
  });
});

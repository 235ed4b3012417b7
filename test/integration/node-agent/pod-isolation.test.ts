/**
 * Pods as processes, honestly: a clean environment, a HOME of their own, their own user when
 * the agent is root (and still binding port 80), no way into the agent's state, volumes as
 * directories at rewritten mount paths.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadImageTable } from '../../../node-agent/images.ts';
import { podUid } from '../../../node-agent/runtime/process-isolation.ts';
import { killRecordedContainers, ProcessRuntime } from '../../../node-agent/runtime/process-runtime.ts';
import { ContainerConfigError, type ContainerLaunch } from '../../../node-agent/runtime/runtime.ts';
import { randomLoopbackSubnet } from '../../support/loopback.ts';
import { waitFor } from '../../support/wait.ts';

const root = process.getuid?.() === 0;
const stateDir = mkdtempSync(join(tmpdir(), 'skiff-isolation-'));
const podsDir = mkdtempSync(join(tmpdir(), 'skiff-isolation-pods-'));
const runtime = new ProcessRuntime({ stateDir, images: loadImageTable(), podsDir });
// Something secret the agent keeps: a pod must not read it.
writeFileSync(join(stateDir, 'tokens.json'), '{"admin":"do-not-leak"}', { mode: 0o600 });

after(async () => {
  await runtime.close();
  killRecordedContainers(stateDir);
  rmSync(stateDir, { recursive: true, force: true });
  rmSync(podsDir, { recursive: true, force: true });
});

function launch(name: string, script: string, overrides: Partial<ContainerLaunch> = {}): ContainerLaunch {
  return {
    pod: { namespace: 'default', name, uid: `uid-${name}` },
    containerName: 'c',
    attempt: 0,
    image: 'busybox',
    command: ['/bin/sh', '-c', script],
    env: { GIVEN: 'by-the-pod' },
    podIP: randomLoopbackSubnet().address(2),
    ...overrides,
  };
}

async function output(record: { id: string; logPath?: string }): Promise<string> {
  await waitFor('the container to finish', () => runtime.container(record.id)?.exit, { timeoutMs: 20_000 });
  return readFileSync(record.logPath ?? '', 'utf8');
}

describe('a pod as a process', () => {
  it('gets a clean environment: what the pod gives, PATH, its own HOME and TMPDIR, nothing of the agent', async () => {
    process.env.SKIFF_AGENT_ONLY = 'agent-secret';
    const record = await runtime.start(launch('env', 'env | sort'));
    delete process.env.SKIFF_AGENT_ONLY;
    const variables = Object.fromEntries(
      (await output(record))
        .trim()
        .split('\n')
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
    assert.equal(variables.GIVEN, 'by-the-pod');
    assert.equal(variables.SKIFF_AGENT_ONLY, undefined);
    assert.ok(variables.HOME?.startsWith(join(podsDir, 'uid-env')), variables.HOME);
    assert.ok(variables.TMPDIR?.startsWith(join(podsDir, 'uid-env')), variables.TMPDIR);
    assert.match(variables.PATH ?? '', /\/usr\/bin/);
    const unexpected = Object.keys(variables).filter((name) => !['GIVEN', 'HOME', 'TMPDIR', 'PATH', 'PWD', 'SHLVL', '_', 'OLDPWD'].includes(name));
    assert.deepEqual(unexpected, [], 'only what a container would have');
  });

  it("finds nothing of the user in $HOME/.ssh, and cannot read the agent's state", async () => {
    const record = await runtime.start(
      launch('peek', `ls -A "$HOME"; ls "$HOME/.ssh" 2>&1; cat ${join(stateDir, 'tokens.json')} 2>&1; ls ${stateDir} 2>&1; echo done`),
    );
    const text = await output(record);
    assert.doesNotMatch(text, /do-not-leak/);
    assert.match(text, /\.ssh'?: No such file or directory/);
    if (root) assert.match(text, /Permission denied/);
    assert.match(text, /done\n$/);
  });

  it('runs as its own user when the agent is root, still able to bind port 80', { skip: !root && 'the agent is not root here' }, async () => {
    const podIP = randomLoopbackSubnet().address(2);
    const record = await runtime.start(
      launch(
        'user',
        `id -u; id -G; ${JSON.stringify(process.execPath)} -e "require('net').createServer().listen(80, '${podIP}', function () { console.log('bound 80'); this.close() })"`,
        {
          podIP,
        },
      ),
    );
    const [uid, groups, bound] = (await output(record)).trim().split('\n');
    assert.equal(Number(uid), podUid(podIP));
    assert.equal(groups, String(podUid(podIP)), 'no supplementary groups');
    assert.equal(bound, 'bound 80');
  });

  it('honours runAsUser and refuses runAsUser 0', { skip: !root && 'the agent is not root here' }, async () => {
    const record = await runtime.start(
      launch('as-user', 'id -u; id -g', { security: { runAsUser: 4321, supplementalGroups: [], addCapabilities: [], dropCapabilities: [] } }),
    );
    assert.equal((await output(record)).trim(), '4321\n4321');
    await assert.rejects(
      runtime.start(launch('as-root', 'id -u', { security: { runAsUser: 0, supplementalGroups: [], addCapabilities: [], dropCapabilities: [] } })),
      ContainerConfigError,
    );
  });

  it('sees its volumes at their mount paths, rewritten in its command', async () => {
    const record = await runtime.start(
      launch('volumes', 'cat /etc/app/greeting; echo written > /scratch/out.txt; cat /scratch/out.txt; echo "$SKIFF_MOUNT_1"', {
        volumes: [
          { name: 'config', source: { kind: 'files', files: [{ path: 'greeting', content: Buffer.from('hello from a ConfigMap\n'), mode: 0o644 }] } },
          { name: 'scratch', source: { kind: 'emptyDir' } },
        ],
        mounts: [
          { volume: 'config', mountPath: '/etc/app', readOnly: true },
          { volume: 'scratch', mountPath: '/scratch', readOnly: false },
        ],
      }),
    );
    const lines = (await output(record)).trim().split('\n');
    assert.equal(lines[0], 'hello from a ConfigMap');
    assert.equal(lines[1], 'written');
    assert.equal(lines[2], `/etc/app=${join(podsDir, 'uid-volumes', 'volumes', 'config')}`);
  });
});

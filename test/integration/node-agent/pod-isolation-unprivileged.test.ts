/**
 * A node agent run by an ordinary user (docs/adr/085): its pods run as that same user, so
 * permissions cannot keep them out of the agent's files. They must find the data dir, the agent's
 * state and the user's credential folders empty all the same, see what the pod is given (its own
 * directories, a hostPath volume even inside the data dir), and be unable to uncover the rest.
 *
 * The agent is a child process in a user namespace where it is uid 65534, not root: the path an
 * ordinary user's `npm start` takes, on a machine where tests run as root.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { ContainerLaunch } from '../../../node-agent/runtime/runtime.ts';
import { randomLoopbackSubnet } from '../../support/loopback.ts';

const unprivileged = ['--user', '--map-user=65534', '--map-group=65534', '--'];
const unavailable = spawnSync('unshare', [...unprivileged, 'true']).status !== 0;
const skip = unavailable && 'this machine does not let a process make a user namespace (unshare --user fails), so no agent can run here as an ordinary user';

const scratch = mkdtempSync(join(tmpdir(), 'skiff-unprivileged-'));
const dataDir = join(scratch, 'data');
const stateDir = join(dataDir, 'nodes', 'n1');
const home = join(scratch, 'home');
const shared = join(dataDir, 'shared');
mkdirSync(stateDir, { recursive: true });
mkdirSync(join(home, '.ssh'), { recursive: true });
mkdirSync(shared, { recursive: true });
writeFileSync(join(stateDir, 'containers-secret.json'), '{"agent":"state-do-not-leak"}', { mode: 0o600 });
writeFileSync(join(dataDir, 'tokens.json'), '{"admin":"token-do-not-leak"}', { mode: 0o600 });
writeFileSync(join(home, '.ssh', 'id_ed25519'), 'key-do-not-leak', { mode: 0o600 });
writeFileSync(join(shared, 'given.txt'), 'given by hostPath\n');
// The agent (uid 65534 in its namespace) is the owner of all this, as a user is of their files.
for (const dir of [scratch, dataDir, join(dataDir, 'nodes'), stateDir, home, join(home, '.ssh'), shared]) chmodSync(dir, 0o700);

after(() => rmSync(scratch, { recursive: true, force: true }));

async function runAsOrdinaryUser(
  script: string,
  exec: readonly string[],
): Promise<{ uid: number; output: string; exec: { exitCode: number; output: string } }> {
  const launch: ContainerLaunch = {
    pod: { namespace: 'default', name: 'peek', uid: 'uid-peek' },
    containerName: 'c',
    attempt: 0,
    image: 'busybox',
    command: ['/bin/sh', '-c', script],
    env: {},
    podIP: randomLoopbackSubnet().address(2),
    volumes: [{ name: 'shared', source: { kind: 'hostPath', path: shared } }],
    mounts: [{ volume: 'shared', mountPath: '/shared', readOnly: true }],
  };
  const request = { stateDir, podsDir: join(scratch, 'pods'), hiddenPaths: [dataDir, join(home, '.ssh')], launch, exec };
  const { stdout } = await promisify(execFile)(
    'unshare',
    [
      ...unprivileged,
      process.execPath,
      '--import',
      'tsx',
      join(import.meta.dirname, '..', '..', 'support', 'unprivileged-runtime.ts'),
      JSON.stringify(request),
    ],
    { timeout: 60_000 },
  );
  return JSON.parse(stdout);
}

describe('pods of an agent that is not root', { skip }, () => {
  it('find the data dir, the agent state and the credential folders empty, see what they are given, and cannot uncover the rest', async () => {
    const script = [
      'id -u',
      `cat ${join(dataDir, 'tokens.json')} 2>&1`,
      `cat ${join(stateDir, 'containers-secret.json')} 2>&1`,
      `ls -A ${join(home, '.ssh')}; echo "ssh listed"`,
      'cat /shared/given.txt',
      'echo mine > "$HOME/own.txt" && cat "$HOME/own.txt"',
      `umount ${dataDir} 2>&1 || echo "umount refused"`,
      `cat ${join(dataDir, 'tokens.json')} 2>&1`,
      'touch "$HOME/ready"; while [ ! -e "$HOME/exec-done" ]; do sleep 0.05; done',
      'echo done',
    ].join('\n');
    const result = await runAsOrdinaryUser(script, ['/bin/sh', '-c', `cat ${join(dataDir, 'tokens.json')} 2>&1; touch "$HOME/exec-done"`]);
    assert.equal(result.uid, 65534, 'the agent itself is not root');
    const lines = result.output.trim().split('\n');
    assert.equal(lines[0], '65534', 'the pod runs as the agent user');
    assert.doesNotMatch(result.output, /do-not-leak/);
    assert.match(lines[1] ?? '', /tokens\.json: No such file or directory/);
    assert.match(lines[2] ?? '', /containers-secret\.json: No such file or directory/);
    assert.equal(lines[3], 'ssh listed', 'the credential folder is there, and empty');
    assert.equal(lines[4], 'given by hostPath');
    assert.equal(lines[5], 'mine');
    assert.match(result.output, /umount refused/);
    assert.match(lines.at(-1) ?? '', /^done$/);
    assert.doesNotMatch(result.exec.output, /do-not-leak/, 'an exec in the container sees what the container sees');
    assert.match(result.exec.output, /tokens\.json: No such file or directory/);
  });
});

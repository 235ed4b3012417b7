import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { hidingArgv, launchArgv, podUid, podUidBase, runAsFor } from '../../../../node-agent/runtime/process-isolation.ts';
import { ContainerConfigError, type SecuritySpec } from '../../../../node-agent/runtime/runtime.ts';

const root = { uid: 0, gid: 0 };
const user = { uid: 1000, gid: 1000 };
const spec = (fields: Partial<SecuritySpec> = {}): SecuritySpec => ({ supplementalGroups: [], addCapabilities: [], dropCapabilities: [], ...fields });
const refused = (message: RegExp) => (error: unknown) => error instanceof ContainerConfigError && message.test(error.message);

describe('who a pod runs as', () => {
  it('gives each pod address its own uid, the same for the same address', () => {
    assert.equal(podUid('127.64.1.2'), podUid('127.64.1.2'));
    assert.notEqual(podUid('127.64.1.2'), podUid('127.64.1.3'));
    assert.notEqual(podUid('127.64.1.2'), podUid('127.65.1.2'));
    assert.ok(podUid('127.64.1.2') >= podUidBase);
  });

  it('runs a pod as its own user, keeping only NET_BIND_SERVICE, when the agent is root', () => {
    assert.deepEqual(runAsFor(spec(), '127.64.1.2', root), {
      uid: podUid('127.64.1.2'),
      gid: podUid('127.64.1.2'),
      groups: [],
      capabilities: ['net_bind_service'],
    });
  });

  it('honours runAsUser, runAsGroup, supplementalGroups and fsGroup when root, and drops NET_BIND_SERVICE with ALL', () => {
    assert.deepEqual(
      runAsFor(spec({ runAsUser: 1001, runAsGroup: 2002, supplementalGroups: [3003], fsGroup: 4004, dropCapabilities: ['ALL'] }), '127.64.1.2', root),
      {
        uid: 1001,
        gid: 2002,
        groups: [3003, 4004],
        capabilities: [],
      },
    );
  });

  it('never runs a pod as root, and says why as the kubelet does', () => {
    assert.throws(() => runAsFor(spec({ runAsUser: 0 }), '127.64.1.2', root), refused(/runAsUser 0/));
    assert.throws(
      () => runAsFor(spec({ runAsUser: 0, runAsNonRoot: true }), '127.64.1.2', root),
      refused(/container has runAsNonRoot and image will run as root/),
    );
    assert.throws(() => runAsFor(spec({ privileged: true }), '127.64.1.2', root), refused(/privileged/));
    assert.throws(() => runAsFor(spec({ addCapabilities: ['SYS_ADMIN'] }), '127.64.1.2', root), refused(/only NET_BIND_SERVICE/));
  });

  it("runs pods as the agent's own user when it is not root, refusing another user", () => {
    assert.deepEqual(runAsFor(spec(), '127.64.1.2', user), { uid: 1000, gid: 1000, groups: [], capabilities: [] });
    assert.deepEqual(runAsFor(spec({ runAsUser: 1000 }), '127.64.1.2', user).uid, 1000);
    assert.throws(() => runAsFor(spec({ runAsUser: 1001 }), '127.64.1.2', user), refused(/does not run as root/));
  });

  it('starts the program through setpriv: its user, its groups, one capability, no new privileges', () => {
    const argv = launchArgv(['/bin/app', '--flag'], { uid: 1001, gid: 2002, groups: [3003], capabilities: ['net_bind_service'] }, root);
    assert.deepEqual(argv.slice(1), [
      '--reuid',
      '1001',
      '--regid',
      '2002',
      '--groups',
      '3003',
      '--inh-caps',
      '-all,+net_bind_service',
      '--ambient-caps',
      '-all,+net_bind_service',
      '--bounding-set',
      '-all,+net_bind_service',
      '--no-new-privs',
      '--',
      '/bin/app',
      '--flag',
    ]);
    assert.match(argv[0] ?? '', /setpriv$/);
    assert.deepEqual(launchArgv(['/bin/app'], { uid: 1000, gid: 1000, groups: [], capabilities: [] }, user).slice(1), ['--no-new-privs', '--', '/bin/app']);
  });
});

describe('what a pod of an agent that is not root does not see', () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-view-'));
  const data = join(dir, "it's data");
  const state = join(data, 'nodes', 'n1');
  const volume = join(data, 'shared');
  const inner = join(volume, 'inner');
  const outside = join(dir, 'pods');
  for (const path of [state, inner, outside]) mkdirSync(path, { recursive: true });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('covers the outermost hidden folders that exist and binds back only what lies under them', () => {
    const argv = hidingArgv(
      ['setpriv', '--no-new-privs', '--', '/bin/app'],
      { hide: [state, data, join(dir, 'missing')], keep: [outside, volume, inner] },
      user,
    );
    assert.deepEqual(argv.slice(1, 6), ['--user', '--map-root-user', '--mount', '--', '/bin/sh']);
    assert.deepEqual(argv.slice(-5), ['skiff-view', 'setpriv', '--no-new-privs', '--', '/bin/app']);
    const quoted = `'${data.replaceAll("'", "'\\''")}'`;
    const quotedVolume = `'${volume.replaceAll("'", "'\\''")}'`;
    assert.deepEqual((argv[7] ?? '').split('\n'), [
      'set -e',
      'start=$PWD',
      `exec 3<${quotedVolume}`,
      `mount -t tmpfs -o mode=0755,size=64k skiff-hidden ${quoted}`,
      `mkdir -p ${quotedVolume}`,
      `mount --no-canonicalize --bind /proc/self/fd/3 ${quotedVolume}`,
      'exec 3<&-',
      'cd "$start"',
      `exec '${argv[0]}' --user --map-user=1000 --map-group=1000 -- "$@"`,
    ]);
  });

  it('refuses more kept folders under hidden ones than the shell has descriptors for', () => {
    const many = Array.from({ length: 8 }, (_, index) => join(data, `v${index}`));
    for (const path of many) mkdirSync(path, { recursive: true });
    assert.throws(() => hidingArgv(['/bin/app'], { hide: [data], keep: many }, user), refused(/at most 7 hostPath volumes/));
  });

  it('is used only when the agent is not root and there is something to hide', () => {
    const runAs = { uid: 1000, gid: 1000, groups: [], capabilities: [] };
    assert.match(launchArgv(['/bin/app'], runAs, root, { hide: [data], keep: [] })[0] ?? '', /setpriv$/);
    assert.match(launchArgv(['/bin/app'], runAs, user, { hide: [], keep: [] })[0] ?? '', /setpriv$/);
  });
});

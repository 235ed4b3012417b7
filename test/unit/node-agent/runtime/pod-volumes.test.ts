import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { materializeVolumes, mountVariables, resolveMounts, rewriteMountPaths, writeAtomically } from '../../../../node-agent/runtime/pod-volumes.ts';
import { ContainerConfigError } from '../../../../node-agent/runtime/runtime.ts';

const dir = mkdtempSync(join(tmpdir(), 'skiff-volumes-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('mount paths rewritten to where the volume is', () => {
  const mounts = [
    { mountPath: '/data', hostPath: '/pods/u/volumes/data', readOnly: false },
    { mountPath: '/data/cache', hostPath: '/pods/u/volumes/cache', readOnly: false },
    { mountPath: '/etc/config/', hostPath: '/pods/u/volumes/config', readOnly: true },
  ];
  const cases: [string, string][] = [
    ['/data', '/pods/u/volumes/data'],
    ['/data/file.txt', '/pods/u/volumes/data/file.txt'],
    ['/data/cache/x', '/pods/u/volumes/cache/x'],
    ['--config=/etc/config/app.yaml', '--config=/pods/u/volumes/config/app.yaml'],
    ['cat /etc/config/a /data/b', 'cat /pods/u/volumes/config/a /pods/u/volumes/data/b'],
    ['sh -c \'cat "/data/x"\'', 'sh -c \'cat "/pods/u/volumes/data/x"\''],
    ['PATH=/bin:/data/bin', 'PATH=/bin:/pods/u/volumes/data/bin'],
    ['d=/data; cat $d/x', 'd=/pods/u/volumes/data; cat $d/x'],
    ['echo $(ls /data)|wc -l', 'echo $(ls /pods/u/volumes/data)|wc -l'],
    ['test -d /data&&echo', 'test -d /pods/u/volumes/data&&echo'],
    ['/database', '/database'],
    ['/srv/data', '/srv/data'],
    ['http://host/data', 'http://host/data'],
  ];
  for (const [text, rewritten] of cases) {
    it(`rewrites ${JSON.stringify(text)}`, () => assert.equal(rewriteMountPaths(text, mounts), rewritten));
  }

  it('names every mount in the environment', () => {
    assert.deepEqual(mountVariables(mounts.slice(0, 1)), { SKIFF_MOUNT_1: '/data=/pods/u/volumes/data' });
  });
});

describe('volumes as directories', () => {
  it('makes an emptyDir that keeps its content, and ConfigMap/Secret files with their modes, swapped in whole', () => {
    const volumesDir = join(dir, 'pod-a');
    const first = materializeVolumes(
      volumesDir,
      [
        { name: 'scratch', source: { kind: 'emptyDir' } },
        { name: 'config', source: { kind: 'files', files: [{ path: 'app.conf', content: Buffer.from('a=1\n'), mode: 0o644 }] } },
        { name: 'tls', source: { kind: 'files', files: [{ path: 'keys/tls.key', content: Buffer.from('secret'), mode: 0o400 }] } },
        { name: 'host', source: { kind: 'hostPath', path: '/etc/ssl' } },
      ],
      undefined,
    );
    assert.equal(first.get('host'), '/etc/ssl');
    writeFileSync(join(first.get('scratch') ?? '', 'kept.txt'), 'x');
    assert.equal(readFileSync(join(first.get('config') ?? '', 'app.conf'), 'utf8'), 'a=1\n');
    assert.equal(statSync(join(first.get('tls') ?? '', 'keys', 'tls.key')).mode & 0o777, 0o400);
    const again = materializeVolumes(
      volumesDir,
      [
        { name: 'scratch', source: { kind: 'emptyDir' } },
        { name: 'config', source: { kind: 'files', files: [{ path: 'app.conf', content: Buffer.from('a=2\n'), mode: 0o644 }] } },
      ],
      undefined,
    );
    assert.ok(existsSync(join(again.get('scratch') ?? '', 'kept.txt')), 'an emptyDir outlives a container restart');
    assert.equal(readFileSync(join(again.get('config') ?? '', 'app.conf'), 'utf8'), 'a=2\n');
    assert.ok(existsSync(join(volumesDir, 'tls', 'keys', 'tls.key')), 'a volume another container of the pod mounts is left alone');
  });

  it('refuses item paths and subPaths that leave their volume', () => {
    assert.throws(
      () =>
        materializeVolumes(
          join(dir, 'pod-b'),
          [{ name: 'c', source: { kind: 'files', files: [{ path: '../escape', content: Buffer.from('x'), mode: 0o644 }] } }],
          undefined,
        ),
      ContainerConfigError,
    );
    assert.throws(
      () => resolveMounts([{ volume: 'c', mountPath: '/c', subPath: '../../etc', readOnly: false }], new Map([['c', join(dir, 'c')]])),
      ContainerConfigError,
    );
    assert.deepEqual(resolveMounts([{ volume: 'c', mountPath: '/c', subPath: 'sub', readOnly: true }], new Map([['c', '/v/c']])), [
      { mountPath: '/c', hostPath: '/v/c/sub', readOnly: true },
    ]);
  });
});

describe("the kubelet's atomic writer", () => {
  const file = (path: string, text: string, mode = 0o644) => ({ path, content: Buffer.from(text), mode });

  it('writes a timestamped payload, links ..data to it and each key to ..data/<key>, and swaps it whole on a change', () => {
    const volume = join(dir, 'atomic', 'config');
    assert.equal(writeAtomically(volume, [file('app.conf', 'a=1\n'), file('nested/deep.txt', 'd')], undefined), true);
    const first = readlinkSync(join(volume, '..data'));
    assert.match(first, /^\.\.\d{4}_\d{2}_\d{2}_\d{2}_\d{2}_\d{2}\.[0-9a-f]+$/);
    assert.ok(lstatSync(join(volume, 'app.conf')).isSymbolicLink());
    assert.equal(readlinkSync(join(volume, 'app.conf')), join('..data', 'app.conf'));
    assert.equal(readlinkSync(join(volume, 'nested')), join('..data', 'nested'));
    assert.equal(readFileSync(join(volume, 'nested', 'deep.txt'), 'utf8'), 'd');

    assert.equal(writeAtomically(volume, [file('app.conf', 'a=1\n'), file('nested/deep.txt', 'd')], undefined), false, 'the same payload is not written again');
    assert.equal(readlinkSync(join(volume, '..data')), first);

    assert.equal(writeAtomically(volume, [file('app.conf', 'a=2\n'), file('added', 'new', 0o600)], undefined), true);
    const second = readlinkSync(join(volume, '..data'));
    assert.notEqual(second, first);
    assert.equal(readFileSync(join(volume, 'app.conf'), 'utf8'), 'a=2\n');
    assert.equal(statSync(join(volume, 'added')).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(volume).sort(), ['..data', second, 'added', 'app.conf'].sort(), 'the old payload and the dropped key are gone');
    assert.equal(writeAtomically(volume, [file('app.conf', 'a=2\n'), file('added', 'new', 0o644)], undefined), true, 'a changed mode is a change');
  });

  it('replaces a directory of another layout', () => {
    const volume = join(dir, 'atomic', 'old');
    materializeVolumes(join(dir, 'atomic'), [{ name: 'old', source: { kind: 'emptyDir' } }], undefined);
    writeFileSync(join(volume, 'stale'), 'x');
    writeAtomically(volume, [file('k', 'v')], undefined);
    assert.deepEqual(
      readdirSync(volume).filter((name) => !name.startsWith('..')),
      ['k'],
    );
  });

  it('gives a subPath of a file volume as it was when the container started, as a subPath mount keeps it', () => {
    const volumes = join(dir, 'pinned');
    const paths = materializeVolumes(volumes, [{ name: 'cfg', source: { kind: 'files', files: [file('key', 'old')] } }], undefined);
    const mounts = resolveMounts([{ volume: 'cfg', mountPath: '/etc/key', subPath: 'key', readOnly: true }], paths, {
      dir: join(dir, 'pinned-subpaths'),
      volumes: new Set(['cfg']),
      owner: undefined,
    });
    writeAtomically(join(volumes, 'cfg'), [file('key', 'new')], undefined);
    assert.equal(readFileSync(join(volumes, 'cfg', 'key'), 'utf8'), 'new');
    assert.equal(readFileSync(mounts[0]?.hostPath ?? '', 'utf8'), 'old');
  });
});

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { materializeVolumes, mountVariables, resolveMounts, rewriteMountPaths } from '../../../../node-agent/runtime/pod-volumes.ts';
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

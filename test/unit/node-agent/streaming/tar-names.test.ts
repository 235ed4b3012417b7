import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tarNamesAsMounted } from '../../../../node-agent/runtime/process-exec.ts';

const mounts = [{ mountPath: '/data', hostPath: '/tmp/pods/uid-1/volumes/data' }];

describe('tar names of files under volumes (kubectl cp out of a pod)', () => {
  it('leaves commands alone that are not tar or whose arguments were not rewritten', () => {
    assert.deepEqual(tarNamesAsMounted(['cat', '/data/x'], ['cat', '/tmp/pods/uid-1/volumes/data/x'], mounts), ['cat', '/tmp/pods/uid-1/volumes/data/x']);
    assert.deepEqual(tarNamesAsMounted(['tar', 'cf', '-', '/etc/hosts'], ['tar', 'cf', '-', '/etc/hosts'], mounts), ['tar', 'cf', '-', '/etc/hosts']);
  });

  it('appends a transform per mount that names files by the path the pod sees', () => {
    assert.deepEqual(tarNamesAsMounted(['tar', 'cf', '-', '/data/x'], ['tar', 'cf', '-', '/tmp/pods/uid-1/volumes/data/x'], mounts), [
      'tar',
      'cf',
      '-',
      '/tmp/pods/uid-1/volumes/data/x',
      '--transform=s,^tmp/pods/uid-1/volumes/data,data,',
    ]);
  });

  it('makes GNU tar name the members as kubectl cp expects them', () => {
    const root = mkdtempSync(join(tmpdir(), 'skiff-tar-names-'));
    try {
      const volume = join(root, 'volumes', 'data.v1');
      mkdirSync(volume, { recursive: true });
      writeFileSync(join(volume, 'x.txt'), 'x');
      const argv = tarNamesAsMounted(['tar', 'cf', '-', '/data/x.txt'], ['tar', 'cf', '-', join(volume, 'x.txt')], [{ mountPath: '/data', hostPath: volume }]);
      const archive = execFileSync(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'ignore'] });
      const names = execFileSync('tar', ['tf', '-'], { input: archive }).toString().trim();
      assert.equal(names, 'data/x.txt');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

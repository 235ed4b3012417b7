import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ImageTableError, loadImageTable, normalizeImageName, parseImageTable, resolveImage } from '../../../node-agent/images.ts';

describe('normalizeImageName', () => {
  const table: [string, string][] = [
    ['nginx', 'nginx'],
    ['nginx:1.27', 'nginx:1.27'],
    ['docker.io/library/nginx:1.27', 'nginx:1.27'],
    ['docker.io/bitnami/nginx', 'bitnami/nginx'],
    ['nginx@sha256:abc', 'nginx'],
    ['registry.example.com:5000/team/app:v1', 'registry.example.com:5000/team/app:v1'],
  ];
  for (const [input, expected] of table) {
    it(`reads ${input} as ${expected}`, () => assert.equal(normalizeImageName(input), expected));
  }
});

describe('resolveImage', () => {
  const table = loadImageTable();

  it('runs the shipped nginx stand-in for nginx with or without a tag', () => {
    for (const image of ['nginx', 'nginx:1.27', 'docker.io/library/nginx:latest']) {
      const resolved = resolveImage(table, image, undefined, undefined);
      assert.ok(resolved, image);
      assert.equal(resolved.argv[0], process.execPath);
      assert.match(resolved.argv[1] ?? '', /stand-ins\/http-page-server\.mjs$/);
      assert.equal(resolved.env.SKIFF_PAGE_SERVER, 'nginx');
    }
  });

  it('tells httpd apart from nginx', () => {
    assert.equal(resolveImage(table, 'httpd:2.4', undefined, undefined)?.env.SKIFF_PAGE_SERVER, 'httpd');
  });

  it('runs the container command and args when the container has a command, whatever the image', () => {
    const resolved = resolveImage(table, 'unknown/image', ['/bin/echo'], ['hello']);
    assert.deepEqual(resolved?.argv, ['/bin/echo', 'hello']);
  });

  it('replaces the entry args with the container args (Docker CMD) but keeps the entry command', () => {
    const resolved = resolveImage(table, 'busybox', undefined, ['echo', 'hi']);
    assert.deepEqual(resolved?.argv, ['/bin/sh', '-c', 'while true; do sleep 3600; done', 'echo', 'hi']);
  });

  it('cannot run an unknown image without a command', () => {
    assert.equal(resolveImage(table, 'example.com/nothing:1', undefined, undefined), undefined);
  });

  it('gives the same image the same imageID and different images different ones', () => {
    const a = resolveImage(table, 'nginx:1', undefined, undefined)?.imageID;
    assert.equal(a, resolveImage(table, 'nginx:2', undefined, undefined)?.imageID.replace('nginx:2', 'nginx:1'));
    assert.notEqual(a, resolveImage(table, 'httpd', undefined, undefined)?.imageID);
    assert.match(a ?? '', /^nginx@sha256:[0-9a-f]{64}$/);
  });
});

describe('loadImageTable', () => {
  it('lays a user file over the shipped table', () => {
    const dir = mkdtempSync(join(tmpdir(), 'skiff-images-'));
    const file = join(dir, 'images.json');
    writeFileSync(file, JSON.stringify({ 'example.com/app': { command: ['/bin/true'] }, nginx: { command: ['/bin/false'] } }));
    const table = loadImageTable(file);
    assert.deepEqual(resolveImage(table, 'example.com/app:v2', undefined, undefined)?.argv, ['/bin/true']);
    assert.deepEqual(resolveImage(table, 'nginx', undefined, undefined)?.argv, ['/bin/false']);
    assert.ok(resolveImage(table, 'httpd', undefined, undefined));
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports a malformed entry with its name', () => {
    assert.throws(
      () => parseImageTable(JSON.stringify({ bad: { command: [] } }), 'user.json'),
      (error: unknown) => {
        assert.ok(error instanceof ImageTableError);
        assert.match(error.message, /user\.json: bad\.command/);
        return true;
      },
    );
  });
});

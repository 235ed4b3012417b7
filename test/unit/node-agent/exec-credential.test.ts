import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ExecCredentialError, ExecTokenSource, runExecCredential } from '../../../node-agent/exec-credential.ts';

const scratch = mkdtempSync(join(tmpdir(), 'skiff-exec-credential-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** A real plugin: a script that counts its runs and prints an ExecCredential (or what it is told). */
function plugin(name: string, body: string): string {
  const path = join(scratch, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

const config = (command: string, env: Record<string, string> = {}) => ({
  command,
  args: ['token', '--cluster-id', 'c1'],
  env,
  apiVersion: 'client.authentication.k8s.io/v1',
});

describe('exec credential plugins', () => {
  it('runs the plugin with its args, env and KUBERNETES_EXEC_INFO, and reads the token and expiry', async () => {
    const seen = join(scratch, 'seen');
    const command = plugin(
      'echo-plugin',
      `echo "$@|$GREETING|$KUBERNETES_EXEC_INFO" > ${seen}\necho '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"k8s-aws-v1.abc","expirationTimestamp":"2030-01-01T00:14:00Z"}}'`,
    );
    const result = await runExecCredential(config(command, { GREETING: 'hi' }));
    assert.equal(result.token, 'k8s-aws-v1.abc');
    assert.equal(result.expiresAt?.toISOString(), '2030-01-01T00:14:00.000Z');
    const [args, greeting, info] = readFileSync(seen, 'utf8').trim().split('|');
    assert.equal(args, 'token --cluster-id c1');
    assert.equal(greeting, 'hi');
    assert.deepEqual(JSON.parse(info ?? ''), { apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', spec: { interactive: false } });
  });

  it('reports a failing plugin with its stderr and a plugin that prints no credential', async () => {
    await assert.rejects(runExecCredential(config(plugin('fails', 'echo "no credentials found" >&2; exit 3'))), (error: unknown) => {
      return error instanceof ExecCredentialError && /no credentials found/.test(error.message);
    });
    await assert.rejects(runExecCredential(config(plugin('garbage', 'echo hello'))), ExecCredentialError);
  });

  it('caches the token until a minute before it expires, and runs the plugin again after a 401', async () => {
    const counter = join(scratch, 'count');
    writeFileSync(counter, '0');
    const command = plugin(
      'counting',
      `n=$(($(cat ${counter}) + 1)); echo $n > ${counter}\necho "{\\"kind\\":\\"ExecCredential\\",\\"status\\":{\\"token\\":\\"t$n\\",\\"expirationTimestamp\\":\\"2030-01-01T00:15:00Z\\"}}"`,
    );
    let now = Date.parse('2030-01-01T00:00:00Z');
    const source = new ExecTokenSource(config(command), () => now);
    assert.deepEqual(await Promise.all([source.token(), source.token()]), ['t1', 't1'], 'one run for concurrent callers');
    now = Date.parse('2030-01-01T00:13:30Z');
    assert.equal(await source.token(), 't1');
    now = Date.parse('2030-01-01T00:14:30Z');
    assert.equal(await source.token(), 't2', 'within a minute of expiry: a fresh token');
    source.invalidate();
    assert.equal(await source.token(), 't3');
  });
});

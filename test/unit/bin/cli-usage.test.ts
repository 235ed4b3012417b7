/**
 * `skiff` (and so `npm start -- ...`) answers `--help` with its usage and a flag it does not know
 * with the problem, the usage and exit code 2, before it starts anything.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const skiff = fileURLToPath(new URL('../../../bin/skiff.js', import.meta.url));

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [skiff, ...args], { timeout: 30_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
    );
  });
}

describe('skiff usage', () => {
  for (const args of [['up', '--help'], ['up', '-h'], ['kubeconfig', '--help'], ['help']]) {
    it(`prints the usage for ${args.join(' ')} and exits 0`, async () => {
      const result = await run(args);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^Usage:\n {2}skiff up \[--port 6443\]/);
    });
  }

  it('leaves agent --help to the agent, which prints its own usage', async () => {
    const result = await run(['agent', '--help']);
    assert.match(result.stderr, /--runtime process\|sim\|ecs/);
  });

  for (const [args, problem] of [
    [['up', '--bogus'], /^skiff: Unknown option '--bogus'/],
    [['up', '--port'], /^skiff: Option '--port <value>' argument missing/],
  ] as const) {
    it(`refuses ${args.join(' ')} with the problem, the usage and exit code 2`, async () => {
      const result = await run([args[0], '--data-dir', '/nonexistent/never-made', ...args.slice(1)]);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, problem);
      assert.match(result.stderr, /\nUsage:\n/);
    });
  }
});

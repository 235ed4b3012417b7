/**
 * `npm test`: the type-check and the linter, then one in-memory DynamoDB Local for the whole
 * run and every `*.test.ts` of test/unit, test/integration, test/e2e and test/cdk, suite by
 * suite, with Node's test runner. Exits non-zero when any step fails.
 *
 *   npm test                      # everything
 *   npm test -- unit integration  # only these steps (typecheck, lint, unit, integration, e2e, cdk, bench)
 *
 * Last comes the quick benchmark (`npm run bench -- --quick`), so the bench cannot rot: it fails
 * only when a scenario fails or a figure is missing, never on a figure's value.
 */
import { spawn } from 'node:child_process';
import { readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDynamoDbLocal } from '../functions/local/dynamodb-local.ts';
import { cacheDir, endpointVariable } from './support/dynamodb.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

interface Suite {
  readonly name: string;
  /** Files run one at a time: they start servers and share DynamoDB Local. */
  readonly serial: boolean;
  /**
   * Each cluster starts a DynamoDB Local of its own instead of sharing the run's. DynamoDB Local
   * slows down as stream records pile up across its tables (every write, every stream read), and
   * each e2e cluster leaves thousands: on the shared one the suite's last files ran several times
   * slower than alone, and a Job that completes in 7 s timed out at 120 s.
   */
  readonly ownDynamoDb?: boolean;
}

const suites: readonly Suite[] = [
  { name: 'unit', serial: false },
  { name: 'integration', serial: true },
  { name: 'e2e', serial: true, ownDynamoDb: true },
  { name: 'cdk', serial: false },
];

interface Outcome {
  readonly suite: string;
  readonly files: number;
  readonly passed: boolean;
  readonly pass: number;
  readonly fail: number;
  /** Tests the runner skipped, each with the reason it printed (a tool this machine lacks). */
  readonly skipped?: number;
  /** The runner's own list of failing tests with their errors, shown again under the summary. */
  readonly failures?: readonly string[];
  readonly seconds?: number;
}

async function testFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.test.ts'))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

/** Runs one suite, passing its output through while counting the runner's closing totals. */
function runSuite(suite: Suite, files: readonly string[], env: NodeJS.ProcessEnv): Promise<Outcome> {
  const args = [
    '--import',
    'tsx',
    '--test',
    '--test-reporter=spec',
    // A hang guard, not a speed check. With one process per file the runner applies it to the whole
    // file too, and a file of a dozen cluster-level e2e tests can pass three minutes on a loaded machine.
    `--test-timeout=${suite.serial ? 900_000 : 180_000}`,
    ...(suite.serial ? ['--test-concurrency=1'] : []),
    ...files.map((file) => relative(root, file)),
  ];
  return new Promise((done) => {
    const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'] });
    running = child;
    // The spec reporter closes with "ℹ pass N" / "ℹ fail N" (the TAP one with "# pass N"), then
    // lists the failures again, which can be long: the totals are caught line by line as they pass.
    const totals = { pass: 0, fail: 0, skipped: 0 };
    const failures: string[] = [];
    const started = performance.now();
    let partial = '';
    child.stdout.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk);
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        const total = /^(?:ℹ|#) (pass|fail|skipped) (\d+)$/.exec(line);
        if (total) totals[total[1] as 'pass' | 'fail' | 'skipped'] = Number(total[2]);
        const listing = line === '✖ failing tests:' || (failures.length > 0 && failures.length < MAX_FAILURE_LINES);
        if (listing && !/^\s+at /.test(line)) failures.push(line);
      }
    });
    child.on('close', (code) => {
      running = undefined;
      done({ suite: suite.name, files: files.length, passed: code === 0, ...totals, failures, seconds: (performance.now() - started) / 1000 });
    });
  });
}

/** Enough of the failure list to read the first few errors at the end of a long CI log. */
const MAX_FAILURE_LINES = 150;

let running: ReturnType<typeof spawn> | undefined;

/** A whole-project check (type-check, lint): its output passes through, its exit code decides. */
function runCheck(name: string, command: string, args: readonly string[]): Promise<Outcome> {
  return new Promise((done) => {
    const child = spawn(command, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
    running = child;
    child.on('close', (code) => {
      running = undefined;
      done({ suite: name, files: 1, passed: code === 0, pass: code === 0 ? 1 : 0, fail: code === 0 ? 0 : 1 });
    });
  });
}

const checks: readonly { readonly name: string; readonly command: string; readonly args: readonly string[] }[] = [
  { name: 'typecheck', command: join(root, 'node_modules', '.bin', 'tsc'), args: ['--noEmit', '-p', 'tsconfig.json'] },
  { name: 'lint', command: join(root, 'node_modules', '.bin', 'biome'), args: ['check', '.'] },
];

async function main(): Promise<number> {
  const only = process.argv.slice(2);
  const selected = only.length > 0 ? suites.filter((suite) => only.includes(suite.name)) : suites;
  const outcomes: Outcome[] = [];
  for (const check of checks) {
    if (only.length > 0 && !only.includes(check.name)) continue;
    console.log(`\n=== ${check.name} ===`);
    outcomes.push(await runCheck(check.name, check.command, check.args));
  }
  if (selected.length === 0) return report([...outcomes, ...(await quickBench(only))]);

  console.log('\nstarting DynamoDB Local for the test run');
  const local = await startDynamoDbLocal({ cacheDir, onProgress: (message) => console.log(`  ${message}`) });
  const stopAll = (): void => {
    running?.kill('SIGTERM');
    void local.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', stopAll);
  process.once('SIGTERM', stopAll);

  const env = { ...process.env, [endpointVariable]: local.endpoint };
  try {
    for (const suite of selected) {
      const files = await testFiles(join(root, 'test', suite.name));
      console.log(`\n=== ${suite.name}: ${files.length} file(s) ===`);
      if (files.length === 0) {
        outcomes.push({ suite: suite.name, files: 0, passed: true, pass: 0, fail: 0 });
        continue;
      }
      outcomes.push(await runSuite(suite, files, suite.ownDynamoDb ? process.env : env));
    }
  } finally {
    await local.stop();
  }
  outcomes.push(...(await quickBench(only)));
  return report(outcomes);
}

async function quickBench(only: readonly string[]): Promise<Outcome[]> {
  if (only.length > 0 && !only.includes('bench')) return [];
  console.log('\n=== bench (quick) ===');
  const out = join(tmpdir(), `skiff-bench-${process.pid}.json`);
  // The young generation `npm run bench` gives the one-process control plane (docs/adr/200).
  const outcome = await runCheck('bench', process.execPath, [
    '--max-semi-space-size=64',
    '--import',
    'tsx',
    join(root, 'bench', 'run.ts'),
    '--quick',
    '--out',
    out,
  ]);
  await rm(out, { force: true });
  return [outcome];
}

function report(outcomes: readonly Outcome[]): number {
  for (const outcome of outcomes) {
    if (!outcome.failures?.length) continue;
    console.log(`\n=== ${outcome.suite}: what failed ===`);
    console.log(outcome.failures.join('\n'));
  }
  console.log('\n=== summary ===');
  for (const outcome of outcomes) {
    const verdict = outcome.files === 0 ? 'no tests' : outcome.passed ? 'passed' : 'FAILED';
    const skipped = outcome.skipped ? `, skipped ${outcome.skipped}` : '';
    const counts = checks.some((check) => check.name === outcome.suite) ? '' : ` files ${outcome.files}, pass ${outcome.pass}, fail ${outcome.fail}${skipped}`;
    const time = outcome.seconds === undefined ? '' : `, ${Math.round(outcome.seconds)} s`;
    console.log(`${outcome.suite.padEnd(12)} ${verdict.padEnd(9)}${counts}${time}`);
  }
  const tests = outcomes.filter((outcome) => !checks.some((check) => check.name === outcome.suite));
  const pass = tests.reduce((sum, outcome) => sum + outcome.pass, 0);
  const fail = tests.reduce((sum, outcome) => sum + outcome.fail, 0);
  console.log(`# pass ${pass}`);
  console.log(`# fail ${fail}`);
  return outcomes.every((outcome) => outcome.passed) ? 0 : 1;
}

process.exitCode = await main();

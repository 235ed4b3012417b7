/**
 * `npm run test:localstack`: the integration suite against LocalStack (or any endpoint that speaks
 * the AWS APIs) at `AWS_ENDPOINT_URL` (default http://localhost:4566) instead of DynamoDB Local.
 * It asks LocalStack which services it runs (`/_localstack/health`), runs every integration test
 * file whose services are there, and names each file it skips and why. CI keeps DynamoDB Local
 * (`npm test`); this is for checking the same code against another implementation of the APIs.
 *
 * Every file reaches AWS only through DynamoDB and DynamoDB Streams (test/support/dynamodb.ts);
 * what else they touch — API Gateway's management API, STS, CloudFormation's response URL — is a
 * stand-in inside the test. LocalStack's free plan offers both.
 */
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const endpoint = (process.env.AWS_ENDPOINT_URL ?? 'http://localhost:4566').replace(/\/+$/, '');

/** Services by LocalStack's names; every integration file reaches DynamoDB and its streams through test/support/dynamodb.ts. */
const storeServices = ['dynamodb', 'dynamodbstreams'];

/** Files that are not about AWS at all, with the reason they do not run against LocalStack. */
const notAboutAws: Record<string, string> = {
  'test/integration/store/dynamodb-local.test.ts': 'it tests the DynamoDB Local launcher itself',
};

interface Health {
  readonly services?: Record<string, string>;
  readonly edition?: string;
  readonly version?: string;
}

async function health(): Promise<Health | string> {
  try {
    const response = await fetch(`${endpoint}/_localstack/health`, { signal: AbortSignal.timeout(3000) });
    if (!response.ok) return `${endpoint}/_localstack/health answered HTTP ${response.status}`;
    return (await response.json()) as Health;
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return `nothing answers at ${endpoint} (${cause ?? (error instanceof Error ? error.message : String(error))})`;
  }
}

async function integrationFiles(): Promise<string[]> {
  const dir = join(root, 'test', 'integration');
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.test.ts'))
    .map((entry) => relative(root, join(entry.parentPath, entry.name)))
    .sort();
}

async function main(): Promise<number> {
  const found = await health();
  if (typeof found === 'string') {
    console.log(`test:localstack: no LocalStack to test against: ${found}.`);
    console.log(
      'Nothing was run. Start LocalStack (e.g. `docker run --rm -p 4566:4566 localstack/localstack`) and set AWS_ENDPOINT_URL if it is not on localhost:4566.',
    );
    console.log('(The machines this project is developed on cannot run LocalStack: `npm test` runs the same suite against DynamoDB Local.)');
    return 0;
  }
  const running = new Set(Object.entries(found.services ?? {}).flatMap(([name, state]) => (state === 'running' || state === 'available' ? [name] : [])));
  console.log(
    `test:localstack: LocalStack ${found.version ?? ''} (${found.edition ?? 'unknown edition'}) at ${endpoint}; services up: ${[...running].sort().join(', ')}`,
  );
  const missing = storeServices.filter((service) => !running.has(service));
  const run: string[] = [];
  for (const file of await integrationFiles()) {
    const reason = notAboutAws[file] ?? (missing.length > 0 ? `LocalStack does not offer ${missing.join(' and ')} here` : undefined);
    if (reason) console.log(`  skipped ${file}: ${reason}`);
    else run.push(file);
  }
  if (run.length === 0) {
    console.log('test:localstack: every file was skipped.');
    return 0;
  }
  const env = {
    ...process.env,
    SKIFF_TEST_DYNAMODB_ENDPOINT: endpoint,
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'test',
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'test',
  };
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=1', '--test-timeout=180000', ...run], {
      cwd: root,
      env,
      stdio: 'inherit',
    });
    child.on('close', (code) => done(code ?? 1));
  });
}

process.exitCode = await main();

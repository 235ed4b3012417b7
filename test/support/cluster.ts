/**
 * Starts a whole local cluster for an end-to-end test — the same `startLocalCluster` that
 * `npm start` runs — and drives it with the real kubectl binary.
 *
 *   const cluster = await startTestCluster({ nodes: 0 });
 *   const { stdout } = await cluster.kubectl(['get', 'namespaces']);
 *   await cluster.stop();
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalCluster, type LocalClusterOptions, startLocalCluster } from '../../functions/local/host.ts';
import { localVolumesRoot } from '../../functions/local/local-volumes.ts';

export interface KubectlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface TestCluster {
  readonly local: LocalCluster;
  readonly dataDir: string;
  /** Runs kubectl against the cluster; never throws on a non-zero exit (assert on `code`). */
  kubectl(args: readonly string[], options?: { input?: string; timeoutMs?: number }): Promise<KubectlResult>;
  /** Like kubectl, but fails the test with kubectl's stderr on a non-zero exit. */
  kubectlOk(args: readonly string[], options?: { input?: string; timeoutMs?: number }): Promise<string>;
  /** Starts a long-running kubectl (e.g. `get pods -w`), collecting its output. */
  kubectlBackground(args: readonly string[]): { process: ChildProcess; output: () => string; stop: () => Promise<void> };
  stop(): Promise<void>;
}

export async function startTestCluster(
  options: Partial<Omit<LocalClusterOptions, 'dataDir' | 'port'>> & {
    dataDir?: string;
    /** Start a DynamoDB Local of its own that keeps its data in the data dir (restart tests). */
    ownDynamoDb?: boolean;
  } = {},
): Promise<TestCluster> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'skiff-e2e-')));
  const sharedEndpoint = options.ownDynamoDb ? undefined : process.env.SKIFF_TEST_DYNAMODB_ENDPOINT;
  const { ownDynamoDb: _own, ...clusterOptions } = options;
  const local = await startLocalCluster({
    nodes: 0,
    resyncSeconds: 5,
    ...clusterOptions,
    dataDir,
    port: 0,
    ...(sharedEndpoint && !options.dynamoDbEndpoint
      ? { dynamoDbEndpoint: sharedEndpoint, tablePrefix: options.tablePrefix ?? `e2e-${randomBytes(4).toString('hex')}-` }
      : {}),
  });
  const cacheDir = join(dataDir, 'kubectl-cache');
  const env = { ...process.env, KUBECONFIG: local.kubeconfigPath };
  const baseArgs = ['--kubeconfig', local.kubeconfigPath, '--cache-dir', cacheDir];

  const kubectl: TestCluster['kubectl'] = (args, runOptions = {}) =>
    new Promise((resolve) => {
      const child = execFile(
        'kubectl',
        [...baseArgs, ...args],
        { env, timeout: runOptions.timeoutMs ?? 60_000, maxBuffer: 16 * 1024 * 1024 },
        (error, stdout, stderr) => {
          const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
          resolve({ code, stdout, stderr });
        },
      );
      if (runOptions.input !== undefined) child.stdin?.end(runOptions.input);
    });

  return {
    local,
    dataDir,
    kubectl,
    async kubectlOk(args, runOptions) {
      const result = await kubectl(args, runOptions);
      if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
      return result.stdout;
    },
    kubectlBackground(args) {
      const child = spawn('kubectl', [...baseArgs, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      return {
        process: child,
        output: () => output,
        stop: () =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
      };
    },
    async stop() {
      await local.stop();
      if (!options.dataDir) {
        await rm(dataDir, { recursive: true, force: true });
        await rm(localVolumesRoot(dataDir), { recursive: true, force: true });
      }
    },
  };
}

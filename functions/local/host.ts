/**
 * The local host: the whole control plane in one Node process, as `npm start` runs it.
 * DynamoDB Local (a child Java process) holds the state in `<data-dir>/dynamodb`; the API core
 * is served over HTTPS; the controllers and the scheduler read DynamoDB Local's stream through
 * the same handlers the Lambdas use; N node agents run as child processes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, createWriteStream, openSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { killRecordedContainers } from '../../node-agent/index.ts';
import { createApi } from '../api/app.ts';
import { ensureSystemNamespaces } from '../controllers/namespaces/system-namespaces.ts';
import { alwaysAllowAuthorizer, superuserAuthorizer, unionAuthorizer } from '../domain/authorization/authorizer.ts';
import type { Log } from '../logging/log.ts';
import { createDynamoDbStore } from '../store/dynamodb-store.ts';
import { ensureTables } from '../store/tables.ts';
import { startControlLoops } from './control-loops.ts';
import { localDynamoDbClient, startDynamoDbLocal } from './dynamodb-local.ts';
import { startHttpsApiServer } from './https-server.ts';
import { writeKubeconfig } from './kubeconfig.ts';
import { kubeletLogSource } from './kubelet-client.ts';
import { createLocalLoadBalancers } from './load-balancer.ts';
import { ensureServingCertificate } from './tls.ts';
import { ensureTokens, tokenAuthenticator } from './tokens.ts';

export const repositoryRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));

export interface LocalClusterOptions {
  readonly dataDir: string;
  /** HTTPS port of the API; 0 picks a free one. */
  readonly port: number;
  /** Node agents to start as child processes. */
  readonly nodes: number;
  readonly agentRuntime?: 'process' | 'sim';
  /** A lease older than this makes its node NotReady (Kubernetes: 40 s). */
  readonly nodeGraceSeconds?: number;
  /** Default tolerationSeconds for not-ready/unreachable nodes before eviction (Kubernetes: 300 s). */
  readonly evictionSeconds?: number;
  readonly resyncSeconds?: number;
  /** Use this DynamoDB endpoint instead of starting DynamoDB Local (tests share one). */
  readonly dynamoDbEndpoint?: string;
  readonly tablePrefix?: string;
  readonly onProgress?: (message: string) => void;
  /** Structured log of the control plane; silent when absent. */
  readonly log?: Log;
}

export interface LocalCluster {
  readonly server: string;
  readonly kubeconfigPath: string;
  readonly adminToken: string;
  readonly caCertPem: string;
  /** Node names of the agents started. */
  readonly nodeNames: readonly string[];
  /** Stops the agent process of one node (for tests of node failure). */
  killAgent(name: string, signal?: NodeJS.Signals): void;
  stop(): Promise<void>;
}

export async function startLocalCluster(options: LocalClusterOptions): Promise<LocalCluster> {
  const progress = options.onProgress ?? (() => {});
  const dataDir = resolve(options.dataDir);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const cleanups: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  };
  try {
    let endpoint = options.dynamoDbEndpoint;
    if (!endpoint) {
      progress('starting DynamoDB Local');
      const dynamo = await startDynamoDbLocal({
        cacheDir: join(repositoryRoot, '.cache', 'dynamodb-local'),
        dbPath: join(dataDir, 'dynamodb'),
        onProgress: progress,
      });
      cleanups.push(() => dynamo.stop());
      endpoint = dynamo.endpoint;
    }
    const client = localDynamoDbClient(endpoint);
    cleanups.push(async () => client.destroy());
    const prefix = options.tablePrefix ?? 'skiff-';
    const tables = { objects: `${prefix}objects`, changes: `${prefix}changes` };
    progress('creating tables');
    await ensureTables(client, tables);
    const store = createDynamoDbStore({ client, tables });
    cleanups.push(async () => store.close());
    await ensureSystemNamespaces(store);

    progress('starting the API server');
    const [certificate, tokens] = await Promise.all([ensureServingCertificate(join(dataDir, 'pki')), ensureTokens(dataDir)]);
    // The audit log, as kube-apiserver's --audit-log-path: one JSON line per event (docs/adr/124).
    const auditLog = createWriteStream(join(dataDir, 'audit.log'), { flags: 'a', mode: 0o600 });
    cleanups.push(() => new Promise<void>((done) => auditLog.end(done)));
    const api = createApi({
      store,
      authenticators: [tokenAuthenticator(tokens)],
      authorizer: unionAuthorizer([superuserAuthorizer, alwaysAllowAuthorizer]),
      podLogs: kubeletLogSource({ token: tokens.node }),
      strategy: { defaultTolerationSeconds: options.evictionSeconds ?? 300 },
      ...(options.log ? { log: options.log.child({ component: 'api' }) } : {}),
      audit: (event) => {
        auditLog.write(`${JSON.stringify(event)}\n`);
        options.log?.info('audit', { component: 'api', event });
      },
    });
    const server = await startHttpsApiServer({ handler: api, certPem: certificate.certPem, keyPem: certificate.keyPem, port: options.port });
    cleanups.push(() => server.close());
    const url = `https://127.0.0.1:${server.port}`;
    const kubeconfigPath = join(dataDir, 'kubeconfig');
    const nodeKubeconfigPath = join(dataDir, 'node-kubeconfig');
    await writeKubeconfig(kubeconfigPath, { server: url, caCertPem: certificate.caCertPem, token: tokens.admin, user: 'skiff-admin' });
    await writeKubeconfig(nodeKubeconfigPath, { server: url, caCertPem: certificate.caCertPem, token: tokens.node, user: 'skiff-node' });

    progress('starting controllers and the scheduler');
    const loadBalancers = createLocalLoadBalancers();
    cleanups.push(() => loadBalancers.close());
    const loops = await startControlLoops({
      loadBalancers,
      store,
      client,
      dynamoDbEndpoint: endpoint,
      tables,
      resyncSeconds: options.resyncSeconds ?? 30,
      ...(options.nodeGraceSeconds !== undefined ? { nodeGraceSeconds: options.nodeGraceSeconds } : {}),
      ...(options.evictionSeconds !== undefined ? { evictionSeconds: options.evictionSeconds } : {}),
      ...(options.log ? { log: options.log } : {}),
    });
    cleanups.push(() => loops.stop());

    const agents = new Map<string, ChildProcess>();
    const nodeNames: string[] = [];
    for (let index = 0; index < options.nodes; index++) {
      const name = `skiff-node-${index + 1}`;
      progress(`starting node agent ${name}`);
      await mkdir(join(dataDir, 'nodes', name), { recursive: true });
      // Agents log to their node's folder; `--verbose` sends their logs to the terminal as well.
      const agentLog = options.log ? 'inherit' : openSync(join(dataDir, 'nodes', name, 'agent.log'), 'a');
      const child = spawn(
        process.execPath,
        [
          join(repositoryRoot, 'bin', 'skiff.js'),
          'agent',
          '--kubeconfig',
          nodeKubeconfigPath,
          '--name',
          name,
          '--runtime',
          options.agentRuntime ?? 'process',
          '--state-dir',
          join(dataDir, 'nodes', name),
          '--node-index',
          String(index + 1),
        ],
        { stdio: ['ignore', agentLog, agentLog], env: { ...process.env, SKIFF_DATA_DIR: dataDir } },
      );
      if (typeof agentLog === 'number') closeSync(agentLog);
      agents.set(name, child);
      nodeNames.push(name);
    }
    cleanups.push(async () => {
      await stopChildren([...agents.values()]);
      // An agent that was killed (not stopped) leaves its containers for adoption; the whole
      // cluster is going away, so they go too.
      for (const name of nodeNames) killRecordedContainers(join(dataDir, 'nodes', name));
    });

    return {
      server: url,
      kubeconfigPath,
      adminToken: tokens.admin,
      caCertPem: certificate.caCertPem,
      nodeNames,
      killAgent(name, signal = 'SIGKILL') {
        agents.get(name)?.kill(signal);
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function stopChildren(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((done) => {
          if (child.exitCode !== null || child.signalCode !== null) return done();
          const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
          child.once('exit', () => {
            clearTimeout(timer);
            done();
          });
          child.kill('SIGTERM');
        }),
    ),
  );
}

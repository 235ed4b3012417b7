/**
 * A real local cluster (no process agents) with one node agent on the `ecs` runtime, whose ECS,
 * Secrets Manager and (optionally) CloudWatch Logs are the fakes of test/support. Tests act with
 * the real kubectl and read objects straight from the API (`get`), which is much faster than a
 * kubectl run per poll on a busy machine.
 */
import { rmSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import type { PodLogSource } from '../../functions/domain/pods/pod-logs.ts';
import { type AgentOptions, type RunningAgent, startAgent } from '../../node-agent/agent.ts';
import { loadKubeconfig } from '../../node-agent/kubeconfig.ts';
import { EcsRuntime } from '../../node-agent/runtime/ecs-runtime.ts';
import { defaultPodsDir } from '../../node-agent/runtime/process-runtime.ts';
import { SecretsManagerSources } from '../../node-agent/runtime/secrets-manager-sources.ts';
import { startTestCluster, type TestCluster } from './cluster.ts';
import { FakeEcs, type FakeEcsOptions } from './fake-ecs.ts';
import { FakeSecretsManager } from './fake-secrets-manager.ts';

export interface EcsNodeCluster {
  readonly cluster: TestCluster;
  readonly ecs: FakeEcs;
  readonly secrets: FakeSecretsManager;
  readonly nodeName: string;
  readonly agentOptions: AgentOptions;
  agent: RunningAgent;
  runtime: EcsRuntime;
  /** A fresh runtime on the same container instance (what a restarted agent makes). */
  newRuntime(): Promise<EcsRuntime>;
  /** GET an API path as the admin; undefined for 404. */
  get<T>(path: string): Promise<T | undefined>;
  stop(): Promise<void>;
}

export async function startEcsNodeCluster(options: {
  readonly nodeName: string;
  readonly address: string;
  readonly ecs?: FakeEcsOptions;
  readonly logGroup?: string;
  readonly podLogs?: PodLogSource;
  /** The kubeconfig's `skiff.io/in-cluster-server`, made from the local server's URL. @default - none */
  readonly inClusterServer?: (server: URL) => string;
}): Promise<EcsNodeCluster> {
  const cluster = await startTestCluster({ nodes: 0, ...(options.podLogs ? { podLogs: options.podLogs } : {}) });
  const ecs = new FakeEcs({ provisionMs: 30, pendingMs: 60, stopMs: 100, ...options.ecs });
  const secrets = new FakeSecretsManager();
  const stateDir = join(cluster.dataDir, 'nodes', options.nodeName);
  // Where the agent would put them on the instance: beside the pods' directories (ADR 145).
  const tokenSlotsDir = join(defaultPodsDir(stateDir), 'token-slots');
  const newRuntime = () =>
    EcsRuntime.create({
      client: ecs.client,
      cluster: ecs.cluster,
      containerInstanceArn: ecs.containerInstanceArn,
      nodeName: options.nodeName,
      subnets: ['subnet-0a', 'subnet-0b'],
      securityGroups: ['sg-0pods'],
      taskDefinitions: {
        familyPrefix: 'skiff',
        logGroup: options.logGroup ?? '/skiff/skiff/pods',
        region: ecs.region,
        executionRoleArn: `arn:aws:iam::${ecs.account}:role/skiff-task-execution`,
        tokenSlotsDir,
      },
      sources: new SecretsManagerSources({ client: secrets.client, prefix: 'skiff/skiff' }),
      pollMs: { busy: 50, idle: 200 },
      retry: { baseMs: 10, maxMs: 50 },
    });
  const runtime = await newRuntime();
  const agentOptions: AgentOptions = {
    // The node's own identity (system:node:<name>), as the host gives its agents.
    credentials: {
      ...loadKubeconfig(await cluster.local.joinNode(options.nodeName)),
      ...(options.inClusterServer ? { inClusterServer: options.inClusterServer(new URL(cluster.local.server)) } : {}),
    },
    nodeName: options.nodeName,
    containerRuntime: runtime,
    address: options.address,
    kubeletAddress: '127.0.0.1',
    cpu: '2',
    memory: '3788Mi',
    pods: 10,
    stateDir,
    backOff: { initialMs: 500, maxMs: 2000 },
    serviceProxy: false,
  };
  const agent = await startAgent(agentOptions);
  const local = cluster.local;
  const get = <T>(path: string) =>
    new Promise<T | undefined>((resolve, reject) => {
      const request = https.get(
        `${local.server}${path}`,
        { ca: local.caCertPem, headers: { authorization: `Bearer ${local.adminToken}`, accept: 'application/json' } },
        (response) => {
          let body = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (body += chunk));
          response.on('end', () => {
            if (response.statusCode === 404) return resolve(undefined);
            if (response.statusCode !== 200) return reject(new Error(`GET ${path}: ${response.statusCode} ${body}`));
            resolve(JSON.parse(body) as T);
          });
        },
      );
      request.on('error', reject);
    });
  const state: EcsNodeCluster = {
    cluster,
    ecs,
    secrets,
    nodeName: options.nodeName,
    agentOptions,
    agent,
    runtime,
    newRuntime,
    get,
    async stop() {
      await state.agent.stop();
      await state.runtime.close();
      await cluster.stop();
      rmSync(tokenSlotsDir, { recursive: true, force: true });
    },
  };
  return state;
}

/** What the ecs e2e tests read of a pod from the API. */
export interface EcsPodJson {
  metadata: { name: string; uid: string; labels?: Record<string, string>; deletionTimestamp?: string };
  spec: { containers: { image: string }[] };
  status?: {
    phase?: string;
    podIP?: string;
    hostIP?: string;
    containerStatuses?: {
      restartCount: number;
      ready: boolean;
      containerID?: string;
      imageID?: string;
      state: { running?: unknown; waiting?: { reason: string }; terminated?: { exitCode: number; reason: string } };
      lastState: { terminated?: { exitCode: number } };
    }[];
  };
}

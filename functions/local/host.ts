/**
 * The local host: the whole control plane in one Node process, as `npm start` runs it.
 * DynamoDB Local (a child Java process) holds the state in `<data-dir>/dynamodb`; the API core
 * is served over HTTPS; the controllers and the scheduler read DynamoDB Local's stream through
 * the same handlers the Lambdas use; N node agents run as child processes, kept running by a
 * supervisor. A DynamoDB Local that dies makes `/readyz` fail and is reported on the console
 * (docs/adr/108).
 */
import { createWriteStream, existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { killRecordedContainers } from '../../node-agent/index.ts';
import { createApi } from '../api/app.ts';
import type { HealthCheck } from '../api/health-checks.ts';
import { createHeartbeatEndpoint, localHeartbeatPathPrefix } from '../api/heartbeat.ts';
import type { ApiHandler } from '../api/http.ts';
import { clusterDnsIp } from '../controllers/kubernetes-service/kubernetes-service-controller.ts';
import { ensureSystemNamespaces } from '../controllers/namespaces/system-namespaces.ts';
import { serviceAccountTokenAuthenticator } from '../domain/authentication/service-account-tokens.ts';
import { bearerToken, chainAuthenticators } from '../domain/authentication/token-authenticators.ts';
import { superuserAuthorizer, unionAuthorizer } from '../domain/authorization/authorizer.ts';
import { nodeAuthorizer } from '../domain/authorization/node-authorizer.ts';
import { storePolicySource } from '../domain/authorization/rbac/policy.ts';
import { rbacAuthorizer } from '../domain/authorization/rbac/rbac-authorizer.ts';
import { reconcileBootstrapPolicy } from '../domain/authorization/rbac/reconcile-policy.ts';
import { NETWORK_POLICY_AGENT_USER, nodeUsername } from '../domain/authorization/user-info.ts';
import type { PodLogSource } from '../domain/pods/pod-logs.ts';
import { ensureSystemPriorityClasses } from '../domain/scheduling/system-priority-classes.ts';
import { defaultServiceCidr, kubernetesServiceIp, serviceCidrProblem } from '../domain/services/service-allocation-plan.ts';
import type { Log } from '../logging/log.ts';
import { awsStoreSettings, createDynamoDbStore } from '../store/dynamodb-store.ts';
import { ensureTable, ensureTables } from '../store/tables.ts';
import { createChannel } from '../watch/channel.ts';
import { channelTableDefinition, dynamoDbChannelRegistry } from '../watch/channel-registry.ts';
import { handleChangeStreamEvent } from '../watch/fan-out.ts';
import { dynamoDbNodeStats } from '../watch/node-stats-items.ts';
import { handleWebSocketEvent } from '../watch/websocket-events.ts';
import { createAddressPool } from './address-pool.ts';
import { createAgentSupervisor } from './agent-supervisor.ts';
import { startClusterDns, storeDnsSource } from './cluster-dns.ts';
import { startControlLoops } from './control-loops.ts';
import { type DynamoDbLocal, type DynamoDbLocalJit, localDynamoDbClient, startDynamoDbLocal } from './dynamodb-local.ts';
import { startHttpsApiServer } from './https-server.ts';
import { createLocalIngressRouters } from './ingress-router.ts';
import { writeKubeconfig } from './kubeconfig.ts';
import { kubeletLogSource, kubeletStatsSource, kubeletStreamLocator } from './kubelet-client.ts';
import { createLocalLoadBalancers } from './load-balancer.ts';
import { ensureDefaultStorageClass, localVolumes } from './local-volumes.ts';
import { localServiceAccountKeys } from './service-account-keys.ts';
import { startStreamPoller } from './stream-poller.ts';
import { ensureServingCertificate } from './tls.ts';
import { tokenFileAuthenticator } from './token-file.ts';
import { LocalTokens } from './tokens.ts';
import { type LocalWatchChannel, startLocalWatchChannel, watchChannelPath } from './watch-channel-server.ts';

export const repositoryRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));

export interface LocalClusterOptions {
  readonly dataDir: string;
  /** HTTPS port of the API; 0 picks a free one. */
  readonly port: number;
  /** Node agents to start as child processes. */
  readonly nodes: number;
  readonly agentRuntime?: 'process' | 'sim';
  /** Seconds between syncs of each HorizontalPodAutoscaler. @default 15 */
  readonly autoscalerSyncSeconds?: number;
  /** Seconds between the agents' usage measurements (`kubectl top`'s window). @default the agent's 10 */
  readonly metricsResolutionSeconds?: number;
  /** A lease older than this makes its node NotReady (Kubernetes: 40 s). */
  readonly nodeGraceSeconds?: number;
  /** Default tolerationSeconds for not-ready/unreachable nodes before eviction (Kubernetes: 300 s). */
  readonly evictionSeconds?: number;
  readonly resyncSeconds?: number;
  /**
   * The service range (kube-apiserver's `--service-cluster-ip-range`): ClusterIPs come from it, the
   * `kubernetes` Service takes its first address and kube-dns its tenth. A data dir keeps the range
   * it was first started with. @default the data dir's, else '10.96.0.0/12'
   */
  readonly serviceCidr?: string;
  /** Loopback range of the addresses LoadBalancer Services and Ingresses get. @default '127.0.200.0/24' */
  readonly loadBalancerRange?: string;
  /** Use this DynamoDB endpoint instead of starting DynamoDB Local (tests share one). */
  readonly dynamoDbEndpoint?: string;
  /**
   * How the DynamoDB Local it starts compiles: `skiff up` asks for `throughput` (a cluster runs for
   * hours); tests keep `startup`, ready sooner (docs/adr/192). @default 'startup'
   */
  readonly dynamoDbJit?: DynamoDbLocalJit;
  readonly tablePrefix?: string;
  readonly onProgress?: (message: string) => void;
  /** What the host tells the user while it runs (an agent restarted, DynamoDB Local gone). @default onProgress */
  readonly onReport?: (message: string) => void;
  /** Where `kubectl logs` reads from. @default the node agents' kubelet API */
  readonly podLogs?: PodLogSource;
  /** Structured log of the control plane; silent when absent. */
  readonly log?: Log;
  /** The watch channel's limits, API Gateway's by default (2 hours, 10 idle minutes); tests shorten them. */
  readonly watchChannel?: { readonly maxConnectionMs?: number; readonly idleTimeoutMs?: number };
}

export interface LocalCluster {
  readonly server: string;
  readonly kubeconfigPath: string;
  readonly adminToken: string;
  readonly caCertPem: string;
  /** Node names of the agents started. */
  readonly nodeNames: readonly string[];
  /**
   * Joins a node to the cluster: makes its own token (user `system:node:<name>`) and writes its
   * kubeconfig; returns the kubeconfig's path, for an agent started by hand (`skiff agent`).
   */
  joinNode(name: string): Promise<string>;
  /**
   * Signals the agent process of one node. The supervisor starts it again (its pods carry on),
   * unless `restart` is false: then the node stays down, as a failed machine would.
   */
  killAgent(name: string, signal?: NodeJS.Signals, options?: { readonly restart?: boolean }): void;
  /** The current process of a node's agent. */
  agentPid(name: string): number | undefined;
  /** How many times the supervisor restarted a node's agent. */
  agentRestarts(name: string): number;
  /** The DynamoDB Local process, when this host started one. */
  readonly dynamoDbPid?: number;
  /** The watch channel agents take their changes from (tests cut its connections). */
  readonly watchChannel: LocalWatchChannel;
  stop(): Promise<void>;
}

/**
 * The service range of a data dir: the one asked for, checked as kube-apiserver checks
 * `--service-cluster-ip-range`, and the same as the data dir was first started with (its Services
 * hold addresses of that range); without one asked for, the data dir's, else the default.
 */
export async function dataDirServiceCidr(dataDir: string, asked: string | undefined): Promise<string> {
  if (asked !== undefined) {
    const problem = serviceCidrProblem(asked);
    if (problem) throw new Error(`--service-cidr: ${problem}`);
  }
  const file = join(dataDir, 'service-cidr');
  const kept = existsSync(file) ? (await readFile(file, 'utf8')).trim() : undefined;
  if (kept !== undefined && asked !== undefined && kept !== asked.trim()) {
    throw new Error(
      `--service-cidr ${asked}: the data dir ${dataDir} was started with the service range ${kept}, which its Services' ClusterIPs come from; use a new --data-dir for another range`,
    );
  }
  const range = kept ?? asked?.trim() ?? defaultServiceCidr;
  if (kept === undefined) await writeFile(file, `${range}\n`, { mode: 0o600 });
  return range;
}

export async function startLocalCluster(options: LocalClusterOptions): Promise<LocalCluster> {
  const progress = options.onProgress ?? (() => {});
  // What the supervisor has to tell the user once the cluster runs goes to the same console.
  const report = options.onReport ?? progress;
  const dataDir = resolve(options.dataDir);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  // Tokens, the CA key and DynamoDB's files live here: no pod (running as another user) may look in.
  await chmod(dataDir, 0o700);
  const serviceCidr = await dataDirServiceCidr(dataDir, options.serviceCidr);
  const cleanups: (() => Promise<void>)[] = [];
  let stopping = false;
  const stop = async () => {
    stopping = true;
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  };
  try {
    let endpoint = options.dynamoDbEndpoint;
    let dynamoDbLocal: DynamoDbLocal | undefined;
    /** Set when the supervised DynamoDB Local is gone: the API is then not ready. */
    let dynamoDbGone: string | undefined;
    if (!endpoint) {
      progress('starting DynamoDB Local');
      const dynamo = await startDynamoDbLocal({
        cacheDir: join(repositoryRoot, '.cache', 'dynamodb-local'),
        dbPath: join(dataDir, 'dynamodb'),
        onProgress: progress,
        ...(options.dynamoDbJit ? { jit: options.dynamoDbJit } : {}),
      });
      cleanups.push(() => dynamo.stop());
      endpoint = dynamo.endpoint;
      dynamoDbLocal = dynamo;
      void dynamo.exited.then(({ code, signal }) => {
        if (stopping) return;
        dynamoDbGone = signal ? `killed by ${signal}` : `exited with code ${code}`;
        report(
          `DynamoDB Local ${dynamoDbGone}: the API is not ready (/readyz fails) and every request that needs the store fails; stop and start skiff again (the data is kept in ${join(dataDir, 'dynamodb')})`,
        );
      });
    }
    const client = localDynamoDbClient(endpoint);
    cleanups.push(async () => client.destroy());
    const prefix = options.tablePrefix ?? 'skiff-';
    const tables = { objects: `${prefix}objects`, changes: `${prefix}changes` };
    const channelTable = `${prefix}channel`;
    const readiness: HealthCheck[] = [
      {
        name: 'dynamodb',
        async check(signal) {
          if (dynamoDbGone) throw new Error(`DynamoDB Local ${dynamoDbGone}`);
          await client.send(new DescribeTableCommand({ TableName: tables.objects }), { abortSignal: signal });
        },
      },
    ];
    progress('creating tables');
    await Promise.all([ensureTables(client, tables, { changeLogStream: true }), ensureTable(client, channelTable, channelTableDefinition)]);
    // Plain updates and claimed Lease revisions as on AWS (docs/adr/005, 189); compaction deletes here, DynamoDB Local's TTL being slow.
    const store = createDynamoDbStore({ client, tables, plainUpdates: true, claimedRevisionTypes: awsStoreSettings.claimedRevisionTypes });
    cleanups.push(async () => store.close());
    await ensureSystemNamespaces(store);
    await ensureDefaultStorageClass(store);
    await ensureSystemPriorityClasses(store);
    progress('reconciling the default RBAC policy');
    await reconcileBootstrapPolicy(store);

    // One admission for the API and the control loops: pods get the same default tolerations whoever makes them.
    const admissionSettings = { defaultTolerationSeconds: options.evictionSeconds ?? 300, serviceCidr };
    progress('starting the API server');
    const [certificate, tokens, serviceAccountKeys] = await Promise.all([
      ensureServingCertificate(join(dataDir, 'pki'), kubernetesServiceIp(serviceCidr)),
      LocalTokens.open(dataDir),
      localServiceAccountKeys(dataDir),
    ]);
    // The audit log, as kube-apiserver's --audit-log-path: one JSON line per event (docs/adr/124).
    const auditLog = createWriteStream(join(dataDir, 'audit.log'), { flags: 'a', mode: 0o600 });
    cleanups.push(() => new Promise<void>((done) => auditLog.end(done)));
    const authenticators = [
      tokens.authenticator(),
      tokenFileAuthenticator(join(dataDir, 'tokens.csv')),
      serviceAccountTokenAuthenticator({ keys: serviceAccountKeys, store }),
    ];
    // The API and the watch channel ask the same authorizer.
    const authorizer = unionAuthorizer([superuserAuthorizer, nodeAuthorizer(store), rbacAuthorizer(storePolicySource(store))]);
    const api = createApi({
      store,
      readiness,
      authenticators,
      serviceAccountKeys,
      authorizer,
      // The API reaches each agent's kubelet API with that node's own token.
      podLogs: options.podLogs ?? kubeletLogSource({ token: (nodeName) => tokens.nodeToken(nodeName) }),
      // exec, attach and port-forward: upgrades passed on to the agent's streaming endpoints (docs/adr/140).
      podStreams: kubeletStreamLocator({ token: (nodeName) => tokens.nodeToken(nodeName) }),
      nodeStats: kubeletStatsSource({ token: (nodeName) => tokens.nodeToken(nodeName) }),
      admissionSettings,
      ...(options.log ? { log: options.log.child({ component: 'api' }) } : {}),
      audit: (event) => {
        auditLog.write(`${JSON.stringify(event)}\n`);
        options.log?.info('audit', { component: 'api', event });
      },
    });

    // The node heartbeat endpoint (docs/adr/196): on AWS a function URL signed with the node's
    // instance role; here the same core beside the API, the node known by its bearer token as on
    // the watch channel.
    const heartbeat = createHeartbeatEndpoint({ store, authorizer, ...(options.log ? { log: options.log.child({ component: 'heartbeat' }) } : {}) });
    const authenticateBearer = chainAuthenticators(authenticators);
    const apiWithHeartbeat: ApiHandler = async (request) => {
      if (request.path !== localHeartbeatPathPrefix && !request.path.startsWith(`${localHeartbeatPathPrefix}/`)) return api(request);
      const token = bearerToken(request.headers.authorization);
      const user = token ? await authenticateBearer(token) : undefined;
      return heartbeat({ ...request, path: request.path.slice(localHeartbeatPathPrefix.length) }, user);
    };

    // The watch channel (docs/adr/073): the channel's handler behind a local stand-in for API
    // Gateway's WebSocket API on the same port, and the fan-out on the change log's stream.
    const registry = dynamoDbChannelRegistry({ client, tableName: channelTable });
    const catchUpStore = createDynamoDbStore({ client, tables, bookmarkIntervalMs: 0 });
    cleanups.push(async () => catchUpStore.close());
    const channel = createChannel({
      registry,
      store,
      catchUpStore,
      authenticate: chainAuthenticators(authenticators),
      authorizer,
      // An agent started with --metrics-report keeps its figures here as on AWS (docs/adr/193);
      // the local API still asks the kubelets.
      nodeStats: dynamoDbNodeStats({ client, tableName: channelTable }),
      ...(options.log ? { log: options.log.child({ component: 'watch-channel' }) } : {}),
    });
    const watchChannel = startLocalWatchChannel({
      handle: (event, poster) => handleWebSocketEvent(event, channel, () => poster),
      ...(options.watchChannel?.maxConnectionMs !== undefined ? { maxConnectionMs: options.watchChannel.maxConnectionMs } : {}),
      ...(options.watchChannel?.idleTimeoutMs !== undefined ? { idleTimeoutMs: options.watchChannel.idleTimeoutMs } : {}),
      ...(options.log ? { log: options.log } : {}),
    });
    cleanups.push(() => watchChannel.close());
    const changeStreams = new DynamoDBStreamsClient({ endpoint, region: client.config.region, credentials: client.config.credentials });
    cleanups.push(async () => changeStreams.destroy());
    const fanOutPoller = await startStreamPoller({
      dynamoDb: client,
      streams: changeStreams,
      tableName: tables.changes,
      consumers: [
        (event) =>
          handleChangeStreamEvent(event, {
            registry,
            poster: watchChannel.poster,
            ...(options.log ? { log: options.log.child({ component: 'watch-fan-out' }) } : {}),
          }),
      ],
    });
    cleanups.push(() => fanOutPoller.stop());

    const server = await startHttpsApiServer({
      handler: apiWithHeartbeat,
      certPem: certificate.certPem,
      keyPem: certificate.keyPem,
      port: options.port,
      onUpgrade: watchChannel.handleUpgrade,
    });
    // Upgraded sockets keep an HTTPS server from closing: end them first.
    cleanups.push(async () => {
      watchChannel.dropConnections();
      await server.close();
    });
    const url = `https://127.0.0.1:${server.port}`;
    const channelUrl = `wss://127.0.0.1:${server.port}${watchChannelPath}`;
    const kubeconfigPath = join(dataDir, 'kubeconfig');
    await writeKubeconfig(kubeconfigPath, { server: url, caCertPem: certificate.caCertPem, token: tokens.admin, user: 'skiff-admin' });
    /** Joins a node: its own token, in its own kubeconfig `<data-dir>/nodes/<name>/kubeconfig`. */
    const joinNode = async (name: string): Promise<string> => {
      const dir = join(dataDir, 'nodes', name);
      await mkdir(dir, { recursive: true });
      const path = join(dir, 'kubeconfig');
      await writeKubeconfig(path, {
        server: url,
        caCertPem: certificate.caCertPem,
        token: await tokens.joinNode(name),
        user: nodeUsername(name),
        watchChannel: channelUrl,
        heartbeat: `${url}${localHeartbeatPathPrefix}`,
      });
      return path;
    };

    // The cluster DNS (kube-dns's job, docs/adr/139): on loopback only; pods reach it as the
    // kube-dns Service's ClusterIP, which the nodes' rules send here.
    const clusterDns = await startClusterDns({
      services: storeDnsSource(store),
      ...(options.log ? { log: options.log.child({ component: 'cluster-dns' }) } : {}),
    });
    cleanups.push(() => clusterDns.close());
    progress('starting controllers and the scheduler');
    const addresses = createAddressPool(options.loadBalancerRange ?? '127.0.200.0/24');
    const loadBalancers = createLocalLoadBalancers({ addresses });
    cleanups.push(() => loadBalancers.close());
    const ingressLoadBalancers = createLocalIngressRouters({ addresses });
    cleanups.push(() => ingressLoadBalancers.close());
    const loops = await startControlLoops({
      loadBalancers,
      ingressLoadBalancers,
      rootCaPem: certificate.caCertPem,
      store,
      client,
      dynamoDbEndpoint: endpoint,
      tables,
      resyncSeconds: options.resyncSeconds ?? 30,
      ...(options.nodeGraceSeconds !== undefined ? { nodeGraceSeconds: options.nodeGraceSeconds } : {}),
      admissionSettings,
      // Pods reach the API where it listens, on loopback (the node agents proxy Service addresses there).
      kubernetesService: {
        serviceCidr,
        apiServer: { ip: '127.0.0.1', port: server.port },
        clusterDns: { ip: clusterDns.address, port: clusterDns.port },
      },
      localVolumes: localVolumes(dataDir),
      // HorizontalPodAutoscalers read the agents' figures, as metrics.k8s.io does.
      nodeStats: kubeletStatsSource({ token: (nodeName) => tokens.nodeToken(nodeName) }),
      ...(options.autoscalerSyncSeconds !== undefined ? { autoscalerSyncSeconds: options.autoscalerSyncSeconds } : {}),
      ...(options.log ? { log: options.log } : {}),
    });
    cleanups.push(() => loops.stop());

    const agents = createAgentSupervisor({ report });
    // The agents' NetworkPolicy watches (namespace mode) read every pod, which a node may not: one
    // identity for them all, like a CNI DaemonSet's ServiceAccount (docs/adr/209). REST watches.
    const networkPolicyKubeconfigPath = join(dataDir, 'network-policy-agent.kubeconfig');
    await writeKubeconfig(networkPolicyKubeconfigPath, {
      server: url,
      caCertPem: certificate.caCertPem,
      token: tokens.networkPolicy,
      user: NETWORK_POLICY_AGENT_USER,
    });
    const nodeNames: string[] = [];
    for (let index = 0; index < options.nodes; index++) {
      const name = `skiff-node-${index + 1}`;
      progress(`starting node agent ${name}`);
      const nodeKubeconfigPath = await joinNode(name);
      agents.start({
        name,
        args: [
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
          '--cluster-dns',
          clusterDnsIp(serviceCidr),
          '--service-cidr',
          serviceCidr,
          '--network-policy-kubeconfig',
          networkPolicyKubeconfigPath,
          ...(options.metricsResolutionSeconds !== undefined ? ['--metrics-resolution', String(options.metricsResolutionSeconds)] : []),
          // The agent stops (with its containers) when this host goes away, even by SIGKILL.
          '--exit-with-parent',
        ],
        env: { ...process.env, SKIFF_DATA_DIR: dataDir },
        // Agents log to their node's folder; `--verbose` sends their logs to the terminal as well.
        ...(options.log ? {} : { logFile: join(dataDir, 'nodes', name, 'agent.log') }),
      });
      nodeNames.push(name);
    }
    cleanups.push(async () => {
      await agents.stop();
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
      joinNode,
      killAgent(name, signal = 'SIGKILL', killOptions = {}) {
        agents.kill(name, signal, killOptions);
      },
      agentPid: (name) => agents.pid(name),
      agentRestarts: (name) => agents.restarts(name),
      ...(dynamoDbLocal ? { dynamoDbPid: dynamoDbLocal.pid } : {}),
      watchChannel,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

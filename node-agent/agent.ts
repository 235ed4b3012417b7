/**
 * The node agent, Skiff's kubelet: registers its Node, renews its Lease, watches the pods bound
 * to it and hands each to a PodWorker, and serves container logs. It talks to the cluster only
 * through the API (a KubeClient), never to the store.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseCidr } from '../functions/core/ipv4-range.ts';
import { kubeMicroTime, kubeTime } from '../functions/core/kube-time.ts';
import { kubernetesServiceIp } from '../functions/domain/services/service-allocation-plan.ts';
import { type Log, silentLog } from '../functions/logging/log.ts';
import type { KubeObject } from '../schemas/meta.ts';
import { types } from '../schemas/registry.ts';
import { type BackOffPolicy, kubeletBackOff } from './back-off.ts';
import { systemClock } from './clock.ts';
import { EventRecorder } from './event-recorder.ts';
import { loadImageTable } from './images.ts';
import { abortableDelay, isAlreadyExists, isConflict, isNotFound, KubeApiError, KubeClient } from './kube-client.ts';
import type { ClusterCredentials } from './kubeconfig.ts';
import { startKubeletServer } from './kubelet-server.ts';
import { EcsTaskStatsSource } from './metrics/ecs-task-stats.ts';
import { ProcUsageSource } from './metrics/proc-usage.ts';
import { type UsageSource, UsageTracker } from './metrics/resource-usage.ts';
import { evictPods } from './node-drain.ts';
import { buildLease, buildNode, leaseRenewSeconds, type NodeSettings, nodeLeaseNamespace, nodeStatus } from './node-object.ts';
import { PodAddressBook } from './pod-addresses.ts';
import { defaultPodCidr } from './pod-cidr.ts';
import { parsePod, withListeningReadiness } from './pod-view.ts';
import { PodWorker } from './pod-worker.ts';
import { type ClusterIpRouting, startClusterIpRouting } from './proxy/cluster-ip-routing.ts';
import { ensureBridgeNetfilter, type NetworkPolicyEnforcement, startNetworkPolicyEnforcement } from './proxy/network-policy-enforcement.ts';
import { type RoutingPeers, startRoutingPeers } from './proxy/routing-peers.ts';
import { appliedEndpointsAnnotation, appliedSlicesAnnotation } from './proxy/routing-release.ts';
import { type ServiceProxy, startServiceProxy } from './proxy/service-proxy.ts';
import { amazonTrustServicesRoots } from './public-roots.ts';
import { EcsRuntime } from './runtime/ecs-runtime.ts';
import { choosePodNetworkMode, namespaceTools, PodNetwork, type PodNetworkMode } from './runtime/pod-network.ts';
import { defaultPodsDir, ProcessRuntime } from './runtime/process-runtime.ts';
import { type ContainerRuntime, ExecUnavailableError } from './runtime/runtime.ts';
import { SimRuntime } from './runtime/sim-runtime.ts';
import { ServiceAccountVolumes } from './service-account-volume.ts';
import { StreamTargetError } from './streaming/streaming-server.ts';

export interface AgentOptions {
  readonly credentials: ClusterCredentials;
  readonly nodeName: string;
  /** @default 'process' */
  readonly runtime?: 'process' | 'sim';
  /** A runtime made by the caller (the `ecs` runtime, which needs AWS clients); overrides `runtime`. */
  readonly containerRuntime?: ContainerRuntime;
  /** Address the kubelet API listens on. @default the node's address */
  readonly kubeletAddress?: string;
  /** @default '4' */
  readonly cpu?: string;
  /** @default '8Gi' */
  readonly memory?: string;
  /** @default 110 */
  readonly pods?: number;
  /** The node's InternalIP; the kubelet API listens here. @default '127.0.0.1' */
  readonly address?: string;
  /** @default derived from the node name (ADR 080) */
  readonly podCidr?: string;
  /** Port of the kubelet API. @default 0 (a free port) */
  readonly port?: number;
  /** Where runtime state and logs live. Required for the process runtime. */
  readonly stateDir: string;
  /** A user image table laid over the shipped one. @default '<stateDir>/../../images.json' */
  readonly imagesFile?: string;
  /** Folders process pods must not see when the agent is not root (see ProcessRuntimeOptions.hiddenPaths). */
  readonly hiddenPaths?: readonly string[];
  readonly labels?: Readonly<Record<string, string>>;
  /** @default 10, or 20 over the watch channel (docs/adr/074) */
  readonly leaseRenewSeconds?: number;
  /** @default 40 */
  readonly leaseDurationSeconds?: number;
  /** How often the Ready condition's heartbeat is rewritten; the Lease is the liveness signal. @default 300 */
  readonly nodeStatusReportSeconds?: number;
  /** @default the kubelet's 10 s doubling to 5 min */
  readonly backOff?: BackOffPolicy;
  /**
   * Serve the Services' NodePorts on the node address and 127.0.0.1 (kube-proxy's job, ADR 091).
   * @default true for the process and ecs runtimes, false for sim
   */
  readonly serviceProxy?: boolean;
  /** Stop the pods' containers when the agent stops (otherwise they are left for adoption). @default false */
  readonly stopContainersOnStop?: boolean;
  /** A container's log is rotated at this size (the kubelet's containerLogMaxSize). @default 10 MiB */
  readonly containerLogMaxBytes?: number;
  /** Log files kept per container run (the kubelet's containerLogMaxFiles). @default 5 */
  readonly containerLogMaxFiles?: number;
  /** How long the logs of a finished pod are still served. @default 30 */
  readonly finishedPodLogRetentionSeconds?: number;
  /**
   * How pods are networked (docs/adr/136): `namespaces` gives each pod its own network, PID,
   * mount, UTS and IPC namespaces on the node's bridge (root only); `loopback` runs them as host
   * processes on loopback addresses; `auto` picks namespaces when it can. @default 'auto'
   */
  readonly podNetwork?: PodNetworkMode | 'auto';
  /** The nameserver pods' resolv.conf names in namespace mode (the kube-dns Service's ClusterIP). */
  readonly clusterDns?: string;
  /** The service range: pods in namespace mode reach the API at its first address (the `kubernetes` Service). @default 10.96.0.0/12 */
  readonly serviceCidr?: string;
  /**
   * Credentials that may list and watch every pod, namespace and NetworkPolicy (a node may not):
   * with them a node in namespace mode enforces NetworkPolicies (docs/adr/209). Without them, or
   * in another mode, policies are accepted by the API and not enforced.
   */
  readonly networkPolicyCredentials?: ClusterCredentials;
  /**
   * How often containers' usage is measured for the resource metrics (`/stats/summary`,
   * `/metrics/resource`); a CPU rate needs two measurements. @default 10
   */
  readonly metricsResolutionSeconds?: number;
  /**
   * Seconds between the reports of the node's figures over the watch channel, for an API that
   * cannot reach the kubelet API (on AWS, docs/adr/193); 0: none. @default 0
   */
  readonly metricsReportSeconds?: number;
  /** Where usage comes from. @default /proc for the process runtime, ECS task stats for ecs, zeros for sim */
  readonly usageSource?: UsageSource;
  /** Aborting it while the agent starts makes `startAgent` give up (its host went away). */
  readonly signal?: AbortSignal;
  readonly log?: Log;
}

export interface RunningAgent {
  readonly nodeName: string;
  readonly kubeletPort: number;
  readonly podCidr: string;
  /** Writes the node heartbeat endpoint took, and failures that sent one through the API (docs/adr/196); undefined without an endpoint. */
  heartbeatStats(): { readonly sent: number; readonly failures: number } | undefined;
  /**
   * The node is going away (its instance is terminating): cordons the Node, evicts its pods as
   * `kubectl drain` does, keeping PodDisruptionBudgets for up to `evictionTimeoutMs` (by default
   * all but the last 2 minutes of `timeoutMs`, at least half of it), so their controllers
   * re-create them elsewhere; deletes what is left (DaemonSet pods, pods still protected);
   * waits until they are gone (at most `timeoutMs`), then stops renewing the Lease and deletes
   * the Node.
   */
  drain(timeoutMs?: number, evictionTimeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startAgent(options: AgentOptions): Promise<RunningAgent> {
  const log = options.log ?? silentLog;
  const nodeName = options.nodeName;
  const address = options.address ?? '127.0.0.1';
  const runtimeKind = options.containerRuntime?.kind ?? options.runtime ?? 'process';
  mkdirSync(options.stateDir, { recursive: true, mode: 0o700 });
  const client = new KubeClient(options.credentials, undefined, {
    log,
    // The Lease is gone or the channel may not renew it: the next renewal goes over REST (and recreates it).
    onLeaseError: (_node, error) => {
      log.warn('lease renewal over the watch channel refused', { code: error.code, error: error.message });
      lease = undefined;
    },
  });
  const abort = new AbortController();
  const startAborted = () => abort.abort();
  options.signal?.addEventListener('abort', startAborted, { once: true });
  const runtime: ContainerRuntime =
    options.containerRuntime ??
    (runtimeKind === 'sim'
      ? new SimRuntime()
      : new ProcessRuntime({
          stateDir: options.stateDir,
          images: loadImageTable(options.imagesFile ?? join(options.stateDir, '..', '..', 'images.json')),
          ...(options.hiddenPaths ? { hiddenPaths: options.hiddenPaths } : {}),
          ...(options.containerLogMaxBytes !== undefined ? { containerLogMaxBytes: options.containerLogMaxBytes } : {}),
          ...(options.containerLogMaxFiles !== undefined ? { containerLogMaxFiles: options.containerLogMaxFiles } : {}),
        }));
  const workers = new Map<string, PodWorker>();
  const byName = new Map<string, PodWorker>();
  /**
   * Workers of pods just finished, by name: their containers' logs are still served for
   * `finishedPodLogRetentionSeconds`, so a `kubectl logs` that found the pod in the API a moment
   * before its deletion still gets the log rather than a 404 (docs/adr/083).
   */
  const retired = new Map<string, PodWorker>();
  const retiring = new Set<NodeJS.Timeout>();
  const retentionMs = (options.finishedPodLogRetentionSeconds ?? 30) * 1000;
  const nameKey = (namespace: string, name: string) => `${namespace}/${name}`;

  const usage = new UsageTracker(nodeName);
  const usageSource = options.usageSource ?? defaultUsageSource(runtime);
  let measuring: Promise<void> | undefined;
  const measure = () => {
    measuring ??= usageSource
      .sample()
      .then((sample) => usage.record(sample))
      .catch((error: unknown) => log.warn('resource usage not measured', { error: String(error) }))
      .finally(() => {
        measuring = undefined;
      });
    return measuring;
  };
  const measureTimer = setInterval(() => void measure(), (options.metricsResolutionSeconds ?? 10) * 1000);
  measureTimer.unref();
  void measure();

  const server = await startKubeletServer({
    address: options.kubeletAddress ?? address,
    port: options.port ?? 0,
    ...(options.credentials.token ? { token: options.credentials.token } : {}),
    usage,
    logs: {
      find(namespace, pod) {
        const worker = byName.get(nameKey(namespace, pod)) ?? retired.get(nameKey(namespace, pod));
        if (!worker) return undefined;
        return {
          containerNames: [...worker.view.spec.containers, ...worker.view.spec.initContainers, ...worker.view.spec.ephemeralContainers].map((c) => c.name),
          record: (container, previous) => worker.logRecord(container, previous),
          refresh: (id) => runtime.container(id),
          waitingReason: (container) => worker.waitingReason(container),
        };
      },
    },
    // exec, attach and port forwarding into the pods of this node (docs/adr/140).
    streaming: {
      container(namespace, pod, container) {
        const worker = byName.get(nameKey(namespace, pod));
        if (!worker) throw new StreamTargetError(404, `pod "${pod}" in namespace "${namespace}" is not on this node`);
        const names = [...worker.view.spec.containers, ...worker.view.spec.initContainers, ...worker.view.spec.ephemeralContainers].map((c) => c.name);
        if (!names.includes(container)) throw new StreamTargetError(400, `container ${container} is not valid for pod ${pod}`);
        const record = worker.logRecord(container, false);
        const { openExec, openAttach } = runtime;
        if (!openExec || !openAttach) throw new StreamTargetError(400, `the ${runtime.kind} runtime of this node cannot exec into containers`);
        if (!record || record.exit || record.creating) throw new StreamTargetError(400, `container not found ("${container}")`);
        const guard = <T>(open: () => T): T => {
          try {
            return open();
          } catch (error) {
            if (error instanceof ExecUnavailableError) throw new StreamTargetError(400, error.message);
            throw error;
          }
        };
        return {
          exec: (argv, execOptions) => guard(() => openExec.call(runtime, record.id, argv, execOptions)),
          attach: (attachOptions) => guard(() => openAttach.call(runtime, record.id, attachOptions)),
        };
      },
      podAddress(namespace, pod) {
        const worker = byName.get(nameKey(namespace, pod));
        if (!worker) throw new StreamTargetError(404, `pod "${pod}" in namespace "${namespace}" is not on this node`);
        const address = worker.address;
        if (!address) throw new StreamTargetError(400, `pod "${pod}" has no address yet`);
        return address;
      },
    },
  });

  const serviceAccountVolumes = new ServiceAccountVolumes({
    client,
    // Beside the pods' other volumes, where their users can read them: never in the state dir (ADR 084).
    podsDir: defaultPodsDir(options.stateDir),
    caPem: podApiAccess(options.credentials).caPem,
    clock: systemClock,
    log,
  });
  const stopEverything = async () => {
    abort.abort();
    clearInterval(measureTimer);
    serviceAccountVolumes.close();
    await server.close();
    await runtime.close();
    client.close();
  };

  const processRuntime = runtime instanceof ProcessRuntime ? runtime : undefined;
  const networkOf = (cidr: string) => (processRuntime ? choosePodNetworkMode(options.podNetwork ?? 'auto', cidr) : undefined);
  let podCidr: string;
  let podNetwork: ReturnType<typeof networkOf>;
  /**
   * The Node as this agent last wrote it: the next status report writes on top of it, without a
   * read (a conflict reads it). Declared before registration, which writes it on re-registration.
   */
  let lastWrittenNode: KubeObject | undefined;
  try {
    podCidr = await registerNode();
    if (abort.signal.aborted) throw new Error('the agent was stopped while it registered its node');
  } catch (error) {
    await stopEverything();
    throw error;
  } finally {
    options.signal?.removeEventListener('abort', startAborted);
  }
  podNetwork = networkOf(podCidr);
  let clusterIpRouting: ClusterIpRouting | undefined;
  let networkPolicies: { readonly enforcement: NetworkPolicyEnforcement; readonly client: KubeClient } | undefined;
  let routingPeers: RoutingPeers | undefined;
  let proxy: ServiceProxy | undefined;
  const appliedHere = () => ({ slices: clusterIpRouting?.appliedRevision() ?? 0n, endpoints: proxy?.appliedRevision() ?? 0n });
  if (processRuntime && podNetwork?.mode === 'namespaces') {
    const network = new PodNetwork({
      stateDir: options.stateDir,
      podCidr,
      ...(options.clusterDns ? { clusterDns: options.clusterDns } : {}),
      log: (message, fields) => log.info(message, fields),
      // A pod's containers start once the policies selecting it hold for its address (docs/adr/209).
      sandboxReady: (spec) => networkPolicies?.enforcement.admit(spec) ?? Promise.resolve(),
    });
    await network.setUp();
    processRuntime.attachNetwork(network);
    const tools = namespaceTools();
    if (!('missing' in tools)) {
      // The Node says what this node's proxies have applied, for terminating pods' agents (ADR 170).
      routingPeers = startRoutingPeers({
        client,
        nodeName,
        here: (ip) => (clusterIpRouting?.routes(ip) || proxy?.routes(ip) ? 'routes' : appliedHere()),
        applied: appliedHere,
        log,
      });
      await routingPeers.started;
      clusterIpRouting = startClusterIpRouting({
        client,
        nft: tools.nft,
        table: network.names.table,
        bridge: network.names.bridge,
        log,
        onApplied: () => routingPeers?.publish(),
      });
      if (options.networkPolicyCredentials) {
        ensureBridgeNetfilter(log);
        // Its own identity, over REST watches: the watch channel carries the node's own kinds.
        const policyClient = new KubeClient({ ...options.networkPolicyCredentials, watchChannel: undefined }, undefined, { log });
        const enforcement = startNetworkPolicyEnforcement({ client: policyClient, nft: tools.nft, table: network.names.policyTable, nodeName, log });
        networkPolicies = { enforcement, client: policyClient };
      } else {
        log.warn('NetworkPolicies are not enforced on this node: no --network-policy-kubeconfig');
      }
    }
  }
  // A node that routes nothing to pod addresses must not say it does: annotations left by an
  // earlier run in namespace mode would hold other nodes' terminating pods (ADR 170).
  const leftAnnotations = (lastWrittenNode?.metadata.annotations ?? {}) as Record<string, string>;
  if (!routingPeers && (appliedSlicesAnnotation in leftAnnotations || appliedEndpointsAnnotation in leftAnnotations)) {
    await client
      .patch(types.nodes, undefined, nodeName, 'merge', { metadata: { annotations: { [appliedSlicesAnnotation]: null, [appliedEndpointsAnnotation]: null } } })
      .catch((error: unknown) => log.warn('applied revisions not removed from the Node', { error: String(error) }));
  }
  const addresses = new PodAddressBook(podCidr, runtimeKind === 'sim' ? undefined : options.stateDir);
  const events = new EventRecorder(client, nodeName, (error) => log.warn('event not written', { error: String(error) }));

  const settings = (): NodeSettings => ({
    name: nodeName,
    address,
    podCidr,
    cpu: options.cpu ?? '4',
    memory: options.memory ?? '8Gi',
    pods: options.pods ?? 110,
    kubeletPort: server.port,
    containerRuntimeVersion: runtime.version,
    ...(options.labels ? { labels: options.labels } : {}),
    ...(podNetwork ? { podNetwork } : {}),
  });

  // The mode is known once the podCIDR is: the Node says it (NetworkUnavailable, False).
  if (podNetwork) writeNodeStatus(settings()).catch((error: unknown) => log.warn('node status update failed', { error: String(error) }));

  /** Creates the Node, or takes over an existing one (an agent restart), keeping its podCIDR. */
  async function registerNode(): Promise<string> {
    const wanted = options.podCidr ?? defaultPodCidr(nodeName);
    if (!parseCidr(wanted)) throw new Error(`invalid --pod-cidr ${JSON.stringify(wanted)}`);
    const base: NodeSettings = {
      name: nodeName,
      address,
      podCidr: wanted,
      cpu: options.cpu ?? '4',
      memory: options.memory ?? '8Gi',
      pods: options.pods ?? 110,
      kubeletPort: server.port,
      containerRuntimeVersion: runtime.version,
      ...(options.labels ? { labels: options.labels } : {}),
    };
    const network = networkOf(wanted);
    if (network) Object.assign(base, { podNetwork: network });
    for (;;) {
      try {
        await client.create(types.nodes, buildNode(base, kubeTime(Date.now())));
        log.info('node registered', { node: nodeName, podCidr: wanted });
        return wanted;
      } catch (error) {
        if (!isAlreadyExists(error) && !isConflict(error)) {
          // The API refusing the Node (bad settings, no permission) will not change by retrying.
          if (error instanceof KubeApiError && error.code >= 400 && error.code < 500 && error.code !== 429) throw error;
          log.warn('node registration failed, retrying', { error: String(error) });
          await abortableDelay(2000, abort.signal);
          if (abort.signal.aborted) throw error;
          continue;
        }
      }
      const existing = await client.get(types.nodes, undefined, nodeName);
      const spec = (existing.spec ?? {}) as { podCIDR?: string };
      const podCidrInUse = spec.podCIDR && parseCidr(spec.podCIDR) ? spec.podCIDR : wanted;
      await writeNodeStatus({ ...base, podCidr: podCidrInUse }, existing);
      log.info('node re-registered', { node: nodeName, podCidr: podCidrInUse });
      return podCidrInUse;
    }
  }

  async function writeNodeStatus(nodeSettings: NodeSettings, existing?: KubeObject): Promise<void> {
    let known = existing ?? lastWrittenNode;
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const node = known ?? (await client.get(types.nodes, undefined, nodeName));
      known = undefined;
      lastWrittenNode = undefined;
      const previous = ((node.status ?? {}) as { conditions?: { type?: string; status?: string; lastTransitionTime?: string }[] }).conditions ?? [];
      try {
        // Over the heartbeat endpoint when there is one (docs/adr/196), else through the API.
        lastWrittenNode = await client.heartbeatUpdate(
          types.nodes,
          { ...node, status: { ...(node.status as object), ...nodeStatus(nodeSettings, kubeTime(Date.now()), previous) } },
          'status',
        );
        return;
      } catch (error) {
        if (!isConflict(error)) throw error;
      }
    }
  }

  let lease: KubeObject | undefined;
  let nodeUid: string | undefined;
  const renewSeconds =
    options.leaseRenewSeconds ?? (client.heartbeat ? leaseRenewSeconds.heartbeat : client.channel ? leaseRenewSeconds.channel : leaseRenewSeconds.rest);
  /**
   * One renewal. Every call has the renew interval as its deadline, as the kubelet's heartbeat
   * client does: a renewal that hangs fails in time for the next one (docs/adr/083).
   */
  async function renewLease(signal: AbortSignal, conflicts = 0): Promise<void> {
    const call = { signal, timeoutMs: renewSeconds * 1000 };
    const duration = options.leaseDurationSeconds ?? 40;
    // The renewal is a PUT of the Lease this agent last wrote, to the heartbeat endpoint (docs/adr/196:
    // one Lambda invocation on AWS). Without one, or while it is failing, the watch channel takes
    // it (docs/adr/074: one message, no answer); the first renewal, and any while neither works,
    // go through the API.
    if (lease && !client.heartbeat?.usable() && client.channel?.renewLease(nodeName, duration)) return;
    if (!nodeUid) nodeUid = (await client.get(types.nodes, undefined, nodeName, call)).metadata.uid;
    if (!lease) {
      try {
        lease = await client.get(types.leases, nodeLeaseNamespace, nodeName, call);
      } catch (error) {
        if (!isNotFound(error)) throw error;
        lease = await client.create(types.leases, buildLease(nodeName, nodeUid, duration, new Date()), call);
        return;
      }
    }
    const spec = { ...((lease.spec ?? {}) as object), holderIdentity: nodeName, leaseDurationSeconds: duration, renewTime: kubeMicroTime(Date.now()) };
    try {
      lease = await client.heartbeatUpdate(types.leases, { ...lease, spec }, undefined, call);
    } catch (error) {
      lease = undefined;
      if ((!isConflict(error) && !isNotFound(error)) || conflicts >= 3) throw error;
      await renewLease(signal, conflicts + 1);
    }
  }

  const timers: NodeJS.Timeout[] = [];
  /**
   * Runs `task` every `seconds`, one run at a time. A run still going after twice the interval
   * is given up (its signal aborts) and the next one starts: one hung call never stops the loop.
   */
  const every = (seconds: number, task: (signal: AbortSignal) => Promise<void>, what: string) => {
    let current: { controller: AbortController; startedAt: number } | undefined;
    const timer = setInterval(() => {
      if (abort.signal.aborted) return;
      if (current) {
        if (Date.now() - current.startedAt < 2 * seconds * 1000) return;
        log.warn(`${what} still running after ${2 * seconds} s: giving it up and starting again`);
        current.controller.abort();
      }
      const run = { controller: new AbortController(), startedAt: Date.now() };
      current = run;
      task(AbortSignal.any([run.controller.signal, abort.signal]))
        .catch((error: unknown) => {
          if (!run.controller.signal.aborted) log.warn(`${what} failed`, { error: String(error) });
        })
        .finally(() => {
          if (current === run) current = undefined;
        });
    }, seconds * 1000);
    timers.push(timer);
  };
  await renewLease(abort.signal).catch((error: unknown) => log.warn('lease renewal failed', { error: String(error) }));
  if (runtimeKind !== 'sim') {
    events.recordNode(nodeUid, 'Normal', 'Starting', 'Starting kubelet.');
    events.recordNode(nodeUid, 'Normal', 'NodeReady', `Node ${nodeName} status is now: NodeReady`);
  }
  every(renewSeconds, (signal) => renewLease(signal), 'lease renewal');
  // On AWS the API cannot reach this kubelet API: the figures it serves go over the watch channel.
  const reportSeconds = options.metricsReportSeconds ?? 0;
  if (reportSeconds > 0) {
    every(
      reportSeconds,
      async () => {
        const summary = usage.summary();
        if (summary) client.channel?.sendNodeStats(nodeName, summary);
      },
      'resource figures report',
    );
  }
  every(options.nodeStatusReportSeconds ?? 300, () => writeNodeStatus(settings()), 'node status update');

  const namespaced = () => processRuntime?.networkMode === 'namespaces';
  /** Forgets a pod's containers and logs; in namespace mode its sandbox goes and its address is free again. */
  const removePod = (uid: string) => {
    runtime.removePod(uid);
    if (namespaced()) addresses.release(uid);
  };
  const context = {
    runtime,
    client,
    events,
    nodeName,
    hostIP: address,
    backOff: options.backOff ?? kubeletBackOff,
    allocatePodIp: (uid: string) => addresses.allocate(uid),
    // In namespace mode a finished pod keeps its sandbox (its address answering with resets, not
    // silence) until the pod is removed, and its address with it: never two veths with one address.
    releasePodIp: (uid: string) => {
      if (!namespaced()) addresses.release(uid);
    },
    serviceAccountVolumes,
    // A deleted pod keeps serving while some node's ClusterIP rules or NodePort proxy may still
    // send it connections (ADR 170).
    ...(routingPeers ? { serviceRoutingHold: (podIP: string, nowMs: number, deadlineMs: number) => routingPeers?.holdFor(podIP, nowMs, deadlineMs) } : {}),
    // In its own network a pod cannot reach the host's loopback: it finds the API as the
    // `kubernetes` Service's ClusterIP, which the node's rules send to the API server.
    apiServer:
      podNetwork?.mode === 'namespaces' ? { host: kubernetesServiceIp(options.serviceCidr), port: '443' } : podApiAccess(options.credentials).apiServer,
    onFinished(uid: string) {
      serviceAccountVolumes.release(uid);
      finished.add(uid);
      if (finished.size > 10_000) finished.delete(finished.values().next().value ?? '');
      const worker = workers.get(uid);
      workers.delete(uid);
      if (!worker) {
        removePod(uid);
        return;
      }
      const key = nameKey(worker.view.metadata.namespace, worker.view.metadata.name);
      if (byName.get(key) === worker) byName.delete(key);
      retired.set(key, worker);
      const timer = setTimeout(() => {
        retiring.delete(timer);
        if (retired.get(key) === worker) retired.delete(key);
        removePod(uid);
      }, retentionMs);
      timer.unref();
      retiring.add(timer);
    },
    log,
  };

  /** Pods whose deletion this agent finished: late watch events about them are ignored. */
  const finished = new Set<string>();

  function upsert(raw: KubeObject): void {
    if (raw.metadata.uid && finished.has(raw.metadata.uid)) return;
    const parsed = parsePod(raw);
    const pod = 'error' in parsed || podNetwork?.mode !== 'namespaces' ? parsed : withListeningReadiness(parsed);
    if ('error' in pod) {
      log.warn('pod cannot be run', { pod: `${raw.metadata.namespace}/${raw.metadata.name}`, error: pod.error });
      return;
    }
    if (pod.view.spec.nodeName !== nodeName) return;
    const existing = workers.get(pod.view.metadata.uid);
    if (existing) {
      existing.update(pod);
      return;
    }
    const worker = new PodWorker(pod, context);
    workers.set(pod.view.metadata.uid, worker);
    byName.set(nameKey(pod.view.metadata.namespace, pod.view.metadata.name), worker);
    worker.kick();
  }

  let listedOnce = false;
  runtime.onExit((record) => workers.get(record.pod.uid)?.kick());
  runtime.onUpdate?.((record) => workers.get(record.pod.uid)?.kick());
  void client.listAndWatch(
    types.pods,
    { fieldSelector: `spec.nodeName=${nodeName}` },
    {
      onList(items) {
        const seen = new Set<string>();
        for (const item of items) {
          if (item.metadata.uid) seen.add(item.metadata.uid);
          upsert(item);
        }
        for (const [uid, worker] of workers) if (!seen.has(uid)) worker.podDeleted();
        if (!listedOnce) {
          listedOnce = true;
          void removeOrphans(seen);
        }
      },
      onEvent(event) {
        if (event.type === 'DELETED') {
          const uid = event.object.metadata.uid;
          if (uid) workers.get(uid)?.podDeleted();
          return;
        }
        upsert(event.object);
      },
      onError: (error) => log.warn('pod watch failed, retrying', { error: String(error) }),
    },
    abort.signal,
  );

  /** Containers of pods that were deleted while no agent ran: stop them and free their address. */
  async function removeOrphans(live: ReadonlySet<string>): Promise<void> {
    const orphanUids = new Set([...runtime.containers().map((r) => r.pod.uid), ...addresses.uids()].filter((uid) => !live.has(uid)));
    for (const uid of orphanUids) {
      const records = runtime.containers().filter((r) => r.pod.uid === uid && !r.exit);
      await Promise.all(records.map((r) => runtime.stop(r.id, 2000)));
      runtime.removePod(uid);
      addresses.release(uid);
      log.info('removed containers of a pod that no longer exists', { uid });
    }
  }

  proxy =
    (options.serviceProxy ?? runtimeKind !== 'sim')
      ? startServiceProxy({ client, bindAddresses: [address, '127.0.0.1'], log, onEndpoints: () => routingPeers?.publish() })
      : undefined;

  log.info('node agent started', { node: nodeName, runtime: runtimeKind, address, kubeletPort: server.port, podCidr });
  return {
    nodeName,
    kubeletPort: server.port,
    podCidr,
    heartbeatStats: () => (client.heartbeat ? { ...client.heartbeat.stats } : undefined),
    async drain(timeoutMs = 10 * 60_000, evictionTimeoutMs = Math.max(timeoutMs / 2, timeoutMs - 2 * 60_000)) {
      const deadline = Date.now() + timeoutMs;
      const evictionDeadline = Date.now() + Math.min(evictionTimeoutMs, timeoutMs);
      await client.patch(types.nodes, undefined, nodeName, 'merge', { spec: { unschedulable: true } });
      log.info('node cordoned', { node: nodeName });
      const pods = await client.list(types.pods, { fieldSelector: `spec.nodeName=${nodeName}` });
      const blocked = await evictPods(client, pods.items, { until: evictionDeadline, signal: abort.signal, log });
      log.info('pods evicted for drain', { node: nodeName, pods: pods.items.length, blockedByBudgets: blocked.length });
      // What is left goes with a graceful delete, so it gets its grace period before the
      // instance does: DaemonSet pods, and pods the budgets still protect at the deadline (an
      // evicted pod is already terminating, or gone).
      const remaining = (await client.list(types.pods, { fieldSelector: `spec.nodeName=${nodeName}` })).items.filter((pod) => !pod.metadata.deletionTimestamp);
      if (blocked.length > 0)
        log.warn('disruption budgets still forbid evictions; deleting the pods before the instance goes', { node: nodeName, pods: blocked.length });
      await Promise.all(
        remaining.map(async (pod) => {
          try {
            await client.delete(types.pods, pod.metadata.namespace, pod.metadata.name ?? '', { ...(pod.metadata.uid ? { uid: pod.metadata.uid } : {}) });
          } catch (error) {
            if (!isNotFound(error) && !isConflict(error)) throw error;
          }
        }),
      );
      while (workers.size > 0 && Date.now() < deadline && !abort.signal.aborted) await abortableDelay(500, abort.signal);
      if (workers.size > 0) log.warn('pods still stopping when the drain timed out', { node: nodeName, pods: workers.size });
      for (const timer of timers) clearInterval(timer);
      for (const [type, namespace] of [
        [types.leases, nodeLeaseNamespace],
        [types.nodes, undefined],
      ] as const) {
        try {
          await client.delete(type, namespace, nodeName);
        } catch (error) {
          if (!isNotFound(error)) throw error;
        }
      }
      log.info('node drained and deleted', { node: nodeName });
    },
    async stop() {
      for (const timer of timers) clearInterval(timer);
      // Finished pods whose logs were still kept: their records go now.
      for (const timer of retiring) clearTimeout(timer);
      for (const worker of retired.values()) removePod(worker.uid);
      retired.clear();
      await proxy?.stop();
      await clusterIpRouting?.stop();
      await networkPolicies?.enforcement.stop();
      networkPolicies?.client.close();
      await routingPeers?.stop();
      if (options.stopContainersOnStop) {
        await Promise.all([...workers.values()].map((worker) => worker.stopContainers(Math.min(5, worker.view.spec.terminationGracePeriodSeconds) * 1000)));
        // Anything else still running (a pod deleted mid-start, an orphan): stop it too.
        await Promise.all(
          runtime
            .containers()
            .filter((record) => !record.exit)
            .map((record) => runtime.stop(record.id, 2000)),
        );
      } else {
        for (const worker of workers.values()) worker.detach();
      }
      await stopEverything();
      log.info('node agent stopped', { node: nodeName });
    },
  };
}

/**
 * How a pod reaches the API: the host and port of `KUBERNETES_SERVICE_HOST`/`_PORT` — the
 * kubeconfig's in-cluster server when it names one (on AWS the API's function URL, as the REST
 * API's base path cannot be carried by those variables: ADR 147), else the agent's own server —
 * and the CA its `ca.crt` holds when the cluster publishes none: the agent's own, or, when the
 * agent trusts the system's roots, Amazon Trust Services' roots that verify AWS's endpoints.
 */
export function podApiAccess(credentials: Pick<ClusterCredentials, 'server' | 'inClusterServer' | 'caPem'>): {
  apiServer: { host: string; port: string };
  caPem: string;
} {
  const url = new URL(credentials.inClusterServer ?? credentials.server);
  return {
    apiServer: { host: url.hostname.replace(/^\[|\]$/g, ''), port: url.port || (url.protocol === 'http:' ? '80' : '443') },
    caPem: credentials.caPem ?? amazonTrustServicesRoots(),
  };
}

/** What the node measures its containers with, by runtime. */
function defaultUsageSource(runtime: ContainerRuntime): UsageSource {
  if (runtime instanceof EcsRuntime) {
    return new EcsTaskStatsSource({ containers: () => runtime.containers(), runtimeIdOf: (id) => runtime.runtimeIdOf(id) });
  }
  if (runtime.kind === 'process') return new ProcUsageSource({ containers: () => runtime.containers() });
  // Simulated containers do nothing: they use nothing.
  return {
    sample: async () => {
      const timeMs = Date.now();
      return {
        node: { cpuCoreNanoSeconds: 0, memoryWorkingSetBytes: 0, timeMs },
        containers: runtime
          .containers()
          .filter((record) => !record.exit)
          .map((record) => ({
            namespace: record.pod.namespace,
            pod: record.pod.name,
            uid: record.pod.uid,
            container: record.containerName,
            startTime: record.startedAt,
            cpuCoreNanoSeconds: 0,
            memoryWorkingSetBytes: 0,
            timeMs,
          })),
      };
    },
  };
}

/**
 * Scenario 5: the cost model. Each scenario runs on the metered control plane and its usage is
 * extrapolated to a month: idle control plane (no nodes), one idle node (Lease renewals and status
 * updates through the node heartbeat endpoint's handler, its watch channel connection and
 * reconnects), 100 nodes × 30 pods steady, and
 * a rollout of 1,000 pods (from the pod startup scenario). Prices: bench/prices.ts, stated in the
 * results.
 */
import { resyncFullPassSeconds } from '../../functions/controller-runtime/run-controllers.ts';
import { kubeMicroTime, kubeTime } from '../../functions/core/kube-time.ts';
import { inChunks } from '../../functions/store/list-all.ts';
import { leaseRenewSeconds, nodeLeaseNamespace } from '../../node-agent/index.ts';
import type { KubeObject } from '../../schemas/meta.ts';
import { types } from '../../schemas/registry.ts';
import { type BenchPlane, benchNodeToken } from '../bench-plane.ts';
import { addUnits, type BilledUnits, billedUnits, type Dollars, dollars, noUnits, roundDollars, scaleUnits } from '../cost-model.ts';
import { type Meter, type Usage, unitsByTarget, usageBetween } from '../metering.ts';
import { type Prices, secondsPerMonth } from '../prices.ts';
import type { Progress } from '../progress.ts';
import { seedNodes, simNodeNames, startSimKubelet } from '../sim-kubelet.ts';

/** The agent's cadence (node-agent/agent.ts) and the stack's resync schedule (cdk/skiff-stack.ts). */
export const cadence = {
  /** Over the node heartbeat endpoint (docs/adr/196). */
  leaseRenewSeconds: leaseRenewSeconds.heartbeat,
  /** The watch channel carries no renewals: the agent pings it after this long without a message (node-agent/watch-channel.ts). */
  channelPingSeconds: 300,
  nodeStatusSeconds: 300,
  resyncSeconds: 60,
  /** The Resync Lambda's full pass; the passes between read the change log (docs/adr/053). */
  resyncFullPassSeconds,
  /** API Gateway WebSocket: any connection ends after 2 h (idle ones after 10 min; the Lease renewals keep it busy). */
  webSocketReconnectSeconds: 7200,
  /** A `skiff token` lasts 15 minutes; the agent takes a new one a minute before: one STS call per new token. */
  signInTokenSeconds: 14 * 60,
  rolloutsPerMonth: 30,
} as const;

export interface CostScenario {
  /** Billed units in a month. */
  readonly units: BilledUnits;
  readonly monthlyUsd: Dollars;
  readonly measured: Record<string, unknown>;
  readonly assumptions: readonly string[];
}

export interface CostResult {
  readonly prices: Prices;
  readonly eksMonthlyUsd: number;
  /** Per measured window: DynamoDB calls and units by table, type and call, largest first. */
  readonly unitsByTarget: Breakdowns;
  readonly scenarios: {
    readonly idleControlPlane: CostScenario;
    readonly idleNode: CostScenario;
    readonly steady100Nodes30Pods: CostScenario;
    readonly rollout1000Pods: CostScenario & { readonly perRolloutUsd: Dollars };
  };
}

export interface CostOptions {
  readonly plane: BenchPlane;
  readonly meter: Meter;
  readonly progress: Progress;
  readonly prices: Prices;
  readonly idleWindowSeconds: number;
  readonly heartbeatSamples: number;
  readonly steadyNodes: number;
  readonly steadyWindowSeconds: number;
  /** The pod startup scenario's usage and its replica count. */
  readonly rollout: { readonly usage: Usage; readonly replicas: number };
}

const perMonth = (seconds: number): number => secondsPerMonth / seconds;
const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

/** Where each measured window's DynamoDB units went (table, type, call), kept in the results. */
type Breakdowns = Record<string, ReturnType<typeof unitsByTarget>>;

async function measure(meter: Meter, work: () => Promise<void>, breakdowns?: Breakdowns, name?: string): Promise<Usage> {
  const before = meter.usage();
  const recorder = meter.recordCalls();
  try {
    await work();
  } finally {
    const calls = recorder.stop();
    if (breakdowns && name) breakdowns[name] = unitsByTarget(calls);
  }
  return usageBetween(before, meter.usage());
}

/**
 * One node's watch channel (docs/adr/073) for a month: connected all the time, kept from idling
 * out by a ping every 5 minutes, reconnected every 2 hours (measured: `$connect`, a list and a subscribe with catch-up for each of its three
 * subscriptions), and the STS calls that verify its sign-in tokens.
 */
function channelUnits(reconnect: BilledUnits): BilledUnits {
  return addUnits(
    {
      ...noUnits,
      webSocketConnectionMinutes: secondsPerMonth / 60,
      // Its keep-alive: API Gateway answers a ping itself (no Lambda), but bills the message.
      webSocketMessages: perMonth(cadence.channelPingSeconds),
      stsCalls: perMonth(cadence.signInTokenSeconds) + perMonth(cadence.webSocketReconnectSeconds),
    },
    scaleUnits(reconnect, perMonth(cadence.webSocketReconnectSeconds)),
  );
}

/** A month of resyncs: one full pass per `resyncFullPassSeconds`, incremental ones the rest of the time. */
function resyncMonth(incremental: Usage, full: Usage): BilledUnits {
  const fulls = perMonth(cadence.resyncFullPassSeconds);
  return addUnits(scaleUnits(billedUnits(incremental), perMonth(cadence.resyncSeconds) - fulls), scaleUnits(billedUnits(full), fulls));
}

function priced(units: BilledUnits, prices: Prices, measured: Record<string, unknown>, assumptions: readonly string[]): CostScenario {
  const rounded = Object.fromEntries(Object.entries(units).map(([key, value]) => [key, Math.round(value * 100) / 100])) as unknown as BilledUnits;
  return { units: rounded, monthlyUsd: roundDollars(dollars(units, prices)), measured, assumptions };
}

interface Renewals {
  /** Starts the nodes' renewal clocks. */
  start(): void;
  /** Renewals answered. */
  count(): number;
  /** Stops renewing and waits for the renewals in flight. */
  stop(): Promise<void>;
}

/**
 * The nodes' Lease renewals as the agent makes them (node-agent/agent.ts, docs/adr/196): every
 * `periodSeconds` a PUT of the Lease it last wrote, with a new renewTime, to the node heartbeat
 * endpoint; a 409 (someone else wrote it) reads it again through the API. The nodes are spread
 * over the period, as independent agents would be.
 */
async function prepareRenewals(plane: BenchPlane, nodeNames: readonly string[], periodSeconds: number): Promise<Renewals> {
  const leasesPath = `/apis/coordination.k8s.io/v1/namespaces/${nodeLeaseNamespace}/leases`;
  const leases = new Map<string, KubeObject>();
  // An agent keeps its Lease after the first write; one list stands in for that here.
  const listed = await plane.call('GET', leasesPath);
  for (const lease of (listed.body?.items ?? []) as KubeObject[]) {
    leases.set(lease.metadata.name ?? '', { ...lease, apiVersion: 'coordination.k8s.io/v1', kind: 'Lease' });
  }
  let answered = 0;
  const timers: NodeJS.Timeout[] = [];
  const inFlight = new Set<Promise<void>>();
  const renewOnce = async (name: string): Promise<void> => {
    const path = `${leasesPath}/${name}`;
    let lease = leases.get(name);
    if (!lease) {
      const fetched = await plane.call('GET', path);
      if (fetched.status !== 200) return;
      lease = fetched.body as KubeObject;
    }
    const result = await plane.heartbeat.put(name, path, { ...lease, spec: { ...(lease.spec as object), renewTime: kubeMicroTime(Date.now()) } });
    answered++;
    if (result.status === 200) leases.set(name, result.body as KubeObject);
    else leases.delete(name);
  };
  const renew = (name: string): void => {
    const renewal = renewOnce(name)
      .catch(() => undefined)
      .finally(() => inFlight.delete(renewal));
    inFlight.add(renewal);
  };
  const periodMs = periodSeconds * 1000;
  return {
    start() {
      nodeNames.forEach((name, index) => {
        timers.push(
          setTimeout(
            () => {
              renew(name);
              timers.push(setInterval(() => renew(name), periodMs));
            },
            (periodMs * index) / nodeNames.length,
          ),
        );
      });
    },
    count: () => answered,
    async stop() {
      for (const timer of timers) clearTimeout(timer);
      await Promise.allSettled([...inFlight]);
    },
  };
}

function runningPod(index: number, nodeName: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `steady-${String(index).padStart(5, '0')}`, namespace: 'bench-steady', labels: { app: 'steady' } },
    spec: { nodeName, containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.9' }] },
    status: { phase: 'Running', podIP: `10.99.${Math.floor(index / 250)}.${2 + (index % 250)}` },
  };
}

export async function runCost(options: CostOptions): Promise<CostResult> {
  const { plane, meter, progress, prices } = options;
  const loops = await plane.startControlLoops();
  const breakdowns: Breakdowns = {};
  const measureAs = (name: string, work: () => Promise<void>): Promise<Usage> => measure(meter, work, breakdowns, name);
  try {
    // 1. Idle control plane: nothing but the scheduled resync (stream polling by Lambda is free).
    progress.update(`cost: idle control plane for ${options.idleWindowSeconds} s`);
    // The first resync converges a new cluster once (each namespace's default ServiceAccount and
    // kube-root-ca.crt ConfigMap, written by the controllers): a deployed cluster does that in its
    // first minute, so the idle month is billed at the resync that follows, which finds nothing to do.
    const firstResync = await measureAs('firstResync', () => loops.resync());
    await sleep(1000);
    const idle = await measureAs('idle', () => sleep(options.idleWindowSeconds * 1000));
    const resyncEmpty = await measureAs('resyncEmpty', () => loops.resync());
    const resyncEmptyFull = await measureAs('resyncEmptyFull', () => loops.resync({ full: true }));
    const resyncsPerMonth = perMonth(cadence.resyncSeconds);
    const idleUnits = addUnits(scaleUnits(billedUnits(idle), perMonth(options.idleWindowSeconds)), resyncMonth(resyncEmpty, resyncEmptyFull));

    // 2. One idle node: lease renewals (each also wakes the stream consumers), status updates, resync share, watch channel.
    progress.update('cost: one idle node');
    const [nodeName] = simNodeNames('cost-idle', 1);
    await seedNodes(plane, [nodeName ?? 'cost-idle-00001'], { leases: true });
    await sleep(1000);
    // The node's watch channel (its pods' subscription); its renewals go to the heartbeat endpoint.
    const idleKubelet = await startSimKubelet({ plane, nodeNames: [nodeName ?? ''], channel: true });
    let heartbeats = 0;
    const idleRenewals = await prepareRenewals(plane, [nodeName ?? ''], 1);
    const heartbeatUsage = await measureAs('heartbeatUsage', async () => {
      // Renewals one second apart: each reaches the stream on its own, as a lone node's would.
      const renewals = idleRenewals;
      renewals.start();
      while (renewals.count() < options.heartbeatSamples) await sleep(50);
      // Renewals only: the connection's end is a reconnect's, measured below with it.
      await renewals.stop();
      heartbeats = renewals.count();
      // The stream consumers' share of the last renewal.
      await sleep(1000);
    });
    await idleKubelet.stop();
    const nodePath = `/api/v1/nodes/${nodeName}`;
    // The agent writes its status on top of the Node it last wrote (node-agent/agent.ts): no read.
    const known = await plane.call('GET', nodePath);
    const statusUpdate = await measureAs('statusUpdate', async () => {
      const node = known;
      const status = node.body.status as { conditions?: { type: string; lastHeartbeatTime?: string }[] };
      const conditions = (status.conditions ?? []).map((c) => ({ ...c, lastHeartbeatTime: kubeTime(Date.now()) }));
      // Through the node heartbeat endpoint, as the agent sends it (docs/adr/196).
      await plane.heartbeat.put(nodeName ?? '', `${nodePath}/status`, { ...node.body, apiVersion: 'v1', kind: 'Node', status: { ...status, conditions } });
      await sleep(1500);
    });
    // A reconnect after the 2-hour limit, counted as if its position had been compacted: a new
    // connection, then a list and a subscribe (with its catch-up) for each of the agent's three watches.
    const reconnect = await measureAs('reconnect', async () => {
      const connection = `reconnect-${nodeName}`;
      await plane.channel.connect(connection, benchNodeToken(nodeName ?? ''), () => undefined);
      const watches: { resource: string; path: string; query: Record<string, string> }[] = [
        { resource: 'pods', path: '/api/v1/pods', query: { fieldSelector: `spec.nodeName=${nodeName}` } },
        { resource: 'services', path: '/api/v1/services', query: {} },
        { resource: 'endpoints', path: '/api/v1/endpoints', query: {} },
      ];
      for (const watch of watches) {
        const listed = await plane.call('GET', watch.path, undefined, watch.query);
        await plane.channel.send(connection, {
          action: 'subscribe',
          id: watch.resource,
          group: '',
          version: 'v1',
          resource: watch.resource,
          ...(watch.query.fieldSelector ? { fieldSelector: watch.query.fieldSelector } : {}),
          resourceVersion: String(listed.body.metadata.resourceVersion),
        });
      }
      await plane.channel.disconnect(connection);
    });
    // The node's renewals since the last pass are on the log: the first incremental pass reads them.
    await loops.resync();
    const resyncOneNode = await measureAs('resyncOneNode', () => loops.resync());
    const resyncOneNodeFull = await measureAs('resyncOneNodeFull', () => loops.resync({ full: true }));
    // The idle node leaves before the steady cluster is measured: left behind, its Lease would lapse
    // 40 s after its last renewal, in or out of the steady window depending on the machine's speed,
    // and its turn to NotReady (two Node writes, an event, a scheduler pass over every pod) would be
    // billed as if every steady minute had one.
    await plane.store.delete(types.leases, 'kube-node-lease', nodeName ?? '').catch(() => undefined);
    await plane.store.delete(types.nodes, undefined, nodeName ?? '').catch(() => undefined);
    await sleep(1000);
    await loops.resync();
    const perHeartbeat = scaleUnits(billedUnits(heartbeatUsage), 1 / Math.max(1, heartbeats));
    const resyncShare = addUnits(resyncMonth(resyncOneNode, resyncOneNodeFull), scaleUnits(resyncMonth(resyncEmpty, resyncEmptyFull), -1));
    const nodeUnits = addUnits(
      scaleUnits(perHeartbeat, perMonth(cadence.leaseRenewSeconds)),
      scaleUnits(billedUnits(statusUpdate), perMonth(cadence.nodeStatusSeconds)),
      clampUnits(resyncShare),
      channelUnits(billedUnits(reconnect)),
    );

    // 3. Steady cluster: nodes heartbeating on the agent's cadence over Running pods, plus the resync.
    const steadyNames = simNodeNames('cost-steady', options.steadyNodes);
    progress.update(`cost: seeding ${options.steadyNodes} nodes × 30 pods`);
    await plane.call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench-steady' } });
    const pods = Array.from({ length: options.steadyNodes * 30 }, (_, i) => runningPod(i, steadyNames[i % steadyNames.length] ?? ''));
    await inChunks(pods, 25, (chunk) =>
      plane.store.batch(
        types.pods,
        chunk.map((object) => ({ op: 'create', object })),
      ),
    );
    progress.update(`cost: ${options.steadyNodes} nodes steady for ${options.steadyWindowSeconds} s`);
    // The nodes' watch channels first (one connection and pod subscription each: seconds on a
    // loaded machine), then the nodes and their Leases, just before their renewals start: on a
    // loaded machine the pods' seeding, or the connections, took long enough for a Lease seeded
    // before them to lapse (40 s) before its first renewal, and the nodes' turns to NotReady and
    // back (Node and pod writes) went on into the window.
    const steadyKubelet = await startSimKubelet({ plane, nodeNames: steadyNames, channel: true });
    await seedNodes(plane, steadyNames, { leases: true });
    const steadyRenewals = await prepareRenewals(plane, steadyNames, cadence.leaseRenewSeconds);
    steadyRenewals.start();
    // Once every node has renewed (the seeding's Leases are fresh again), a pass puts the resync's
    // position here: the pass after the window reads the window's changes.
    while (steadyRenewals.count() < options.steadyNodes) await sleep(100);
    // Every revision of the seeding settled first (a gap waits up to its bound), so this pass reads
    // all of it and the pass after the window reads the window's changes only.
    for (const type of [types.nodes, types.leases, types.namespaces, types.pods]) await plane.store.currentRevision(type);
    await loops.resync();
    // What that pass wrote (if a node changed state meanwhile), replayed and settled before the window.
    for (const type of [types.nodes, types.events]) await plane.store.currentRevision(type);
    await loops.resync();
    const steadyWindow = await measureAs('steadyWindow', () => sleep(options.steadyWindowSeconds * 1000));
    // Renewals end with the window: on a loaded machine a pass takes seconds, and renewals made
    // during it would be billed as the resync's every minute.
    await steadyRenewals.stop();
    // An incremental pass reads the changes since the one before: this one the window's renewals.
    const resyncSteady = await measureAs('resyncSteady', () => loops.resync());
    await steadyKubelet.stop();
    const resyncSteadyQuiet = await measureAs('resyncSteadyQuiet', () => loops.resync());
    const resyncSteadyFull = await measureAs('resyncSteadyFull', () => loops.resync({ full: true }));
    // A minute's pass: the quiet pass, plus the window's changes scaled from the window to the minute.
    const changesPerMinute = cadence.resyncSeconds / options.steadyWindowSeconds;
    // The difference is floored at zero on its own: a quiet pass that happened to share its time
    // with a node's requeued check (the node lifecycle's reads, docs/adr/188) is larger than the
    // pass after the window, and the whole minute must not come out negative (then zero).
    const minuteOfChanges = addUnits(
      billedUnits(resyncSteadyQuiet),
      scaleUnits(clampUnits(addUnits(billedUnits(resyncSteady), scaleUnits(billedUnits(resyncSteadyQuiet), -1))), changesPerMinute),
    );
    const nodeFactor = 100 / options.steadyNodes;
    const steadyUnits = scaleUnits(
      addUnits(
        scaleUnits(billedUnits(steadyWindow), perMonth(options.steadyWindowSeconds)),
        scaleUnits(billedUnits(statusUpdate), perMonth(cadence.nodeStatusSeconds) * options.steadyNodes),
        addUnits(
          scaleUnits(clampUnits(minuteOfChanges), perMonth(cadence.resyncSeconds) - perMonth(cadence.resyncFullPassSeconds)),
          scaleUnits(billedUnits(resyncSteadyFull), perMonth(cadence.resyncFullPassSeconds)),
        ),
        scaleUnits(channelUnits(billedUnits(reconnect)), options.steadyNodes),
      ),
      nodeFactor,
    );

    // 4. A rollout of 1,000 pods, from the pod startup scenario.
    const rolloutFactor = 1000 / options.rollout.replicas;
    const perRollout = scaleUnits(billedUnits(options.rollout.usage), rolloutFactor);

    const eksMonthlyUsd = Math.round(prices.eksPerClusterHour * 730 * 100) / 100;
    return {
      prices,
      eksMonthlyUsd,
      unitsByTarget: breakdowns,
      scenarios: {
        idleControlPlane: priced(
          idleUnits,
          prices,
          { windowSeconds: options.idleWindowSeconds, window: idle, firstResync, oneResync: resyncEmpty, oneFullResync: resyncEmptyFull, resyncsPerMonth },
          [
            'Lambda event source mappings poll DynamoDB Streams for free; an idle stream invokes nothing',
            `the Resync Lambda runs every ${cadence.resyncSeconds} s (EventBridge rule, cdk/skiff-stack.ts); the EventBridge rule itself is free`,
            `one resync in ${cadence.resyncFullPassSeconds / cadence.resyncSeconds} is a full pass (oneFullResync); the others read the change log since the pass before (oneResync; docs/adr/053)`,
            "billed at a resync of the converged cluster; the first one after a deploy, which creates the namespaces' default ServiceAccounts and kube-root-ca.crt ConfigMaps, is measured apart (firstResync) and not multiplied",
            'DynamoDB storage (a few MB, $0.25/GB-month) and CloudWatch Logs are left out',
          ],
        ),
        idleNode: priced(
          nodeUnits,
          prices,
          {
            heartbeats,
            heartbeatWindow: heartbeatUsage,
            oneStatusUpdate: statusUpdate,
            oneResyncWithTheNode: resyncOneNode,
            oneFullResyncWithTheNode: resyncOneNodeFull,
            reconnect,
          },
          [
            `Lease renewed every ${cadence.leaseRenewSeconds} s with a PUT of the Lease the node last wrote to the node heartbeat endpoint (docs/adr/196: a Lambda function URL with AWS_IAM auth; one invocation of its 256 MB Lambda, no API Gateway request, no WebSocket message); measured per renewal through the endpoint's real handler, stream consumers included (the bench applies the stack's stream filters, which keep Lease writes from invoking the controllers, the scheduler and the fan-out)`,
            `Node status (Ready heartbeat) rewritten every ${cadence.nodeStatusSeconds} s through the node heartbeat endpoint: one PUT on top of the Node the agent last wrote, one invocation of its Lambda`,
            'its share of the resync: a month of resyncs with the node minus one without (incremental passes and one full pass an hour), floored at zero',
            `watch channel connected all month (${Math.round(secondsPerMonth / 60)} connection-minutes), a ping every ${cadence.channelPingSeconds} s to keep it from idling out (a message API Gateway answers itself); a reconnect every ${cadence.webSocketReconnectSeconds / 3600} h, measured as $connect plus a list and a subscribe with catch-up for each of pods, Services and Endpoints (a relist each time: the upper bound, as a position older than the change log's 5 minutes is relisted)`,
            `sign-in: one STS GetCallerIdentity per new token (every ${cadence.signInTokenSeconds / 60} min) and per reconnect; STS is free, and the API's ~50 ms wait for it is not measured here (≈ $0.002 a node-month at 1,024 MB)`,
            'no pod changes: the fan-out is not invoked',
          ],
        ),
        steady100Nodes30Pods: priced(
          steadyUnits,
          prices,
          {
            measuredNodes: options.steadyNodes,
            measuredPods: pods.length,
            windowSeconds: options.steadyWindowSeconds,
            window: steadyWindow,
            resyncAfterTheWindow: resyncSteady,
            resyncQuiet: resyncSteadyQuiet,
            oneFullResync: resyncSteadyFull,
            scaledBy: nodeFactor,
          },
          [
            'nodes, each on its own watch channel connection subscribed to its pods, renew their leases through the node heartbeat endpoint on the agent cadence during the window; pods do not change',
            `one resync every ${cadence.resyncSeconds} s: a full pass (every object of every controller's types) every ${cadence.resyncFullPassSeconds} s, and between them the changes since the last pass plus the types of the controllers that depend on time: the quiet pass (resyncQuiet) plus the window's changes (resyncAfterTheWindow minus resyncQuiet) scaled to a minute`,
            'node status updates, connections, reconnects and sign-in as for the idle node, per node',
            ...(nodeFactor !== 1 ? [`measured with ${options.steadyNodes} nodes and scaled linearly to 100`] : []),
          ],
        ),
        rollout1000Pods: {
          ...priced(
            scaleUnits(perRollout, cadence.rolloutsPerMonth),
            prices,
            { measuredReplicas: options.rollout.replicas, usage: options.rollout.usage, scaledBy: rolloutFactor },
            [
              `${cadence.rolloutsPerMonth} rollouts a month (one a day); units are those of the pod startup scenario's Deployment, from create to the last pod Running`,
              'includes the sim nodes heartbeats and any resync that fell in the rollout',
              ...(rolloutFactor !== 1 ? [`measured with ${options.rollout.replicas} replicas and scaled linearly to 1,000`] : []),
            ],
          ),
          perRolloutUsd: roundDollars(dollars(perRollout, prices)),
        },
      },
    };
  } finally {
    await loops.stop();
  }
}

function clampUnits(units: BilledUnits): BilledUnits {
  return Object.fromEntries(Object.entries(units).map(([key, value]) => [key, Math.max(0, value)])) as unknown as BilledUnits;
}

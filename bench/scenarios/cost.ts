/**
 * Scenario 5: the cost model. Each scenario runs on the metered control plane and its usage is
 * extrapolated to a month: idle control plane (no nodes), one idle node (heartbeats, status
 * updates, its watch channel), 100 nodes × 30 pods steady, and a rollout of 1,000 pods (from
 * the pod startup scenario). Prices: bench/prices.ts, stated in the results.
 */
import { kubeTime } from '../../functions/core/kube-time.ts';
import { inChunks } from '../../functions/store/list-all.ts';
import type { KubeObject } from '../../schemas/meta.ts';
import { types } from '../../schemas/registry.ts';
import type { BenchPlane } from '../bench-plane.ts';
import { addUnits, type BilledUnits, billedUnits, type Dollars, dollars, noUnits, roundDollars, scaleUnits } from '../cost-model.ts';
import { type Meter, type Usage, usageBetween } from '../metering.ts';
import { type Prices, secondsPerMonth } from '../prices.ts';
import type { Progress } from '../progress.ts';
import { seedNodes, simNodeNames, startSimKubelet } from '../sim-kubelet.ts';

/** The agent's cadence (node-agent/agent.ts) and the stack's resync schedule (cdk/skiff-stack.ts). */
export const cadence = {
  leaseRenewSeconds: 10,
  nodeStatusSeconds: 300,
  resyncSeconds: 60,
  /** API Gateway WebSocket: idle connections close after 10 min, any connection after 2 h. */
  webSocketKeepaliveSeconds: 300,
  webSocketReconnectSeconds: 7200,
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

async function measure(meter: Meter, work: () => Promise<void>): Promise<Usage> {
  const before = meter.usage();
  await work();
  return usageBetween(before, meter.usage());
}

/** One node's watch channel over the WebSocket API (designed in DESIGN.md §9, not built yet). */
function webSocketUnits(reconnectList: BilledUnits): BilledUnits {
  const reconnects = perMonth(cadence.webSocketReconnectSeconds);
  return addUnits(
    { ...noUnits, webSocketConnectionMinutes: secondsPerMonth / 60, webSocketMessages: perMonth(cadence.webSocketKeepaliveSeconds) + reconnects },
    scaleUnits(reconnectList, reconnects),
  );
}

function priced(units: BilledUnits, prices: Prices, measured: Record<string, unknown>, assumptions: readonly string[]): CostScenario {
  const rounded = Object.fromEntries(Object.entries(units).map(([key, value]) => [key, Math.round(value * 100) / 100])) as unknown as BilledUnits;
  return { units: rounded, monthlyUsd: roundDollars(dollars(units, prices)), measured, assumptions };
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
  try {
    // 1. Idle control plane: nothing but the scheduled resync (stream polling by Lambda is free).
    progress.update(`cost: idle control plane for ${options.idleWindowSeconds} s`);
    await sleep(1000);
    const idle = await measure(meter, () => sleep(options.idleWindowSeconds * 1000));
    const resyncEmpty = await measure(meter, () => loops.resync());
    const resyncsPerMonth = perMonth(cadence.resyncSeconds);
    const idleUnits = addUnits(scaleUnits(billedUnits(idle), perMonth(options.idleWindowSeconds)), scaleUnits(billedUnits(resyncEmpty), resyncsPerMonth));

    // 2. One idle node: lease renewals (each also wakes the stream consumers), status updates, resync share, watch channel.
    progress.update('cost: one idle node');
    const [nodeName] = simNodeNames('cost-idle', 1);
    await seedNodes(plane, [nodeName ?? 'cost-idle-00001'], { leases: true });
    await sleep(1000);
    const idleKubelet = await startSimKubelet({ plane, nodeNames: [nodeName ?? ''], leaseRenewSeconds: 1, concurrency: 1 });
    let heartbeats = 0;
    const heartbeatUsage = await measure(meter, async () => {
      // Renewals one second apart: each reaches the stream on its own, as a lone node's would.
      const first = idleKubelet.heartbeats();
      while (idleKubelet.heartbeats() - first < options.heartbeatSamples) await sleep(50);
      heartbeats = idleKubelet.heartbeats() - first;
      await idleKubelet.stop();
      // The stream consumers' share of the last renewal.
      await sleep(1000);
    });
    const nodePath = `/api/v1/nodes/${nodeName}`;
    const statusUpdate = await measure(meter, async () => {
      const node = await plane.call('GET', nodePath);
      const status = node.body.status as { conditions?: { type: string; lastHeartbeatTime?: string }[] };
      const conditions = (status.conditions ?? []).map((c) => ({ ...c, lastHeartbeatTime: kubeTime(Date.now()) }));
      await plane.call('PUT', `${nodePath}/status`, { ...node.body, status: { ...status, conditions } });
      await sleep(1500);
    });
    const reconnectList = await measure(meter, async () => {
      await plane.call('GET', '/api/v1/pods', undefined, { fieldSelector: `spec.nodeName=${nodeName}` });
    });
    const resyncOneNode = await measure(meter, () => loops.resync());
    const perHeartbeat = scaleUnits(billedUnits(heartbeatUsage), 1 / Math.max(1, heartbeats));
    const resyncShare = scaleUnits(addUnits(billedUnits(resyncOneNode), scaleUnits(billedUnits(resyncEmpty), -1)), resyncsPerMonth);
    const nodeUnits = addUnits(
      scaleUnits(perHeartbeat, perMonth(cadence.leaseRenewSeconds)),
      scaleUnits(billedUnits(statusUpdate), perMonth(cadence.nodeStatusSeconds)),
      clampUnits(resyncShare),
      webSocketUnits(billedUnits(reconnectList)),
    );

    // 3. Steady cluster: nodes heartbeating on the agent's cadence over Running pods, plus the resync.
    const steadyNames = simNodeNames('cost-steady', options.steadyNodes);
    progress.update(`cost: seeding ${options.steadyNodes} nodes × 30 pods`);
    await seedNodes(plane, steadyNames, { leases: true });
    await plane.call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench-steady' } });
    const pods = Array.from({ length: options.steadyNodes * 30 }, (_, i) => runningPod(i, steadyNames[i % steadyNames.length] ?? ''));
    await inChunks(pods, 25, (chunk) =>
      plane.store.batch(
        types.pods,
        chunk.map((object) => ({ op: 'create', object })),
      ),
    );
    await sleep(2000);
    progress.update(`cost: ${options.steadyNodes} nodes steady for ${options.steadyWindowSeconds} s`);
    // The kubelet's renewals are spread evenly over the period from the start, so the window opens at once.
    const steadyKubelet = await startSimKubelet({ plane, nodeNames: steadyNames, leaseRenewSeconds: cadence.leaseRenewSeconds, concurrency: 4 });
    const steadyWindow = await measure(meter, () => sleep(options.steadyWindowSeconds * 1000));
    await steadyKubelet.stop();
    const resyncSteady = await measure(meter, () => loops.resync());
    const nodeFactor = 100 / options.steadyNodes;
    const steadyUnits = scaleUnits(
      addUnits(
        scaleUnits(billedUnits(steadyWindow), perMonth(options.steadyWindowSeconds)),
        scaleUnits(billedUnits(statusUpdate), perMonth(cadence.nodeStatusSeconds) * options.steadyNodes),
        scaleUnits(billedUnits(resyncSteady), resyncsPerMonth),
        scaleUnits(webSocketUnits(billedUnits(reconnectList)), options.steadyNodes),
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
      scenarios: {
        idleControlPlane: priced(idleUnits, prices, { windowSeconds: options.idleWindowSeconds, window: idle, oneResync: resyncEmpty, resyncsPerMonth }, [
          'Lambda event source mappings poll DynamoDB Streams for free; an idle stream invokes nothing',
          `the Resync Lambda runs every ${cadence.resyncSeconds} s (EventBridge rule, cdk/skiff-stack.ts); the EventBridge rule itself is free`,
          'DynamoDB storage (a few MB, $0.25/GB-month) and CloudWatch Logs are left out',
        ]),
        idleNode: priced(
          nodeUnits,
          prices,
          { heartbeats, heartbeatWindow: heartbeatUsage, oneStatusUpdate: statusUpdate, oneResyncWithTheNode: resyncOneNode, reconnectList },
          [
            `Lease renewed every ${cadence.leaseRenewSeconds} s through the API (PUT), each renewal also invoking the stream consumers; measured per renewal`,
            `Node status (Ready heartbeat) rewritten every ${cadence.nodeStatusSeconds} s`,
            'its share of the resync: one resync with the node minus one without, floored at zero',
            `watch channel over the WebSocket API (designed, not built yet): connected all month, a keepalive every ${cadence.webSocketKeepaliveSeconds} s, a reconnect with a pod list every ${cadence.webSocketReconnectSeconds / 3600} h`,
            'the WebSocket fan-out Lambda that pushes changes is not built yet and not counted',
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
            oneResync: resyncSteady,
            scaledBy: nodeFactor,
          },
          [
            'nodes renew their leases on the agent cadence during the window; pods do not change',
            `one resync (every object of every controller's types) every ${cadence.resyncSeconds} s`,
            'node status updates and WebSocket channels as for the idle node, per node',
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

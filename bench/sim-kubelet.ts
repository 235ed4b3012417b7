/**
 * A KWOK-style simulated kubelet for many nodes in one process: Node and Lease objects are
 * seeded straight into the store (25 per transaction), then one watch on pods serves every
 * simulated node — a pod bound to one of them is marked Running through the API's status
 * subresource, the same request a node agent makes; a pod marked for deletion is finished with
 * a zero-grace delete, as the agent does. Heartbeats renew each node's Lease through the API on
 * the agent's cadence.
 *
 * Each node writes its own pods' statuses and deletes one request at a time, in the order it saw
 * them, as a kubelet's status manager does (one sync loop per kubelet, one pod after another):
 * 100 nodes have up to 100 writes in flight, 10 nodes up to 10. Until docs/adr/195 one queue of 8
 * writes in flight served every node, which no cluster does: the bench's own bottleneck.
 */

import { kubeMicroTime, kubeTime } from '../functions/core/kube-time.ts';
import { inChunks } from '../functions/store/list-all.ts';
import { buildLease, buildNode, nodeLeaseNamespace } from '../node-agent/index.ts';
import type { KubeObject } from '../schemas/meta.ts';
import { types } from '../schemas/registry.ts';
import { type BenchPlane, benchNodeToken } from './bench-plane.ts';

export const simRuntimeVersion = 'skiff-sim://1';

export function simNodeNames(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, index) => `${prefix}-${String(index + 1).padStart(5, '0')}`);
}

function nodeAddress(index: number): string {
  return `10.${200 + Math.floor(index / 65_536)}.${Math.floor(index / 256) % 256}.${index % 256}`;
}

/**
 * Registers the nodes (Ready, 32 CPUs, 256 Gi, 110 pods, like KWOK's default) and, optionally, their
 * leases: straight into the store, 25 a batch, `writers` batches at once (default 1).
 */
export async function seedNodes(plane: Pick<BenchPlane, 'store'>, names: readonly string[], options: { leases: boolean; writers?: number }): Promise<void> {
  const now = new Date();
  const nodes = names.map((name, index) =>
    buildNode(
      {
        name,
        address: nodeAddress(index),
        podCidr: `10.${100 + Math.floor(index / 256)}.${index % 256}.0/24`,
        cpu: '32',
        memory: '256Gi',
        pods: 110,
        kubeletPort: 10250,
        containerRuntimeVersion: simRuntimeVersion,
        labels: { type: 'kwok', 'skiff.dev/sim': 'true' },
      },
      now.toISOString(),
    ),
  );
  await inChunks(
    nodes,
    25,
    (chunk) =>
      plane.store.batch(
        types.nodes,
        chunk.map((object) => ({ op: 'create', object })),
      ),
    options.writers,
  );
  if (options.leases) {
    const leases = names.map((name) => buildLease(name, undefined, 40, now));
    await inChunks(
      leases,
      25,
      (chunk) =>
        plane.store.batch(
          types.leases,
          chunk.map((object) => ({ op: 'create', object })),
        ),
      options.writers,
    );
  }
}

export interface SimKubeletOptions {
  readonly plane: BenchPlane;
  readonly nodeNames: readonly string[];
  /** Renew every node's Lease this often through the API (the agent: 10 s); undefined: no heartbeats. */
  readonly leaseRenewSeconds?: number;
  /** Called when a pod is first seen Running (by the simulated kubelet's own write). */
  readonly onRunning?: (pod: KubeObject) => void;
  /** Each node takes its pods from the watch channel and renews its Lease over it. @default false: one store watch, renewals through the API */
  readonly channel?: boolean;
}

export interface SimKubelet {
  /** Pods this kubelet marked Running. */
  running(): number;
  /** Per pod marked Running: when its node was told of it, when its writer began the write, when the write was answered (`performance.now()`). */
  statusWrites(): readonly StatusWriteTiming[];
  /** Lease renewals made. */
  heartbeats(): number;
  /** Stops renewing and waits for the renewals in flight (the connections stay open). */
  stopHeartbeats(): Promise<void>;
  stop(): Promise<void>;
}

export interface StatusWriteTiming {
  readonly uid: string;
  readonly toldAt: number;
  readonly startedAt: number;
  readonly doneAt: number;
}

/** A node's status writer: the pods waiting for it, whether it runs, and its run. */
interface NodeWriter {
  readonly waiting: KubeObject[];
  busy: boolean;
  draining: Promise<void>;
}

/** The status a kubelet writes for a pod it started (`bench/call-cost.ts` writes it too). */
export function runningStatus(pod: KubeObject, nodeIndex: number, podIndex: number): Record<string, unknown> {
  const seconds = kubeTime(Date.now());
  const condition = (type: string) => ({ type, status: 'True', lastProbeTime: null, lastTransitionTime: seconds });
  const containers = ((pod.spec as { containers?: { name?: string; image?: string }[] } | undefined)?.containers ?? []).map((container) => ({
    name: container.name ?? 'main',
    image: container.image ?? '',
    imageID: `${container.image ?? ''}@sim`,
    containerID: `${simRuntimeVersion.replace('://1', '')}://${pod.metadata.uid ?? ''}-${container.name ?? ''}`,
    ready: true,
    started: true,
    restartCount: 0,
    state: { running: { startedAt: seconds } },
  }));
  const podIP = `10.${100 + Math.floor(nodeIndex / 256)}.${nodeIndex % 256}.${2 + (podIndex % 250)}`;
  return {
    phase: 'Running',
    conditions: ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map(condition),
    hostIP: nodeAddress(nodeIndex),
    hostIPs: [{ ip: nodeAddress(nodeIndex) }],
    podIP,
    podIPs: [{ ip: podIP }],
    startTime: seconds,
    containerStatuses: containers,
    qosClass: 'BestEffort',
  };
}

export async function startSimKubelet(options: SimKubeletOptions): Promise<SimKubelet> {
  const { plane } = options;
  const nodeIndex = new Map(options.nodeNames.map((name, index) => [name, index]));
  const podsPerNode = new Map<string, number>();
  const stopping = new AbortController();
  /** Per node: the pods waiting for its one status writer, and that writer while it runs. */
  const nodeQueues = new Map<string, NodeWriter>();
  const queued = new Set<string>();
  const done = new Set<string>();
  const toldAt = new Map<string, number>();
  const timings: StatusWriteTiming[] = [];
  let running = 0;
  let heartbeats = 0;
  const podPath = (pod: KubeObject): string => `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`;

  /** Whether the pod was marked Running by this write. */
  async function markRunning(pod: KubeObject): Promise<boolean> {
    const nodeName = (pod.spec as { nodeName?: string }).nodeName ?? '';
    const index = nodeIndex.get(nodeName) ?? 0;
    const podIndex = (podsPerNode.get(nodeName) ?? 0) + 1;
    podsPerNode.set(nodeName, podIndex);
    let current = pod;
    for (let attempt = 0; attempt < 5 && !stopping.signal.aborted; attempt++) {
      const result = await plane.call('PUT', `${podPath(current)}/status`, { ...current, status: runningStatus(current, index, podIndex) });
      if (result.status === 200) {
        running++;
        options.onRunning?.(result.body as KubeObject);
        return true;
      }
      if (result.status !== 409) return false;
      const fresh = await plane.call('GET', podPath(current));
      if (fresh.status !== 200) return false;
      current = fresh.body as KubeObject;
      if ((current.status as { phase?: string } | undefined)?.phase === 'Running') return false;
    }
    return false;
  }

  async function finishDeletion(pod: KubeObject): Promise<void> {
    await plane.call('DELETE', podPath(pod), { kind: 'DeleteOptions', apiVersion: 'v1', gracePeriodSeconds: 0, preconditions: { uid: pod.metadata.uid } });
  }

  const handle = (pod: KubeObject): void => {
    const nodeName = (pod.spec as { nodeName?: string } | undefined)?.nodeName;
    if (!nodeName || !nodeIndex.has(nodeName)) return;
    const uid = pod.metadata.uid ?? '';
    const deleting = Boolean(pod.metadata.deletionTimestamp);
    const phase = (pod.status as { phase?: string } | undefined)?.phase;
    const key = `${uid}/${deleting ? 'delete' : 'run'}`;
    if (queued.has(key) || done.has(key)) return;
    if (!deleting && phase !== 'Pending' && phase !== undefined) return;
    queued.add(key);
    if (!deleting) toldAt.set(uid, performance.now());
    let node = nodeQueues.get(nodeName);
    if (!node) {
      node = { waiting: [], busy: false, draining: Promise.resolve() };
      nodeQueues.set(nodeName, node);
    }
    node.waiting.push(pod);
    if (!node.busy) {
      node.busy = true;
      node.draining = drain(node);
    }
  };

  /** A node's status writer: its waiting pods, one request at a time, oldest first. */
  async function drain(node: NodeWriter): Promise<void> {
    try {
      for (let pod = node.waiting.shift(); pod && !stopping.signal.aborted; pod = node.waiting.shift()) {
        const deleting = Boolean(pod.metadata.deletionTimestamp);
        const key = `${pod.metadata.uid ?? ''}/${deleting ? 'delete' : 'run'}`;
        try {
          if (deleting) await finishDeletion(pod);
          else {
            const uid = pod.metadata.uid ?? '';
            const startedAt = performance.now();
            if (await markRunning(pod)) timings.push({ uid, toldAt: toldAt.get(uid) ?? startedAt, startedAt, doneAt: performance.now() });
          }
        } catch {
          // The resync-free sim kubelet gives up on a pod that keeps failing; the scenario times out on it.
        } finally {
          queued.delete(key);
          done.add(key);
        }
      }
    } finally {
      // Cleared with no wait after the last look at the queue: a pod queued later starts a new writer.
      node.busy = false;
    }
  }

  const revision = await plane.store.currentRevision(types.pods);
  const connectionOf = (name: string): string => `sim-${name}`;
  const watching = options.channel
    ? (async () => {
        for (const name of options.nodeNames) {
          const status = await plane.channel.connect(connectionOf(name), benchNodeToken(name), (message) => {
            if (message.type === 'event' && message.event.object && message.event.type !== 'DELETED') handle(message.event.object);
          });
          if (status !== 200) throw new Error(`the channel refused ${name}: ${status}`);
          await plane.channel.send(connectionOf(name), {
            action: 'subscribe',
            id: 'pods',
            group: '',
            version: 'v1',
            resource: 'pods',
            fieldSelector: `spec.nodeName=${name}`,
            resourceVersion: revision,
          });
        }
      })()
    : (async () => {
        try {
          for await (const event of plane.store.watch(types.pods, { resourceVersion: revision, signal: stopping.signal })) {
            if (event.type === 'ADDED' || event.type === 'MODIFIED') handle(event.object);
          }
        } catch {
          // Ends with the abort; a 410 here would mean the bench outran the change log's retention.
        }
      })();
  // Over the channel, every node is subscribed before the kubelet counts as started.
  if (options.channel) await watching;

  const leases = new Map<string, KubeObject>();
  const heartbeatTimers: NodeJS.Timeout[] = [];
  const renewing = new Set<Promise<void>>();
  const renew = (name: string): Promise<void> => {
    const renewal = renewOnce(name).finally(() => renewing.delete(renewal));
    renewing.add(renewal);
    return renewal;
  };
  const renewOnce = async (name: string): Promise<void> => {
    if (options.channel) {
      // The agent's heartbeat over the channel: one message, no reply.
      await plane.channel.send(connectionOf(name), { action: 'renewLease', nodeName: name, leaseDurationSeconds: 40 });
      heartbeats++;
      return;
    }
    const path = `/apis/coordination.k8s.io/v1/namespaces/${nodeLeaseNamespace}/leases/${name}`;
    let lease = leases.get(name);
    if (!lease) {
      const fetched = await plane.call('GET', path);
      if (fetched.status !== 200) return;
      lease = fetched.body as KubeObject;
    }
    const result = await plane.call('PUT', path, { ...lease, spec: { ...(lease.spec as object), renewTime: kubeMicroTime(Date.now()) } });
    heartbeats++;
    if (result.status === 200) leases.set(name, result.body as KubeObject);
    else leases.delete(name);
  };
  if (options.leaseRenewSeconds !== undefined && !options.channel) {
    // An agent keeps its Lease after the first write; one list stands in for that here.
    const listed = await plane.call('GET', `/apis/coordination.k8s.io/v1/namespaces/${nodeLeaseNamespace}/leases`);
    for (const lease of (listed.body?.items ?? []) as KubeObject[]) {
      if (nodeIndex.has(lease.metadata.name ?? '')) leases.set(lease.metadata.name ?? '', { ...lease, apiVersion: 'coordination.k8s.io/v1', kind: 'Lease' });
    }
  }
  if (options.leaseRenewSeconds !== undefined) {
    const periodMs = options.leaseRenewSeconds * 1000;
    options.nodeNames.forEach((name, index) => {
      // Spread the nodes over the period, as independent agents would be.
      const start = setTimeout(
        () => {
          void renew(name).catch(() => undefined);
          const every = setInterval(() => void renew(name).catch(() => undefined), periodMs);
          heartbeatTimers.push(every);
        },
        (periodMs * index) / options.nodeNames.length,
      );
      heartbeatTimers.push(start);
    });
  }

  return {
    running: () => running,
    statusWrites: () => timings,
    heartbeats: () => heartbeats,
    async stopHeartbeats() {
      for (const timer of heartbeatTimers) clearTimeout(timer);
      await Promise.allSettled([...renewing]);
    },
    async stop() {
      stopping.abort();
      for (const timer of heartbeatTimers) clearTimeout(timer);
      await Promise.all([watching, ...[...nodeQueues.values()].map((node) => node.draining)]);
      if (options.channel) for (const name of options.nodeNames) await plane.channel.disconnect(connectionOf(name)).catch(() => undefined);
    },
  };
}

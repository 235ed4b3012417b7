/**
 * Scenario 3: pod startup latency. A Deployment is created through the API with the whole
 * control plane running (controllers and scheduler on the stream, metered) over sim nodes that
 * heartbeat like agents; a watch notes when each pod first appears and when it is first seen
 * Running. The metered usage of the rollout feeds the cost model.
 */

import { leaseRenewSecondsOverChannel } from '../../node-agent/index.ts';
import type { KubeObject } from '../../schemas/meta.ts';
import { types } from '../../schemas/registry.ts';
import type { BenchPlane } from '../bench-plane.ts';
import { type Meter, type Usage, usageBetween } from '../metering.ts';
import { summarize } from '../percentiles.ts';
import type { Progress } from '../progress.ts';
import { seedNodes, simNodeNames, startSimKubelet } from '../sim-kubelet.ts';

export interface PodStartupResult {
  readonly anchor: string;
  readonly replicas: number;
  readonly nodes: number;
  readonly running: number;
  readonly finished: boolean;
  /** Pod first seen (ADDED) → first seen Running, in milliseconds. */
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** The two halves: first seen → bound to a node (controllers, scheduler), bound → Running (sim kubelet). */
  readonly toScheduled: { readonly p50: number; readonly p99: number };
  readonly scheduledToRunning: { readonly p50: number; readonly p99: number };
  /**
   * The sim kubelet's part of bound → Running: bound (seen by the bench's watch) → its node told
   * (the channel's fan-out), told → the node's status writer takes it (its queue), and the status
   * write itself (the API's PUT, answered).
   */
  readonly kubelet: {
    readonly boundToTold: { readonly p50: number; readonly p99: number };
    readonly queued: { readonly p50: number; readonly p99: number };
    readonly write: { readonly p50: number; readonly p99: number };
  };
  /** Deployment created → last pod Running. */
  readonly rolloutSeconds: number;
  readonly usage: Usage;
}

export interface PodStartupOptions {
  readonly plane: BenchPlane;
  readonly meter: Meter;
  readonly progress: Progress;
  readonly replicas: number;
  readonly nodes: number;
  readonly timeoutSeconds: number;
}

export async function runPodStartup(options: PodStartupOptions): Promise<PodStartupResult> {
  const { plane, meter, progress } = options;
  const namespace = 'bench-startup';
  progress.update('pod startup: registering sim nodes');
  const names = simNodeNames('startup', options.nodes);
  await seedNodes(plane, names, { leases: true });
  const loops = await plane.startControlLoops({ resyncSeconds: 30 });
  // The nodes take their pods from the watch channel (fan-out included) and renew their leases over it, as agents do.
  const kubelet = await startSimKubelet({ plane, nodeNames: names, leaseRenewSeconds: leaseRenewSecondsOverChannel, channel: true });
  await plane.call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });

  const added = new Map<string, number>();
  const runningAt = new Map<string, number>();
  const scheduledAt = new Map<string, number>();
  const stopWatch = new AbortController();
  const revision = await plane.store.currentRevision(types.pods);
  const watching = (async () => {
    try {
      for await (const event of plane.store.watch(types.pods, { namespace, resourceVersion: revision, signal: stopWatch.signal })) {
        const pod: KubeObject = event.object;
        const uid = pod.metadata.uid ?? '';
        if (!added.has(uid)) added.set(uid, performance.now());
        if ((pod.spec as { nodeName?: string } | undefined)?.nodeName && !scheduledAt.has(uid)) scheduledAt.set(uid, performance.now());
        if ((pod.status as { phase?: string } | undefined)?.phase === 'Running' && !runningAt.has(uid)) runningAt.set(uid, performance.now());
      }
    } catch {
      // Ends with the abort.
    }
  })();

  const before = meter.usage();
  const started = performance.now();
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'startup', namespace },
    spec: {
      replicas: options.replicas,
      selector: { matchLabels: { app: 'startup' } },
      template: {
        metadata: { labels: { app: 'startup' } },
        spec: { containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.9', resources: { requests: { cpu: '10m', memory: '16Mi' } } }] },
      },
    },
  };
  const created = await plane.call('POST', `/apis/apps/v1/namespaces/${namespace}/deployments`, deployment);
  if (created.status !== 201) throw new Error(`creating the Deployment answered ${created.status}: ${JSON.stringify(created.body)}`);
  const deadline = started + options.timeoutSeconds * 1000;
  let lastRunning = started;
  try {
    while (runningAt.size < options.replicas && performance.now() < deadline) {
      progress.update(
        `pod startup: ${added.size} created, ${runningAt.size}/${options.replicas} running, ${((performance.now() - started) / 1000).toFixed(0)} s`,
      );
      await new Promise((done) => setTimeout(done, 250));
    }
    lastRunning = Math.max(started, ...runningAt.values());
  } finally {
    stopWatch.abort();
    await watching;
  }
  const usage = usageBetween(before, meter.usage());
  await kubelet.stop();
  await loops.stop();

  const latencies = [...runningAt.entries()].map(([uid, at]) => at - (added.get(uid) ?? at));
  const summary = summarize(latencies);
  const scheduled = summarize([...scheduledAt.entries()].map(([uid, at]) => at - (added.get(uid) ?? at)));
  const toRunning = summarize([...runningAt.entries()].map(([uid, at]) => at - (scheduledAt.get(uid) ?? at)));
  const writes = kubelet.statusWrites();
  const boundToTold = summarize(writes.flatMap((write) => (scheduledAt.has(write.uid) ? [write.toldAt - (scheduledAt.get(write.uid) ?? 0)] : [])));
  const queued = summarize(writes.map((write) => write.startedAt - write.toldAt));
  const written = summarize(writes.map((write) => write.doneAt - write.startedAt));
  const finished = runningAt.size >= options.replicas;
  const result: PodStartupResult = {
    anchor: 'Kubernetes SLO: pod startup p99 <= 5 s (create to Running observed by a watch, no image pulls)',
    replicas: options.replicas,
    nodes: options.nodes,
    running: runningAt.size,
    finished,
    p50: summary.p50,
    p99: summary.p99,
    max: summary.max,
    toScheduled: { p50: scheduled.p50, p99: scheduled.p99 },
    scheduledToRunning: { p50: toRunning.p50, p99: toRunning.p99 },
    kubelet: {
      boundToTold: { p50: boundToTold.p50, p99: boundToTold.p99 },
      queued: { p50: queued.p50, p99: queued.p99 },
      write: { p50: written.p50, p99: written.p99 },
    },
    rolloutSeconds: Math.round(((lastRunning - started) / 1000) * 10) / 10,
    usage,
  };
  progress.log(
    `pod startup: ${result.running}/${result.replicas} Running in ${result.rolloutSeconds} s, p50 ${result.p50} ms, p99 ${result.p99} ms (to bound p50 ${scheduled.p50} ms, bound to Running p50 ${toRunning.p50} ms: node told ${boundToTold.p50} ms, queued ${queued.p50} ms, status write ${written.p50} ms)`,
  );
  return result;
}

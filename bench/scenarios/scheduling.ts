/**
 * Scenario 2: scheduling throughput. For each node count, fresh tables get that many sim nodes
 * and the pending pods (seeded 25 per transaction, scheduler stopped); then the real scheduler
 * controller runs pass after pass in a child process (bench/scheduler-worker.ts) until every pod
 * is bound or the time budget ends, and a watch counts the bindings as they commit.
 * Alongside, the two parts of a pass are timed on their own: planning (the pure planSchedule, on
 * a sample of the pods) and writing bindings (store transactions of 25).
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { planSchedule } from '../../functions/scheduler/plan-schedule.ts';
import { inChunks } from '../../functions/store/list-all.ts';
import type { KubeObject } from '../../schemas/meta.ts';
import { types } from '../../schemas/registry.ts';
import type { BenchPlane } from '../bench-plane.ts';
import type { Progress } from '../progress.ts';
import { seedNodes, simNodeNames } from '../sim-kubelet.ts';

export interface SchedulingRun {
  readonly nodes: number;
  readonly pods: number;
  readonly bound: number;
  /** From the first pass's start to the last binding seen (or the budget's end). */
  readonly seconds: number;
  /** From the first pass's start to the first binding seen: the pass's reads and first plan. */
  readonly firstBindingSeconds?: number;
  /**
   * Of `seconds`, how long the scheduler's process had no DynamoDB call in flight (as it last
   * reported, every 250 ms): the time it kept the store waiting.
   */
  readonly storeIdleSeconds?: number;
  readonly podsPerSecond: number;
  /** Passes begun (the last may still be running when the last binding is seen). */
  readonly passes: number;
  /** Passes that ended with an error. */
  readonly failedPasses: number;
  readonly finished: boolean;
  readonly lastError?: string;
  /** Seeding the pending pods through the store, 25 per transaction. */
  readonly seedPodsPerSecond: number;
  /** planSchedule alone (after a warm-up plan), pods placed per second of CPU, on a sample of the pending pods. */
  readonly planPodsPerSecond: number;
  readonly planSample: number;
}

export interface SchedulingResult {
  readonly anchor: string;
  readonly pendingPods: number;
  readonly budgetSeconds: number;
  readonly runs: readonly SchedulingRun[];
}

export interface SchedulingOptions {
  readonly openPlane: (prefix: string) => Promise<BenchPlane>;
  readonly nodeCounts: readonly number[];
  readonly pods: number;
  readonly budgetSeconds: number;
  /** Write a CPU profile of the scheduler's process here (node --cpu-prof); it is then stopped with SIGTERM, not killed. */
  readonly cpuProfileDir?: string;
  readonly progress: Progress;
}

const namespace = 'bench-sched';

export function pendingPod(index: number): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `sched-${String(index).padStart(6, '0')}`, namespace, labels: { app: 'sched-bench' } },
    spec: {
      containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.9', resources: { requests: { cpu: '10m', memory: '16Mi' } } }],
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
    },
    status: { phase: 'Pending' },
  };
}

export async function runScheduling(options: SchedulingOptions): Promise<SchedulingResult> {
  const runs: SchedulingRun[] = [];
  for (const nodeCount of options.nodeCounts) {
    runs.push(await runOne(options, nodeCount));
  }
  return {
    anchor: 'upstream kube-scheduler scheduler_perf: 680-810 pods/s at 5,000 nodes',
    pendingPods: options.pods,
    budgetSeconds: options.budgetSeconds,
    runs,
  };
}

async function runOne(options: SchedulingOptions, nodeCount: number): Promise<SchedulingRun> {
  const { progress } = options;
  const label = `scheduling ${nodeCount} nodes`;
  const plane = await options.openPlane(`sched${nodeCount}`);
  try {
    progress.update(`${label}: registering nodes`);
    const names = simNodeNames(`sched${nodeCount}`, nodeCount);
    await seedNodes(plane, names, { leases: false });
    await plane.call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
    const pods = Array.from({ length: options.pods }, (_, i) => pendingPod(i));
    let seeded = 0;
    const seedStarted = performance.now();
    await inChunks(pods, 25, async (chunk) => {
      const result = await plane.store.batch(
        types.pods,
        chunk.map((object) => ({ op: 'create', object })),
      );
      seeded += chunk.length;
      progress.update(`${label}: seeding pending pods ${seeded}/${options.pods}`);
      return result;
    });
    const seedPodsPerSecond = options.pods / ((performance.now() - seedStarted) / 1000);

    // Planning alone, on a sample: the pass plans every pending pod against every node.
    const sample = pods
      .slice(0, Math.min(pods.length, 200))
      .map((pod) => ({ ...pod, metadata: { ...pod.metadata, creationTimestamp: '2026-01-01T00:00:00Z' } }));
    const nodes = (await plane.store.list(types.nodes)).items;
    progress.update(`${label}: timing planSchedule on ${sample.length} pods`);
    // A first, small plan warms the code up, as the scheduler's earlier passes would.
    planSchedule(sample.slice(0, 10), nodes, []);
    const planStarted = performance.now();
    planSchedule(sample, nodes, []);
    const planPodsPerSecond = sample.length / ((performance.now() - planStarted) / 1000);

    // Bindings counted from the change log as they commit.
    const bound = new Set<string>();
    let lastBindingAt = 0;
    let firstBindingAt: number | undefined;
    const stopWatch = new AbortController();
    const revision = await plane.store.currentRevision(types.pods);
    const watching = (async () => {
      try {
        for await (const event of plane.store.watch(types.pods, { resourceVersion: revision, signal: stopWatch.signal })) {
          if ((event.object.spec as { nodeName?: string } | undefined)?.nodeName && !bound.has(event.object.metadata.name ?? '')) {
            bound.add(event.object.metadata.name ?? '');
            lastBindingAt = performance.now();
            firstBindingAt ??= lastBindingAt;
          }
        }
      } catch {
        // Ends with the abort.
      }
    })();

    let started = performance.now();
    let ready = false;
    let passes = 0;
    let failedPasses = 0;
    let storeIdleMs: number | undefined;
    let lastError: string | undefined;
    const child = spawn(
      process.execPath,
      [
        ...(options.cpuProfileDir ? ['--cpu-prof', '--cpu-prof-dir', options.cpuProfileDir] : []),
        '--import',
        'tsx',
        fileURLToPath(new URL('../scheduler-worker.ts', import.meta.url)),
        plane.endpoint,
        plane.tables.objects,
        plane.tables.changes,
      ],
      {
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    );
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        const pass = JSON.parse(line) as { ready?: boolean; started?: number; storeIdleMs?: number; ok?: boolean; error?: string };
        if (pass.storeIdleMs !== undefined) {
          // Only while bindings are still to come: the figure is read up to the last one.
          if (bound.size < options.pods) storeIdleMs = pass.storeIdleMs;
          return;
        }
        if (pass.ready) {
          ready = true;
          started = performance.now();
          return;
        }
        if (pass.started !== undefined) {
          passes++;
          return;
        }
        if (pass.ok === false) {
          failedPasses++;
          lastError = pass.error || lastError;
        }
      } catch {
        // Not a pass report.
      }
    });
    const spawned = performance.now();
    try {
      while (!ready && child.exitCode === null && performance.now() - spawned < 60_000) await new Promise((done) => setTimeout(done, 50));
      const deadline = started + options.budgetSeconds * 1000;
      while (bound.size < options.pods && performance.now() < deadline && child.exitCode === null) {
        progress.update(`${label}: ${bound.size}/${options.pods} bound, ${passes} passes, ${((performance.now() - started) / 1000).toFixed(0)} s`);
        await new Promise((done) => setTimeout(done, 250));
      }
    } finally {
      if (options.cpuProfileDir) {
        // The profile is written as the process exits of itself.
        child.kill('SIGTERM');
        const killLater = setTimeout(() => child.kill('SIGKILL'), 30_000);
        await exited;
        clearTimeout(killLater);
      } else {
        child.kill('SIGKILL');
        await exited;
      }
      stopWatch.abort();
      await watching;
    }
    const finished = bound.size >= options.pods;
    const seconds = ((finished ? lastBindingAt : performance.now()) - started) / 1000;
    const round = (n: number): number => Math.round(n * 10) / 10;
    const run: SchedulingRun = {
      nodes: nodeCount,
      pods: options.pods,
      bound: bound.size,
      seconds: round(seconds),
      ...(firstBindingAt !== undefined ? { firstBindingSeconds: round((firstBindingAt - started) / 1000) } : {}),
      ...(storeIdleMs !== undefined ? { storeIdleSeconds: round(storeIdleMs / 1000) } : {}),
      podsPerSecond: round(bound.size / seconds),
      passes,
      failedPasses,
      finished,
      ...(lastError ? { lastError } : {}),
      seedPodsPerSecond: round(seedPodsPerSecond),
      planPodsPerSecond: round(planPodsPerSecond),
      planSample: sample.length,
    };
    progress.log(
      `${label}: ${run.bound}/${run.pods} bound in ${run.seconds} s (${run.podsPerSecond} pods/s, first after ${run.firstBindingSeconds ?? '-'} s, store idle ${run.storeIdleSeconds ?? '-'} s); plan alone ${run.planPodsPerSecond} pods/s`,
    );
    return run;
  } finally {
    await plane.close();
  }
}

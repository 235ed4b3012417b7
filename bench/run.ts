/**
 * `npm run bench`: the five measurements of issue 5 against DynamoDB Local, written to
 * bench/results.json with a short table on stdout and a progress line on stderr.
 *
 *   npm run bench                      # full (< 20 min on 2 cores)
 *   npm run bench -- --quick           # small sizes (< 2 min); CI runs this through npm test
 *   npm run bench -- --out /tmp/r.json # write the results elsewhere
 *   npm run bench -- --only writers,scale  # only these scenarios (figures of the others are not required)
 *   npm run bench -- --dynamodb-jit startup  # scheduling's DynamoDB Local too as the tests start it (docs/adr/192)
 *   npm run bench -- --only scheduling --scheduling-nodes 5000  # only these node counts of the scheduling scenario
 *   npm run bench -- --only scheduling --scheduling-cpu-prof /tmp/prof  # a CPU profile of the scheduler's process per node count
 *
 * Exits non-zero when a scenario fails or a figure the issue names is missing. Figures are
 * never compared with thresholds: they are read, not asserted.
 */

import { writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type DynamoDbLocal, type DynamoDbLocalJit, startDynamoDbLocal } from '../functions/local/dynamodb-local.ts';
import { type BenchPlane, openPlane } from './bench-plane.ts';
import { missingFigures } from './figures.ts';
import { createMeter, emptyUsage } from './metering.ts';
import { usEast1Prices } from './prices.ts';
import { createProgress } from './progress.ts';
import { runApiLatency } from './scenarios/api-latency.ts';
import { runCost } from './scenarios/cost.ts';
import { runPodStartup } from './scenarios/pod-startup.ts';
import { runScale } from './scenarios/scale.ts';
import { runScheduling } from './scenarios/scheduling.ts';
import { runWriters } from './scenarios/writers.ts';
import { formatTable } from './summary-table.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

const profiles = {
  full: {
    api: { samples: 200, largeList: 10_000, largeListSamples: 5 },
    scheduling: { nodeCounts: [100, 1000, 5000], pods: 10_000, budgetSeconds: 90 },
    podStartup: { replicas: 1000, nodes: 100, timeoutSeconds: 240 },
    scale: {
      steps: [
        { nodes: 100, pods: 3000 },
        { nodes: 500, pods: 10_000 },
        { nodes: 1000, pods: 20_000 },
        { nodes: 2000, pods: 40_000 },
        { nodes: 5000, pods: 100_000 },
        { nodes: 5000, pods: 150_000 },
      ],
      budgetSeconds: 600,
    },
    cost: { idleWindowSeconds: 20, heartbeatSamples: 10, steadyNodes: 100, steadyWindowSeconds: 60 },
    writers: { processCounts: [1, 4, 16], writersPerProcess: 4, seconds: 15 },
  },
  quick: {
    api: { samples: 30, largeList: 1000, largeListSamples: 3 },
    scheduling: { nodeCounts: [10, 50, 100], pods: 300, budgetSeconds: 10 },
    podStartup: { replicas: 100, nodes: 10, timeoutSeconds: 60 },
    scale: {
      steps: [
        { nodes: 10, pods: 200 },
        { nodes: 20, pods: 500 },
      ],
      budgetSeconds: 30,
    },
    cost: { idleWindowSeconds: 2, heartbeatSamples: 3, steadyNodes: 10, steadyWindowSeconds: 10 },
    writers: { processCounts: [1, 4], writersPerProcess: 2, seconds: 3 },
  },
} as const;

/**
 * DynamoDB Local's JIT per scenario (docs/adr/192): the scheduling scenario's instances get the
 * optimizing compiler (C2), which registering the nodes and seeding 10,000 pods warm up before
 * anything is timed; the others keep the client compiler only, as the tests do, because C2's first
 * seconds of compiling would fall in what they time (the writers' store phase runs first on a fresh
 * instance, then the raw puts it is divided by). `--dynamodb-jit startup` runs every scenario on
 * C1 (the figures before).
 */
const schedulingJit: DynamoDbLocalJit = option('--dynamodb-jit') === 'startup' ? 'startup' : 'throughput';

function option(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

async function main(): Promise<number> {
  const mode = process.argv.includes('--quick') ? 'quick' : 'full';
  const profile = profiles[mode];
  const out = option('--out') ?? join(root, 'bench', 'results.json');
  const progress = createProgress();
  const startedAt = new Date();
  const errors: Record<string, string> = {};
  const results: Record<string, unknown> = {
    meta: {
      mode,
      startedAt: startedAt.toISOString(),
      cpus: cpus().length,
      loadAverageAtStart: loadavg().map((n) => Math.round(n * 100) / 100),
      node: process.version,
      // The young generation's size (docs/adr/200): `npm run bench` sets --max-semi-space-size.
      nodeFlags: process.execArgv.filter((flag) => flag.startsWith('--max-')),
      // The quick run's one shared instance serves every scenario with the tests' JIT.
      dynamoDbLocalJit: { scheduling: mode === 'full' ? schedulingJit : 'startup', others: 'startup' },
    },
  };

  // DynamoDB Local slows down as its (stream) history grows, whatever tables are dropped: in a
  // full run each scenario gets a fresh in-memory instance, so no scenario pays for the one
  // before. The quick run's few thousand writes share one (each start costs seconds).
  const locals = new Set<DynamoDbLocal>();
  const stopAll = (): void => {
    void Promise.all([...locals].map((local) => local.stop())).finally(() => process.exit(130));
  };
  process.once('SIGINT', stopAll);
  process.once('SIGTERM', stopAll);
  const meter = createMeter();
  let shared: DynamoDbLocal | undefined;
  let planes = 0;
  const plane = async (name: string): Promise<BenchPlane> => {
    const fresh = mode === 'full' || !shared;
    let local = shared;
    if (fresh || !local) {
      progress.update(`${name}: starting DynamoDB Local (in memory)`);
      // Fresh instances only (full mode): the quick run's shared one serves every scenario.
      const jit = fresh && mode === 'full' && name.startsWith('sched') ? schedulingJit : 'startup';
      local = await startDynamoDbLocal({ cacheDir: join(root, '.cache', 'dynamodb-local'), jit });
      locals.add(local);
      if (mode !== 'full') shared = local;
    }
    const owned = mode === 'full' ? local : undefined;
    const release = async (): Promise<void> => {
      if (!owned) return;
      await owned.stop();
      locals.delete(owned);
    };
    try {
      const opened = await openPlane(local.endpoint, `bench-${name}-${++planes}-`, meter);
      return {
        ...opened,
        async close() {
          await opened.close();
          await release();
        },
      };
    } catch (error) {
      await release();
      throw error;
    }
  };

  const only = option('--only')?.split(',');
  // A subset of the scheduling scenario's node counts, to time one of them alone (its other runs' figures are then not required).
  const schedulingCpuProfile = option('--scheduling-cpu-prof');
  const schedulingNodes = option('--scheduling-nodes')?.split(',').map(Number);
  if (schedulingNodes?.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('--scheduling-nodes takes node counts, e.g. 5000 or 100,5000');
  async function scenario(name: string, work: () => Promise<unknown>): Promise<void> {
    if (only && !only.includes(name)) return;
    const started = Date.now();
    const cpuBefore = process.cpuUsage();
    try {
      const figures = (await work()) as object;
      const cpu = process.cpuUsage(cpuBefore);
      results[name] = {
        ...figures,
        seconds: Math.round((Date.now() - started) / 100) / 10,
        // CPU of this process (the control plane, the sim nodes, the clients; not DynamoDB Local's JVM nor worker processes), scenario set-up included.
        processCpuSeconds: Math.round((cpu.user + cpu.system) / 10_000) / 100,
      };
    } catch (error) {
      errors[name] = error instanceof Error ? (error.stack ?? error.message) : String(error);
      progress.log(`${name} FAILED: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  let rollout = { usage: emptyUsage, replicas: 1 };
  try {
    await scenario('apiLatency', async () => {
      const p = await plane('api');
      try {
        return await runApiLatency({ plane: p, meter, progress, ...profile.api });
      } finally {
        await p.close();
      }
    });
    await scenario('scheduling', () =>
      runScheduling({
        openPlane: plane,
        progress,
        ...profile.scheduling,
        nodeCounts: schedulingNodes ?? profile.scheduling.nodeCounts,
        ...(schedulingCpuProfile ? { cpuProfileDir: schedulingCpuProfile } : {}),
      }),
    );
    await scenario('podStartup', async () => {
      const p = await plane('startup');
      try {
        const result = await runPodStartup({ plane: p, meter, progress, ...profile.podStartup });
        rollout = { usage: result.usage, replicas: result.replicas };
        return result;
      } finally {
        await p.close();
      }
    });
    await scenario('scale', async () => {
      const p = await plane('scale');
      try {
        return await runScale({ plane: p, progress, ...profile.scale });
      } finally {
        await p.close();
      }
    });
    await scenario('cost', async () => {
      const p = await plane('cost');
      try {
        return await runCost({ plane: p, meter, progress, prices: usEast1Prices, rollout, ...profile.cost });
      } finally {
        await p.close();
      }
    });
    await scenario('writers', () =>
      runWriters({
        progress,
        ...profile.writers,
        // A fresh instance per process count: DynamoDB Local slows down as its history grows.
        startLocal: async () => {
          const local = await startDynamoDbLocal({ cacheDir: join(root, '.cache', 'dynamodb-local') });
          locals.add(local);
          return {
            ...local,
            async stop() {
              await local.stop();
              locals.delete(local);
            },
          };
        },
      }),
    );
  } finally {
    for (const local of locals) await local.stop();
    progress.done();
  }

  const missing = missingFigures(results)
    .filter((path) => !only || only.some((name) => path.startsWith(`${name}.`)))
    .filter((path) => !schedulingNodes || !/^scheduling\.runs\.\d+\./.test(path) || Number(path.split('.')[2]) < schedulingNodes.length);
  results.meta = {
    ...(results.meta as object),
    durationSeconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
    loadAverageAtEnd: loadavg().map((n) => Math.round(n * 100) / 100),
  };
  if (Object.keys(errors).length > 0) results.errors = errors;
  if (missing.length > 0) results.missingFigures = missing;
  await writeFile(out, `${JSON.stringify(results, null, 2)}\n`);
  console.log(formatTable(results));
  console.log(`\nresults: ${out}`);
  if (missing.length > 0) console.error(`missing figures: ${missing.join(', ')}`);
  return Object.keys(errors).length > 0 || missing.length > 0 ? 1 : 0;
}

process.exitCode = await main();

/**
 * What one request costs the Node process, in CPU time (`process.cpuUsage()`, user + system) and
 * in garbage collection, measured call by call against DynamoDB Local: raw SDK calls, the store's
 * single-object update, and the API's pod status PUT and GET as the bench's sim kubelets send them.
 * Not part of `npm run bench`: a measure for before/after pairs of a change to the per-call path.
 *
 *   npx tsx bench/call-cost.ts                       # 400 calls of each, one at a time and 10 at once
 *   npx tsx bench/call-cost.ts --calls 1000 --concurrency 1,10 --out /tmp/cost.json
 *   npx tsx bench/call-cost.ts --only 'status PUT'   # only the figures whose name holds this
 *
 * Run the old and the new commit one right after the other on the same machine: the figures move
 * with the machine's load (printed with them).
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { CreateTableCommand, DeleteTableCommand, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { startDynamoDbLocal } from '../functions/local/dynamodb-local.ts';
import type { KubeObject } from '../schemas/meta.ts';
import { findType } from '../schemas/registry.ts';
import { type BenchPlane, openPlane } from './bench-plane.ts';
import { createMeter } from './metering.ts';
import { runningStatus } from './sim-kubelet.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

function option(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

interface Figure {
  readonly what: string;
  readonly calls: number;
  readonly concurrency: number;
  /** CPU time of this process per call, user + system, in microseconds. */
  readonly cpuMicros: number;
  readonly userMicros: number;
  readonly systemMicros: number;
  /** Garbage collection pauses per call, in microseconds. */
  readonly gcMicros: number;
  readonly wallMsPerCall: number;
  readonly callsPerSecond: number;
  readonly loadAverage: number;
}

let gcMicros = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcMicros += entry.duration * 1000;
}).observe({ entryTypes: ['gc'] });

const only = option('--only');

async function measure(what: string, calls: number, concurrency: number, call: (index: number) => Promise<void>): Promise<Figure | undefined> {
  if (only && !what.includes(only)) return undefined;
  // A warm-up of the same calls first: the first calls pay for compiling and connecting.
  await runAll(Math.min(50, calls), concurrency, call);
  const gcBefore = gcMicros;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  await runAll(calls, concurrency, call);
  const wall = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const round = (n: number): number => Math.round(n * 10) / 10;
  return {
    what,
    calls,
    concurrency,
    cpuMicros: round((cpu.user + cpu.system) / calls),
    userMicros: round(cpu.user / calls),
    systemMicros: round(cpu.system / calls),
    gcMicros: round((gcMicros - gcBefore) / calls),
    wallMsPerCall: round(wall / calls),
    callsPerSecond: Math.round((calls / wall) * 1000),
    loadAverage: round(loadavg()[0] ?? 0),
  };
}

async function runAll(calls: number, concurrency: number, call: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < calls) await call(next++);
    }),
  );
}

function expectStatus(result: { status: number; body: unknown }, status: number, what: string): void {
  if (result.status !== status) throw new Error(`${what}: ${result.status} ${JSON.stringify(result.body)}`);
}

async function main(): Promise<void> {
  const calls = Number(option('--calls') ?? 400);
  const concurrencies = (option('--concurrency') ?? '1,10').split(',').map(Number);
  const local = await startDynamoDbLocal({ cacheDir: join(root, '.cache', 'dynamodb-local') });
  let plane: BenchPlane | undefined;
  try {
    plane = await openPlane(local.endpoint, `call-cost-${process.pid}-`, createMeter());
    const p = plane;
    const rawTable = `call-cost-${process.pid}-raw`;
    await p.client.send(
      new CreateTableCommand({
        TableName: rawTable,
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    // About 1 KB, as the single-object update.
    const payload = 'x'.repeat(900);
    const namespace = 'call-cost';
    expectStatus(await p.call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } }), 201, 'namespace');
    const podCount = 100;
    const pods: KubeObject[] = [];
    for (let i = 0; i < podCount; i++) {
      const created = await p.call('POST', `/api/v1/namespaces/${namespace}/pods`, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `pod-${i}`, labels: { app: 'call-cost' } },
        spec: { nodeName: 'node-0', containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.9' }] },
      });
      expectStatus(created, 201, 'pod create');
      pods.push(created.body as KubeObject);
    }
    const configMapType = findType('', 'v1', 'configmaps');
    if (!configMapType) throw new Error('no ConfigMap type');
    const configMaps: KubeObject[] = [];
    for (let i = 0; i < podCount; i++) {
      configMaps.push(
        await p.store.create(configMapType, {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: `cm-${i}`, namespace },
          data: { payload },
        } as KubeObject),
      );
    }

    const figures: (Figure | undefined)[] = [];
    for (const concurrency of concurrencies) {
      figures.push(
        await measure('raw PutItem (~1 KB)', calls, concurrency, async (i) => {
          await p.client.send(
            new PutItemCommand({ TableName: rawTable, Item: { pk: { S: `item-${i % podCount}` }, payload: { S: payload }, n: { N: String(i) } } }),
          );
        }),
      );
      figures.push(
        await measure('raw GetItem', calls, concurrency, async (i) => {
          await p.client.send(new GetItemCommand({ TableName: rawTable, Key: { pk: { S: `item-${i % podCount}` } }, ConsistentRead: true }));
        }),
      );
      figures.push(
        await measure('store update (ConfigMap ~1 KB)', calls, concurrency, async (i) => {
          const index = i % podCount;
          // Each worker owns its own objects (index mod concurrency), so no update is stale.
          const current = configMaps[index] as KubeObject;
          configMaps[index] = await p.store.update(configMapType, { ...current, data: { payload, n: String(i) } });
        }),
      );
      figures.push(
        await measure('API pod status PUT', calls, concurrency, async (i) => {
          const index = i % podCount;
          const pod = pods[index] as KubeObject;
          const result = await p.call('PUT', `/api/v1/namespaces/${namespace}/pods/${pod.metadata.name}/status`, {
            ...pod,
            status: { phase: 'Running', podIP: `10.0.0.${index}`, conditions: [{ type: 'Ready', status: i % 2 === 0 ? 'True' : 'False' }] },
          });
          expectStatus(result, 200, 'status PUT');
          pods[index] = result.body as KubeObject;
        }),
      );
      figures.push(
        // The whole status the sim kubelet writes (conditions, container statuses, addresses), where
        // recording managed fields and admission have most to walk.
        await measure('API pod status PUT, kubelet status', calls, concurrency, async (i) => {
          const index = i % podCount;
          const pod = pods[index] as KubeObject;
          const status = runningStatus(pod, index % 10, i);
          const result = await p.call('PUT', `/api/v1/namespaces/${namespace}/pods/${pod.metadata.name}/status`, { ...pod, status });
          expectStatus(result, 200, 'status PUT');
          pods[index] = result.body as KubeObject;
        }),
      );
      figures.push(
        await measure('API pod GET', calls, concurrency, async (i) => {
          const pod = pods[i % podCount] as KubeObject;
          expectStatus(await p.call('GET', `/api/v1/namespaces/${namespace}/pods/${pod.metadata.name}`), 200, 'pod GET');
        }),
      );
    }
    await p.client.send(new DeleteTableCommand({ TableName: rawTable })).catch(() => undefined);

    console.log(
      `calls per figure: ${calls}; load average at the end: ${loadavg()
        .map((n) => n.toFixed(2))
        .join(' ')}`,
    );
    console.log('what'.padEnd(34), 'conc', 'cpu us/call', 'user', 'sys', 'gc us/call', 'wall ms/call', 'calls/s', 'load');
    for (const f of figures.filter((figure) => figure !== undefined))
      console.log(
        f.what.padEnd(34),
        String(f.concurrency).padStart(4),
        String(f.cpuMicros).padStart(11),
        String(f.userMicros).padStart(6),
        String(f.systemMicros).padStart(6),
        String(f.gcMicros).padStart(10),
        String(f.wallMsPerCall).padStart(12),
        String(f.callsPerSecond).padStart(7),
        f.loadAverage,
      );
    const out = option('--out');
    if (out) writeFileSync(out, `${JSON.stringify({ calls, figures }, null, 2)}\n`);
  } finally {
    await plane?.close();
    await local.stop();
  }
}

await main();

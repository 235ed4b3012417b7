/**
 * Scenario `writers` (issue 10): K processes (as K API Lambda instances would be) doing
 * single-object updates of one resource type through the store, each process with a few writer
 * loops on objects of its own; then, on the same DynamoDB Local and at the same concurrency, raw
 * conditional PutItems of items of the same size — the ceiling without revisions or a change
 * log. The ratio of the two rates is the figure: how much of DynamoDB's own write rate the
 * store's guarantees leave. Also the write units one single-object update and one Lease renewal
 * cost, as the bench's meter counts them.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type DynamoDbLocal, localDynamoDbClient } from '../../functions/local/dynamodb-local.ts';
import { awsStoreSettings, createDynamoDbStore } from '../../functions/store/dynamodb-store.ts';
import { ensureTables } from '../../functions/store/tables.ts';
import { types } from '../../schemas/registry.ts';
import { createMeter, meterDynamoDb, usageBetween } from '../metering.ts';
import type { Progress } from '../progress.ts';

export interface WritersRun {
  readonly processes: number;
  readonly writersPerProcess: number;
  /** Store updates committed per second, all processes together. */
  readonly writesPerSecond: number;
  /** Transactions that failed (and were retried) per committed write. */
  readonly retriesPerWrite: number;
  /** Counter increments per committed write: below 1 when group commit joined writes. */
  readonly revisionRangesPerWrite: number;
  /** Raw conditional PutItems per second at the same concurrency. */
  readonly ceilingPutsPerSecond: number;
  /** writesPerSecond / ceilingPutsPerSecond. */
  readonly ratio: number;
  readonly loadAverage: readonly number[];
}

export interface WriteCost {
  /** As AWS bills them (transactions by item size; the bench's meter). */
  readonly writeUnits: number;
  /** As DynamoDB Local reported them. */
  readonly reportedWriteUnits: number;
  readonly readUnits: number;
}

export interface WritersResult {
  readonly anchor: string;
  readonly runs: readonly WritersRun[];
  /** One update of a ConfigMap of about 1 KB, alone (no other write to group with). */
  readonly update1KB: WriteCost;
  /** One Lease renewal (spec.renewTime), alone. */
  readonly leaseRenewal: WriteCost;
}

interface WorkerReport {
  readonly writes: number;
  readonly seconds: number;
  readonly calls: Record<string, { sent: number; failed: number }>;
}

const worker = fileURLToPath(new URL('../writers-worker.ts', import.meta.url));

async function runWorkers(
  local: DynamoDbLocal,
  tables: { objects: string; changes: string },
  mode: 'store' | 'raw',
  processes: number,
  writers: number,
  seconds: number,
): Promise<WorkerReport[]> {
  const children: ChildProcess[] = [];
  try {
    const reports = Array.from({ length: processes }, (_, index) => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', worker, local.endpoint, tables.objects, tables.changes, mode, String(index), String(writers), String(seconds)],
        {
          stdio: ['pipe', 'pipe', 'inherit'],
        },
      );
      children.push(child);
      const lines = createInterface({ input: child.stdout ?? process.stdin });
      let ready: () => void = () => {};
      const isReady = new Promise<void>((done) => {
        ready = done;
      });
      const report = new Promise<WorkerReport>((resolve, reject) => {
        lines.on('line', (line) => {
          const parsed = JSON.parse(line) as { ready?: boolean } & Partial<WorkerReport>;
          if (parsed.ready) ready();
          else if (parsed.writes !== undefined) resolve(parsed as WorkerReport);
        });
        child.once('exit', (code) => reject(new Error(`writers worker ${index} (${mode}) exited with ${code}`)));
      });
      report.catch(() => undefined);
      return { child, isReady, report };
    });
    // Every process set up before any starts: they run at once.
    await Promise.race([Promise.all(reports.map((entry) => entry.isReady)), ...reports.map((entry) => entry.report)]);
    for (const entry of reports) entry.child.stdin?.write('go\n');
    return await Promise.all(reports.map((entry) => entry.report));
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  }
}

async function measureCosts(local: DynamoDbLocal): Promise<{ update1KB: WriteCost; leaseRenewal: WriteCost }> {
  const client = localDynamoDbClient(local.endpoint);
  const meter = createMeter();
  meterDynamoDb(client, meter);
  const tables = { objects: 'bench-cost-objects', changes: 'bench-cost-changes' };
  await ensureTables(client, tables);
  const store = createDynamoDbStore({ client, tables, ...awsStoreSettings });
  const samples = 20;
  try {
    const cost = async (update: (i: number) => Promise<unknown>): Promise<WriteCost> => {
      const before = meter.usage();
      const recorder = meter.recordCalls();
      for (let i = 0; i < samples; i++) await update(i);
      const calls = recorder.stop();
      const used = usageBetween(before, meter.usage());
      return {
        writeUnits: used.dynamoDb.writeUnits / samples,
        reportedWriteUnits: calls.reduce((sum, call) => sum + call.reportedWriteUnits, 0) / samples,
        readUnits: used.dynamoDb.readUnits / samples,
      };
    };
    // About 1 KB as JSON, stored in an object item and a change entry of just under 1 KB each.
    let configMap = await store.create(types.configmaps, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'one-kb', namespace: 'cost' },
      data: { value: 'x'.repeat(600), n: '0' },
    });
    const update1KB = await cost(async (i) => {
      configMap = await store.update(types.configmaps, { ...configMap, data: { ...(configMap.data as object), n: String(i + 1) } });
    });
    let lease = await store.create(types.leases, {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'node-1', namespace: 'kube-node-lease' },
      spec: { holderIdentity: 'node-1', leaseDurationSeconds: 40, renewTime: new Date().toISOString() },
    });
    const leaseRenewal = await cost(async (i) => {
      lease = await store.update(types.leases, { ...lease, spec: { ...(lease.spec as object), renewTime: new Date(Date.now() + i * 10_000).toISOString() } });
    });
    return { update1KB, leaseRenewal };
  } finally {
    store.close();
    client.destroy();
  }
}

export async function runWriters(options: {
  readonly startLocal: () => Promise<DynamoDbLocal>;
  readonly progress: Progress;
  readonly processCounts: readonly number[];
  readonly writersPerProcess: number;
  readonly seconds: number;
}): Promise<WritersResult> {
  const runs: WritersRun[] = [];
  for (const processes of options.processCounts) {
    const local = await options.startLocal();
    try {
      const client = localDynamoDbClient(local.endpoint);
      const tables = { objects: `bench-writers-${processes}-objects`, changes: `bench-writers-${processes}-changes` };
      await ensureTables(client, tables);
      client.destroy();
      options.progress.update(`writers: ${processes} process(es) through the store`);
      const store = await runWorkers(local, tables, 'store', processes, options.writersPerProcess, options.seconds);
      options.progress.update(`writers: ${processes} process(es), raw conditional puts`);
      const raw = await runWorkers(local, tables, 'raw', processes, options.writersPerProcess, options.seconds);
      const rate = (reports: readonly WorkerReport[]): number => reports.reduce((sum, report) => sum + report.writes / report.seconds, 0);
      const writes = store.reduce((sum, report) => sum + report.writes, 0);
      const failedTransactions = store.reduce((sum, report) => sum + (report.calls.TransactWriteItems?.failed ?? 0), 0);
      const ranges = store.reduce((sum, report) => sum + (report.calls.UpdateItem?.sent ?? 0), 0);
      const writesPerSecond = rate(store);
      const ceilingPutsPerSecond = rate(raw);
      runs.push({
        processes,
        writersPerProcess: options.writersPerProcess,
        writesPerSecond: Math.round(writesPerSecond),
        retriesPerWrite: writes > 0 ? Math.round((failedTransactions / writes) * 1000) / 1000 : 0,
        revisionRangesPerWrite: writes > 0 ? Math.round((ranges / writes) * 1000) / 1000 : 0,
        ceilingPutsPerSecond: Math.round(ceilingPutsPerSecond),
        ratio: ceilingPutsPerSecond > 0 ? Math.round((writesPerSecond / ceilingPutsPerSecond) * 100) / 100 : 0,
        loadAverage: loadavg().map((n) => Math.round(n * 100) / 100),
      });
      options.progress.log(
        `writers: ${processes} process(es) × ${options.writersPerProcess}: ${Math.round(writesPerSecond)} writes/s, ceiling ${Math.round(ceilingPutsPerSecond)} puts/s`,
      );
    } finally {
      await local.stop();
    }
  }
  const local = await options.startLocal();
  try {
    options.progress.update('writers: write units of one update and one Lease renewal');
    const costs = await measureCosts(local);
    return { anchor: 'issue 10: writers ratio ≥ 0.5 at K = 16; ≤ 4 write units per ≤ 1 KB update, ≤ 2 per Lease renewal', runs, ...costs };
  } finally {
    await local.stop();
  }
}

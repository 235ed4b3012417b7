/**
 * Scenario 1: API latency. Each verb is called through the API core in-process (admission,
 * defaults, JSON, the store) and, in the same call, the DynamoDB operation the store performs for
 * it is timed by the metering middleware — the transaction for writes, GetItem for a get, the
 * Query pages for a list — so the two are side by side and their ratio is Skiff's own overhead.
 */

import { inChunks } from '../../functions/store/list-all.ts';
import { types } from '../../schemas/registry.ts';
import { apiRequest, type BenchPlane } from '../bench-plane.ts';
import type { CallRecord, Meter } from '../metering.ts';
import { type LatencySummary, summarize } from '../percentiles.ts';
import type { Progress } from '../progress.ts';

export interface ApiLatencyOptions {
  readonly plane: BenchPlane;
  readonly meter: Meter;
  readonly progress: Progress;
  readonly samples: number;
  /** Objects in the large list (the issue: 10,000). */
  readonly largeList: number;
  readonly largeListSamples: number;
}

export interface OperationLatency {
  readonly api: LatencySummary;
  /** The store's principal DynamoDB operation within the same calls. */
  readonly dynamoDb: LatencySummary;
  readonly dynamoDbOperation: string;
  /** Every DynamoDB call the request made, together. */
  readonly dynamoDbAllCalls: LatencySummary;
  readonly ratioP50: number;
  readonly ratioP99: number;
  readonly objects?: number;
}

export interface ApiLatencyResult {
  readonly anchor: string;
  readonly create: OperationLatency;
  readonly get: OperationLatency;
  readonly update: OperationLatency;
  readonly listSmall: OperationLatency;
  readonly listLarge: OperationLatency;
  readonly watchDelivery: LatencySummary & { readonly note: string };
  /** Calls over the SLO (1 s for single-object and mutating calls). */
  readonly overSlo: number;
}

interface Sample {
  readonly apiMs: number;
  readonly principalMs: number;
  readonly allMs: number;
}

const ratio = (a: number, b: number): number => (b > 0 ? Math.round((a / b) * 100) / 100 : Number.NaN);

function operation(samples: readonly Sample[], principal: string, objects?: number): OperationLatency {
  const api = summarize(samples.map((s) => s.apiMs));
  const dynamoDb = summarize(samples.map((s) => s.principalMs));
  return {
    api,
    dynamoDb,
    dynamoDbOperation: principal,
    dynamoDbAllCalls: summarize(samples.map((s) => s.allMs)),
    ratioP50: ratio(api.p50, dynamoDb.p50),
    ratioP99: ratio(api.p99, dynamoDb.p99),
    ...(objects !== undefined ? { objects } : {}),
  };
}

export async function runApiLatency(options: ApiLatencyOptions): Promise<ApiLatencyResult> {
  const { plane, meter, progress } = options;
  const namespace = 'bench-api';
  await plane.call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
  const base = `/api/v1/namespaces/${namespace}/configmaps`;

  async function timed(principal: string, call: () => Promise<{ status: number }>, expect: number): Promise<Sample> {
    const recorder = meter.recordCalls();
    const started = performance.now();
    const result = await call();
    const apiMs = performance.now() - started;
    const calls: CallRecord[] = recorder.stop();
    if (result.status !== expect) throw new Error(`${principal}: the API answered ${result.status}, expected ${expect}`);
    const sum = (list: readonly CallRecord[]): number => list.reduce((total, c) => total + c.ms, 0);
    return { apiMs, principalMs: sum(calls.filter((c) => c.command === principal)), allMs: sum(calls) };
  }

  const created: unknown[] = [];
  const createSamples: Sample[] = [];
  for (let i = 0; i < options.samples; i++) {
    progress.update(`api latency: create ${i + 1}/${options.samples}`);
    const body = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${i}`, labels: { bench: 'api' } }, data: { key: 'value', index: String(i) } };
    createSamples.push(
      await timed(
        'TransactWriteItemsCommand',
        async () => {
          const result = await plane.call('POST', base, body);
          created.push(result.body);
          return result;
        },
        201,
      ),
    );
  }

  const getSamples: Sample[] = [];
  for (let i = 0; i < options.samples; i++) {
    progress.update(`api latency: get ${i + 1}/${options.samples}`);
    getSamples.push(await timed('BatchGetItemCommand', () => plane.call('GET', `${base}/cm-${i}`), 200));
  }

  const updateSamples: Sample[] = [];
  for (let i = 0; i < options.samples; i++) {
    progress.update(`api latency: update ${i + 1}/${options.samples}`);
    const current = created[i] as { data?: Record<string, string> };
    updateSamples.push(
      // A single-object update is two plain conditional puts, the object's and its change entry's (docs/adr/005).
      await timed('PutItemCommand', () => plane.call('PUT', `${base}/cm-${i}`, { ...current, data: { ...current.data, key: 'changed' } }), 200),
    );
  }

  const seed = async (ns: string, count: number): Promise<void> => {
    await plane.call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    const objects = Array.from({ length: count }, (_, i) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `item-${String(i).padStart(6, '0')}`, namespace: ns, labels: { bench: 'list' } },
      data: { key: 'value', index: String(i) },
    }));
    let written = 0;
    await inChunks(objects, 25, async (chunk) => {
      const result = await plane.store.batch(
        types.configmaps,
        chunk.map((object) => ({ op: 'create', object })),
      );
      written += chunk.length;
      progress.update(`api latency: seeding ${ns} ${written}/${count}`);
      return result;
    });
  };
  const listSamples = async (ns: string, count: number, samples: number): Promise<Sample[]> => {
    const results: Sample[] = [];
    for (let i = 0; i < samples; i++) {
      progress.update(`api latency: list ${count} objects ${i + 1}/${samples}`);
      results.push(await timed('QueryCommand', () => plane.call('GET', `/api/v1/namespaces/${ns}/configmaps`), 200));
    }
    return results;
  };
  await seed('bench-list-small', 100);
  const listSmall = await listSamples('bench-list-small', 100, options.samples);
  await seed('bench-list-large', options.largeList);
  const listLarge = await listSamples('bench-list-large', options.largeList, options.largeListSamples);

  const watchDelivery = await measureWatchDelivery(plane, base, options.samples, progress);

  const singles = [...createSamples, ...getSamples, ...updateSamples];
  return {
    anchor: 'Kubernetes SLO: p99 <= 1 s for mutating and single-object calls (namespaced LIST p99 <= 5 s)',
    create: operation(createSamples, 'TransactWriteItems'),
    get: operation(getSamples, 'BatchGetItem'),
    update: operation(updateSamples, 'PutItem'),
    listSmall: operation(listSmall, 'Query', 100),
    listLarge: operation(listLarge, 'Query', options.largeList),
    watchDelivery: {
      ...watchDelivery,
      note: 'API watch in the same process as the writer (woken at commit); a watcher in another process polls the change log every pollIntervalMs (1 s)',
    },
    overSlo: singles.filter((s) => s.apiMs > 1000).length,
  };
}

/** Create → the ADDED event read from an API watch stream, one object at a time. */
async function measureWatchDelivery(plane: BenchPlane, base: string, samples: number, progress: Progress): Promise<LatencySummary> {
  const list = await plane.call('GET', base, undefined, { limit: '1' });
  const stop = new AbortController();
  const response = await plane.api(
    apiRequest('GET', base, undefined, { watch: '1', resourceVersion: String(list.body?.metadata?.resourceVersion ?? '') }, stop.signal),
  );
  if (!response.stream) throw new Error(`watch answered ${response.status} without a stream`);
  const seen = new Map<string, number>();
  let waiting: { name: string; resolve: () => void } | undefined;
  const reading = (async () => {
    let buffer = '';
    try {
      for await (const chunk of response.stream ?? []) {
        buffer += chunk.toString();
        for (let newline = buffer.indexOf('\n'); newline >= 0; newline = buffer.indexOf('\n')) {
          const line = buffer.slice(0, newline).trim();
          buffer = buffer.slice(newline + 1);
          if (!line) continue;
          const event = JSON.parse(line) as { type?: string; object?: { metadata?: { name?: string } } };
          const name = event.object?.metadata?.name;
          if (event.type !== 'ADDED' || !name) continue;
          seen.set(name, performance.now());
          if (waiting?.name === name) waiting.resolve();
        }
      }
    } catch {
      // The abort ends the stream.
    }
  })();
  const latencies: number[] = [];
  try {
    for (let i = 0; i < samples; i++) {
      progress.update(`api latency: watch delivery ${i + 1}/${samples}`);
      const name = `watched-${i}`;
      const arrived = new Promise<void>((resolve, reject) => {
        waiting = { name, resolve };
        setTimeout(() => reject(new Error(`no watch event for ${name} within 10 s`)), 10_000).unref();
      });
      const started = performance.now();
      await plane.call('POST', base, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { key: 'value' } });
      await arrived;
      latencies.push((seen.get(name) ?? performance.now()) - started);
    }
  } finally {
    stop.abort();
    await reading;
  }
  return summarize(latencies);
}

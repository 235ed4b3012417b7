/**
 * The control plane as the bench runs it: the real store on DynamoDB Local, the real API core
 * called in-process (as the API Lambda would be, minus the network), and the controller and
 * scheduler handlers fed by the real stream poller — every part metered for the cost model.
 */
import { randomUUID } from 'node:crypto';
import { DeleteTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { createApi } from '../functions/api/app.ts';
import type { ApiHandler, ApiRequest } from '../functions/api/http.ts';
import type { Controller, ReconcileKey } from '../functions/controller-runtime/controller.ts';
import { keyToString } from '../functions/controller-runtime/controller.ts';
import { type ControllerRuntime, handleStreamEvent, reconcileKeys, resyncAll } from '../functions/controller-runtime/run-controllers.ts';
import { controllersWith } from '../functions/controllers/controllers.ts';
import { ensureSystemNamespaces } from '../functions/controllers/namespaces/system-namespaces.ts';
import { superuserAuthorizer } from '../functions/domain/authorization/authorizer.ts';
import { localCredentials, localDynamoDbClient } from '../functions/local/dynamodb-local.ts';
import { startStreamPoller } from '../functions/local/stream-poller.ts';
import { schedulerControllers } from '../functions/scheduler/scheduler-controller.ts';
import { createDynamoDbStore, type DynamoDbStore, parseStreamRecord } from '../functions/store/dynamodb-store.ts';
import { ensureTables, type TableNames } from '../functions/store/tables.ts';
import { type Meter, meterDynamoDb } from './metering.ts';

export const benchToken = 'skiff-bench-admin';

export interface ApiResult {
  readonly status: number;
  /** The JSON body as parsed: read by field. */
  readonly body: any;
}

export interface ControlLoops {
  /** One scheduled resync (the Resync Lambda), metered as one invocation. */
  resync(): Promise<void>;
  stop(): Promise<void>;
}

export interface BenchPlane {
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  readonly tables: TableNames;
  readonly store: DynamoDbStore;
  /** The API core with metering: one API Gateway request and one API Lambda invocation per call. */
  readonly api: ApiHandler;
  call(method: string, path: string, body?: unknown, query?: Record<string, string>): Promise<ApiResult>;
  startControlLoops(options?: { resyncSeconds?: number; nodeGraceSeconds?: number; evictionSeconds?: number }): Promise<ControlLoops>;
  close(): Promise<void>;
}

/** Tables `<prefix>objects` / `<prefix>changes` on the given DynamoDB Local, fresh for each scenario. */
export async function openPlane(endpoint: string, prefix: string, meter: Meter): Promise<BenchPlane> {
  const client = localDynamoDbClient(endpoint);
  meterDynamoDb(client, meter);
  const tables = { objects: `${prefix}objects`, changes: `${prefix}changes` };
  await ensureTables(client, tables);
  const store = createDynamoDbStore({ client, tables });
  await ensureSystemNamespaces(store);
  const core = createApi({
    store,
    authenticators: [async (token) => (token === benchToken ? { username: 'bench-admin', groups: ['system:masters', 'system:authenticated'] } : undefined)],
    authorizer: superuserAuthorizer,
  });
  const api: ApiHandler = async (request) => {
    const started = performance.now();
    const response = await core(request);
    // A watch holds its Lambda for as long as it streams; the bench's watches are not billed here.
    meter.countApi(response.stream ? 0 : (performance.now() - started) / 1000);
    return response;
  };
  const stops: (() => Promise<void>)[] = [];

  return {
    endpoint,
    client,
    tables,
    store,
    api,
    async call(method, path, body, query) {
      const response = await api(apiRequest(method, path, body, query));
      const text = response.body === undefined ? '' : response.body.toString();
      return { status: response.status, body: text ? JSON.parse(text) : undefined };
    },
    async startControlLoops(options = {}) {
      const loops = await startMeteredControlLoops(client, endpoint, tables, store, meter, options);
      stops.push(() => loops.stop());
      return loops;
    },
    async close() {
      for (const stop of stops.reverse()) await stop().catch(() => undefined);
      store.close();
      // Each scenario has its own tables: dropping them keeps the in-memory DynamoDB Local small.
      for (const table of [tables.objects, tables.changes]) await client.send(new DeleteTableCommand({ TableName: table })).catch(() => undefined);
      client.destroy();
    },
  };
}

export function apiRequest(method: string, path: string, body?: unknown, query: Record<string, string> = {}, signal?: AbortSignal): ApiRequest {
  return {
    method,
    path,
    query: new URLSearchParams(query),
    headers: { authorization: `Bearer ${benchToken}`, accept: 'application/json', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(body)),
    signal: signal ?? new AbortController().signal,
    requestId: randomUUID(),
  };
}

/**
 * What functions/local/control-loops.ts does, with each stream batch handed to each handler
 * timed as one Lambda invocation, and the resync timed as one invocation of the Resync Lambda.
 */
async function startMeteredControlLoops(
  client: DynamoDBClient,
  endpoint: string,
  tables: TableNames,
  store: DynamoDbStore,
  meter: Meter,
  options: { resyncSeconds?: number; nodeGraceSeconds?: number; evictionSeconds?: number },
): Promise<ControlLoops> {
  let stopped = false;
  const timers = new Map<string, NodeJS.Timeout>();
  const requeue = (runtime: () => ControllerRuntime) => (controller: Controller, key: ReconcileKey, afterSeconds: number) => {
    const id = keyToString(controller.name, key);
    if (stopped || timers.has(id)) return;
    const timer = setTimeout(() => {
      timers.delete(id);
      if (!stopped) void reconcileKeys(runtime(), [{ controller, key }]).catch(() => undefined);
    }, Math.max(0.05, afterSeconds) * 1000);
    timer.unref();
    timers.set(id, timer);
  };
  const lifecycle = {
    ...(options.nodeGraceSeconds !== undefined ? { nodeGraceSeconds: options.nodeGraceSeconds } : {}),
    ...(options.evictionSeconds !== undefined ? { evictionSeconds: options.evictionSeconds } : {}),
  };
  const controllerRuntime: ControllerRuntime = { store, controllers: controllersWith(lifecycle), onRequeue: requeue(() => controllerRuntime) };
  const schedulerRuntime: ControllerRuntime = { store, controllers: schedulerControllers, onRequeue: requeue(() => schedulerRuntime) };
  const metered = (runtime: ControllerRuntime) => async (event: DynamoDBStreamEvent) => {
    const started = performance.now();
    try {
      return await handleStreamEvent<DynamoDBRecord>(event, { ...runtime, parseRecord: parseStreamRecord });
    } finally {
      meter.countStreamBatch((performance.now() - started) / 1000);
    }
  };
  const streams = new DynamoDBStreamsClient({ endpoint, region: 'us-east-1', credentials: localCredentials });
  const poller = await startStreamPoller({
    dynamoDb: client,
    streams,
    tableName: tables.objects,
    consumers: [metered(controllerRuntime), metered(schedulerRuntime)],
  });

  let resyncing: Promise<void> | undefined;
  const resync = (): Promise<void> => {
    resyncing ??= (async () => {
      const started = performance.now();
      try {
        await resyncAll({ ...controllerRuntime, controllers: [...controllerRuntime.controllers, ...schedulerControllers] });
      } finally {
        meter.countResync((performance.now() - started) / 1000);
        resyncing = undefined;
      }
    })();
    return resyncing;
  };
  const interval = options.resyncSeconds ? setInterval(() => void resync().catch(() => undefined), options.resyncSeconds * 1000) : undefined;
  interval?.unref();

  return {
    resync,
    async stop() {
      stopped = true;
      if (interval) clearInterval(interval);
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
      await poller.stop();
      await resyncing?.catch(() => undefined);
      streams.destroy();
    },
  };
}

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
import { createHeartbeatEndpoint } from '../functions/api/heartbeat.ts';
import type { ApiHandler, ApiRequest } from '../functions/api/http.ts';
import type { Controller, ReconcileKey } from '../functions/controller-runtime/controller.ts';
import { keyToString } from '../functions/controller-runtime/controller.ts';
import {
  type ControllerRuntime,
  handleStreamEvent,
  newResyncState,
  reconcileKeys,
  resyncAll,
  resyncFullPassSeconds,
} from '../functions/controller-runtime/run-controllers.ts';
import { controllersWith } from '../functions/controllers/controllers.ts';
import { ensureSystemNamespaces } from '../functions/controllers/namespaces/system-namespaces.ts';
import { alwaysAllowAuthorizer, superuserAuthorizer, unionAuthorizer } from '../functions/domain/authorization/authorizer.ts';
import type { UserInfo } from '../functions/domain/authorization/user-info.ts';
import {
  controllerStreamFilters,
  type FilterPattern,
  fanOutStreamFilters,
  matchesStreamFilter,
  schedulerStreamFilters,
} from '../functions/lambda/stream-filters.ts';
import { localCredentials, localDynamoDbClient } from '../functions/local/dynamodb-local.ts';
import { startStreamPoller } from '../functions/local/stream-poller.ts';
import { schedulerControllers } from '../functions/scheduler/scheduler-controller.ts';
import { awsStoreSettings, createDynamoDbStore, type DynamoDbStore, parseStreamRecord } from '../functions/store/dynamodb-store.ts';
import { ensureTable, ensureTables, type TableNames } from '../functions/store/tables.ts';
import { type Channel, createChannel } from '../functions/watch/channel.ts';
import { type ChannelRegistry, channelTableDefinition, dynamoDbChannelRegistry } from '../functions/watch/channel-registry.ts';
import { type ConnectionPoster, GoneConnectionError } from '../functions/watch/connection-poster.ts';
import { handleChangeStreamEvent } from '../functions/watch/fan-out.ts';
import type { ClientMessage, ServerMessage } from '../schemas/watch-channel.ts';
import { type Meter, meterDynamoDb } from './metering.ts';

export const benchToken = 'skiff-bench-admin';

export interface ApiResult {
  readonly status: number;
  /** The JSON body as parsed: read by field. */
  readonly body: any;
}

export interface ControlLoops {
  /**
   * One scheduled resync (the Resync Lambda), metered as one invocation: incremental as the
   * Lambda runs it (the first one, and any with `full`, a full pass; docs/adr/053).
   */
  resync(options?: { readonly full?: boolean }): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The watch channel as API Gateway and its Lambdas would run it, metered: every message a client
 * sends is a WebSocket message and an invocation of the channel's Lambda; every message posted to
 * a client is a WebSocket message; the fan-out runs on the change log's stream with the control
 * loops, one invocation per batch.
 */
export interface BenchChannel {
  /** `$connect` of a client with a bearer token (`benchToken`, or `benchNodeToken(name)` for a node). */
  connect(connectionId: string, token: string, receive: (message: ServerMessage) => void): Promise<number>;
  send(connectionId: string, message: ClientMessage): Promise<void>;
  disconnect(connectionId: string): Promise<void>;
}

/**
 * The node heartbeat endpoint (docs/adr/196) as its function URL and Lambda would run it, metered:
 * one invocation of the heartbeat Lambda per request, no API Gateway, no WebSocket message.
 */
export interface BenchHeartbeat {
  /** A PUT of a node's Lease (renewal) or its Node's status, by that node. */
  put(nodeName: string, path: string, body: unknown): Promise<ApiResult>;
}

/** A node's bearer token in the bench: `system:node:<name>`. */
export const benchNodeToken = (nodeName: string): string => `skiff-bench-node:${nodeName}`;

export interface BenchPlane {
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  readonly tables: TableNames;
  readonly store: DynamoDbStore;
  readonly channel: BenchChannel;
  readonly heartbeat: BenchHeartbeat;
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
  const channelTable = `${prefix}channel`;
  await Promise.all([ensureTables(client, tables, { changeLogStream: true }), ensureTable(client, channelTable, channelTableDefinition)]);
  // The store as the Lambdas run it (functions/lambda/lambda-runtime.ts): AWS is what the bench prices.
  const store = createDynamoDbStore({ client, tables, ...awsStoreSettings });
  await ensureSystemNamespaces(store);
  const authenticate = async (token: string): Promise<UserInfo | undefined> => {
    if (token === benchToken) return { username: 'bench-admin', groups: ['system:masters', 'system:authenticated'] };
    const node = token.startsWith('skiff-bench-node:') ? token.slice('skiff-bench-node:'.length) : undefined;
    return node ? { username: `system:node:${node}`, groups: ['system:nodes', 'system:authenticated'] } : undefined;
  };
  // The bench's users are the admin and the sim nodes, all allowed: the bench measures cost, not authorization.
  const authorizer = unionAuthorizer([superuserAuthorizer, alwaysAllowAuthorizer]);
  const core = createApi({ store, authenticators: [authenticate], authorizer });
  const catchUpStore = createDynamoDbStore({ client, tables, bookmarkIntervalMs: 0 });
  const registry = dynamoDbChannelRegistry({ client, tableName: channelTable });
  const channelCore = createChannel({ registry, store, catchUpStore, authenticate, authorizer });
  const { channel, poster } = meteredChannel(channelCore, meter);
  const heartbeatCore = createHeartbeatEndpoint({ store, authorizer });
  const heartbeat: BenchHeartbeat = {
    async put(nodeName, path, body) {
      const user = await authenticate(benchNodeToken(nodeName));
      const started = performance.now();
      try {
        const response = await heartbeatCore(
          { ...apiRequest('PUT', path, body), headers: { accept: 'application/json', 'content-type': 'application/json' } },
          user,
        );
        const text = response.body === undefined ? '' : response.body.toString();
        return { status: response.status, body: text ? JSON.parse(text) : undefined };
      } finally {
        meter.countHeartbeat((performance.now() - started) / 1000);
      }
    },
  };
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
    channel,
    heartbeat,
    api,
    async call(method, path, body, query) {
      const response = await api(apiRequest(method, path, body, query));
      const text = response.body === undefined ? '' : response.body.toString();
      return { status: response.status, body: text ? JSON.parse(text) : undefined };
    },
    async startControlLoops(options = {}) {
      const loops = await startMeteredControlLoops(client, endpoint, tables, store, meter, { ...options, fanOut: { registry, poster }, changes: catchUpStore });
      stops.push(() => loops.stop());
      return loops;
    },
    async close() {
      for (const stop of stops.reverse()) await stop().catch(() => undefined);
      store.close();
      catchUpStore.close();
      // Each scenario has its own tables: dropping them keeps the in-memory DynamoDB Local small.
      for (const table of [tables.objects, tables.changes, channelTable])
        await client.send(new DeleteTableCommand({ TableName: table })).catch(() => undefined);
      client.destroy();
    },
  };
}

function meteredChannel(core: Channel, meter: Meter): { channel: BenchChannel; poster: ConnectionPoster } {
  const receivers = new Map<string, (message: ServerMessage) => void>();
  const poster: ConnectionPoster = {
    async post(connectionId, message) {
      const receive = receivers.get(connectionId);
      if (!receive) throw new GoneConnectionError(connectionId);
      meter.countWebSocketMessage(Buffer.byteLength(message));
      receive(JSON.parse(message) as ServerMessage);
    },
  };
  /** One invocation of the channel's Lambda, timed as Lambda bills it. */
  const invoke = async <T>(work: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await work();
    } finally {
      meter.countChannel((performance.now() - started) / 1000);
    }
  };
  const channel: BenchChannel = {
    async connect(connectionId, token, receive) {
      const { statusCode } = await invoke(() => core.connect(connectionId, { authorization: `Bearer ${token}` }));
      if (statusCode === 200) receivers.set(connectionId, receive);
      return statusCode;
    },
    async send(connectionId, message) {
      const body = JSON.stringify(message);
      meter.countWebSocketMessage(Buffer.byteLength(body));
      // API Gateway answers a ping itself (a mock integration): no Lambda runs.
      if (message.action === 'ping') return;
      await invoke(() => core.receive(connectionId, body, poster));
    },
    async disconnect(connectionId) {
      receivers.delete(connectionId);
      await invoke(() => core.disconnect(connectionId));
    },
  };
  return { channel, poster };
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
  options: {
    resyncSeconds?: number;
    nodeGraceSeconds?: number;
    evictionSeconds?: number;
    fanOut: { registry: ChannelRegistry; poster: ConnectionPoster };
    /** The change log, read by the incremental resync. */
    changes: DynamoDbStore;
  },
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
  const lifecycle = options.nodeGraceSeconds !== undefined ? { nodeGraceSeconds: options.nodeGraceSeconds } : {};
  const admissionSettings = options.evictionSeconds !== undefined ? { defaultTolerationSeconds: options.evictionSeconds } : {};
  const controllerRuntime: ControllerRuntime = {
    store,
    admissionSettings,
    controllers: controllersWith(lifecycle),
    onRequeue: requeue(() => controllerRuntime),
  };
  const schedulerRuntime: ControllerRuntime = { store, admissionSettings, controllers: schedulerControllers, onRequeue: requeue(() => schedulerRuntime) };
  /** A stream consumer as its event source mapping runs it: only records its filters let through invoke it. */
  const metered = (runtime: ControllerRuntime, filters: readonly FilterPattern[]) => async (event: DynamoDBStreamEvent) => {
    const records = event.Records.filter((record) => matchesStreamFilter(filters, record));
    if (records.length === 0) return { batchItemFailures: [] };
    const started = performance.now();
    try {
      return await handleStreamEvent<DynamoDBRecord>({ Records: records }, { ...runtime, parseRecord: parseStreamRecord });
    } finally {
      meter.countStreamBatch((performance.now() - started) / 1000);
    }
  };
  const streams = new DynamoDBStreamsClient({ endpoint, region: 'us-east-1', credentials: localCredentials });
  const poller = await startStreamPoller({
    dynamoDb: client,
    streams,
    tableName: tables.objects,
    consumers: [metered(controllerRuntime, controllerStreamFilters), metered(schedulerRuntime, schedulerStreamFilters)],
  });
  // The fan-out Lambda on the change log's stream, with the stack's filter: new entries of the channel's types.
  const fanOutPoller = await startStreamPoller({
    dynamoDb: client,
    streams,
    tableName: tables.changes,
    consumers: [
      async (event) => {
        const records = event.Records.filter((record) => matchesStreamFilter(fanOutStreamFilters, record));
        if (records.length === 0) return { batchItemFailures: [] };
        const started = performance.now();
        try {
          return await handleChangeStreamEvent({ Records: records }, options.fanOut);
        } finally {
          meter.countFanOutBatch((performance.now() - started) / 1000);
        }
      },
    ],
  });

  let resyncing: Promise<void> | undefined;
  const resyncState = newResyncState();
  const resync = (resyncOptions: { readonly full?: boolean } = {}): Promise<void> => {
    resyncing ??= (async () => {
      if (resyncOptions.full) delete resyncState.lastFullPassAt;
      const started = performance.now();
      try {
        await resyncAll(
          { ...controllerRuntime, controllers: [...controllerRuntime.controllers, ...schedulerControllers] },
          { state: resyncState, changes: options.changes, fullPassSeconds: resyncFullPassSeconds },
        );
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
      await fanOutPoller.stop();
      await resyncing?.catch(() => undefined);
      streams.destroy();
    },
  };
}

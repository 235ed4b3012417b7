/**
 * The local host of the controller-manager and scheduler Lambdas: one stream poller feeds DynamoDB
 * Local's stream to both handlers (as two event source mappings would), a timer resyncs
 * everything (as the EventBridge schedule does), and reconciles that asked to be looked at again
 * later (minReadySeconds, progress deadlines) get a timer of their own.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord } from 'aws-lambda';
import type { Controller, ReconcileKey } from '../controller-runtime/controller.ts';
import { keyToString } from '../controller-runtime/controller.ts';
import { type ControllerRuntime, handleStreamEvent, reconcileKeys, resyncAll } from '../controller-runtime/run-controllers.ts';
import { type ControllerOptions, controllersWith } from '../controllers/controllers.ts';
import type { AdmissionSettings } from '../domain/object-admission/admission.ts';
import { type Log, silentLog } from '../logging/log.ts';
import { schedulerControllers } from '../scheduler/scheduler-controller.ts';
import { parseStreamRecord } from '../store/dynamodb-store.ts';
import type { ObjectStore } from '../store/store.ts';
import type { TableNames } from '../store/tables.ts';
import { localDynamoDbTimeouts } from './dynamodb-local.ts';
import { startStreamPoller } from './stream-poller.ts';

export interface ControlLoopsOptions extends ControllerOptions {
  readonly store: ObjectStore;
  /** Cluster settings of admission, the API server's: `--eviction-seconds` sets the default tolerations' seconds. */
  readonly admissionSettings?: Partial<AdmissionSettings>;
  /** The DynamoDB client of the store; its region and credentials are reused for the stream. */
  readonly client: DynamoDBClient;
  /** Where DynamoDB Local listens; the Streams client is pointed there. */
  readonly dynamoDbEndpoint?: string;
  readonly streamsClient?: DynamoDBStreamsClient;
  readonly tables: TableNames;
  /** Seconds between full resyncs. @default 30 */
  readonly resyncSeconds?: number;
  /** The host's log; each loop adds its `component`. */
  readonly log?: Log;
  /** Replace the controller set (tests). */
  readonly controllers?: readonly Controller[];
  readonly schedulerControllers?: readonly Controller[];
  /** Wait between empty stream reads. @default 200 */
  readonly pollIntervalMs?: number;
  /** Run a resync before returning. @default true */
  readonly initialResync?: boolean;
  /** The controllers' clock (tests fast-forward it: a CronJob's schedule). @default the system clock */
  readonly now?: () => Date;
}

export interface ControlLoops {
  /** Re-reconciles everything now. */
  resync(): Promise<void>;
  stop(): Promise<void>;
}

export async function startControlLoops(options: ControlLoopsOptions): Promise<ControlLoops> {
  const timers = new Map<string, NodeJS.Timeout>();
  let stopped = false;
  const requeue = (runtime: () => ControllerRuntime) => (controller: Controller, key: ReconcileKey, afterSeconds: number) => {
    if (stopped) return;
    const id = keyToString(controller.name, key);
    if (timers.has(id)) return;
    const timer = setTimeout(() => {
      timers.delete(id);
      if (!stopped) void reconcileKeys(runtime(), [{ controller, key }]).catch(() => undefined);
    }, Math.max(0.05, afterSeconds) * 1000);
    timer.unref();
    timers.set(id, timer);
  };

  const controllerRuntime: ControllerRuntime = {
    store: options.store,
    ...(options.admissionSettings ? { admissionSettings: options.admissionSettings } : {}),
    controllers: options.controllers ?? controllersWith(options),
    ...(options.now ? { now: options.now } : {}),
    log: (options.log ?? silentLog).child({ component: 'controller-manager' }),
    onRequeue: requeue(() => controllerRuntime),
  };
  const schedulerRuntime: ControllerRuntime = {
    store: options.store,
    ...(options.admissionSettings ? { admissionSettings: options.admissionSettings } : {}),
    controllers: options.schedulerControllers ?? schedulerControllers,
    log: (options.log ?? silentLog).child({ component: 'scheduler' }),
    onRequeue: requeue(() => schedulerRuntime),
  };

  const streams =
    options.streamsClient ??
    new DynamoDBStreamsClient({
      ...(options.dynamoDbEndpoint ? { endpoint: options.dynamoDbEndpoint } : {}),
      region: options.client.config.region,
      credentials: options.client.config.credentials,
      requestHandler: localDynamoDbTimeouts,
    });
  const poller = await startStreamPoller({
    dynamoDb: options.client,
    streams,
    tableName: options.tables.objects,
    consumers: [
      (event) => handleStreamEvent<DynamoDBRecord>(event, { ...controllerRuntime, parseRecord: parseStreamRecord }),
      (event) => handleStreamEvent<DynamoDBRecord>(event, { ...schedulerRuntime, parseRecord: parseStreamRecord }),
    ],
    ...(options.pollIntervalMs !== undefined ? { pollIntervalMs: options.pollIntervalMs } : {}),
    log: (options.log ?? silentLog).child({ component: 'stream-poller' }),
  });

  let resyncing: Promise<void> | undefined;
  const resync = async () => {
    if (resyncing) return resyncing;
    resyncing = (async () => {
      try {
        await resyncAll(controllerRuntime);
        await resyncAll(schedulerRuntime);
      } catch (error) {
        controllerRuntime.log?.warn('resync failed', { error: String(error) });
      } finally {
        resyncing = undefined;
      }
    })();
    return resyncing;
  };
  // The poller started at LATEST: whatever happened before is picked up here.
  if (options.initialResync !== false) await resync();
  const interval = setInterval(() => void resync(), (options.resyncSeconds ?? 30) * 1000);
  interval.unref();

  return {
    resync,
    async stop() {
      stopped = true;
      clearInterval(interval);
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
      await poller.stop();
      await resyncing;
      if (!options.streamsClient) streams.destroy();
    },
  };
}

/**
 * What the Lambda entry points share: the store built from the environment (`OBJECTS_TABLE`,
 * `CHANGES_TABLE`; the SDK itself honours `AWS_ENDPOINT_URL`), the process's structured logger,
 * which every handler's middy chain gives to `injectLambdaContext` so each entry carries the
 * invocation's context, and the stream batch handler. Built once per container, on first use,
 * reused across invocations.
 */

import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import middy from '@middy/core';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { type ControllerRuntime, handleStreamEvent } from '../controller-runtime/run-controllers.ts';
import type { NodeStatsSource } from '../domain/metrics/node-stats.ts';
import { serviceCidrProblem } from '../domain/services/service-allocation-plan.ts';
import type { Log } from '../logging/log.ts';
import { createLogger, logTo } from '../logging/structured-log.ts';
import { awsStoreSettings, createDynamoDbStore, type DynamoDbStore, parseStreamRecord } from '../store/dynamodb-store.ts';
import { dynamoDbNodeStats } from '../watch/node-stats-items.ts';

/**
 * A DynamoDB client that gives up on a hung call instead of holding the invocation: 3 s to
 * connect, 10 s of silence on the socket; the SDK retries those (3 attempts). Every client of
 * the Lambdas is made here.
 */
export function dynamoDbClient(): DynamoDBClient {
  return new DynamoDBClient({ maxAttempts: 3, requestHandler: { connectionTimeout: 3_000, requestTimeout: 10_000, throwOnRequestTimeout: true } });
}

export function storeFromEnvironment(env: NodeJS.ProcessEnv = process.env, settings: { readonly bookmarkIntervalMs?: number } = {}): DynamoDbStore {
  const objects = env.OBJECTS_TABLE;
  const changes = env.CHANGES_TABLE;
  if (!objects || !changes) throw new Error('OBJECTS_TABLE and CHANGES_TABLE must be set');
  return createDynamoDbStore({ client: dynamoDbClient(), tables: { objects, changes }, ...awsStoreSettings, ...settings });
}

/**
 * The service range the stack was deployed with (`SERVICE_CIDR`, the CDK's `serviceCidr`), or
 * undefined for the default; a range kube-apiserver would refuse stops the function at its start.
 */
export function serviceCidrFromEnvironment(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const cidr = env.SERVICE_CIDR?.trim();
  if (!cidr) return undefined;
  const problem = serviceCidrProblem(cidr);
  if (problem) throw new Error(`SERVICE_CIDR ${cidr}: ${problem}`);
  return cidr;
}

/** The `kubernetes` Service's options of the controllers: its address from the deployed service range. */
export function kubernetesServiceFromEnvironment(env: NodeJS.ProcessEnv = process.env): { kubernetesService?: { serviceCidr: string } } {
  const serviceCidr = serviceCidrFromEnvironment(env);
  return serviceCidr ? { kubernetesService: { serviceCidr } } : {};
}

/**
 * Where the nodes' figures are read on AWS (docs/adr/193): the items the watch channel keeps in
 * its table (`CHANNEL_TABLE`). Without the table the metrics API answers 503 and the
 * HorizontalPodAutoscaler controller is not run.
 */
export function nodeStatsFromEnvironment(env: NodeJS.ProcessEnv = process.env): { nodeStats?: NodeStatsSource } {
  const tableName = env.CHANNEL_TABLE;
  return tableName ? { nodeStats: dynamoDbNodeStats({ client: dynamoDbClient(), tableName }).source } : {};
}

/** The function's Logger: for `injectLambdaContext(logger)` in the handler's middy chain. */
export const logger = createLogger();

/** The log of one part of the function (`component`: api, controller-manager, scheduler, resync). */
export function lambdaLog(component: string): Log {
  return logTo(logger, { component });
}

/** `make()` on the first call, the same value after: a container's clients outlive one invocation. */
export function once<T>(make: () => T): () => T {
  let made: { value: T } | undefined;
  return () => {
    made ??= { value: make() };
    return made.value;
  };
}

/**
 * A handler for a DynamoDB Streams event source mapping with ReportBatchItemFailures: the batch's
 * records become keys for the controllers, and the records of keys that failed are reported by
 * their `dynamodb.SequenceNumber`.
 */
export function createStreamBatchHandler(runtime: () => ControllerRuntime) {
  return middy<DynamoDBStreamEvent, DynamoDBBatchResponse>()
    .use(injectLambdaContext(logger))
    .handler((event) => handleStreamEvent<DynamoDBRecord>(event, { ...runtime(), parseRecord: parseStreamRecord }));
}

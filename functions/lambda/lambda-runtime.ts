/**
 * What the Lambda entry points share: the store built from the environment (`OBJECTS_TABLE`,
 * `CHANGES_TABLE`; the SDK itself honours `AWS_ENDPOINT_URL`) and the process's structured
 * logger, which every handler's middy chain gives to `injectLambdaContext` so each entry carries
 * the invocation's context. Built once per container, reused across invocations.
 */

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Log } from '../logging/log.ts';
import { createLogger, logTo } from '../logging/structured-log.ts';
import { createDynamoDbStore, type DynamoDbStore } from '../store/dynamodb-store.ts';

/**
 * A DynamoDB client that gives up on a hung call instead of holding the invocation: 3 s to
 * connect, 10 s of silence on the socket; the SDK retries those (3 attempts). Every client of
 * the Lambdas is made here.
 */
export function dynamoDbClient(): DynamoDBClient {
  return new DynamoDBClient({ maxAttempts: 3, requestHandler: { connectionTimeout: 3_000, requestTimeout: 10_000, throwOnRequestTimeout: true } });
}

export function storeFromEnvironment(env: NodeJS.ProcessEnv = process.env): DynamoDbStore {
  const objects = env.OBJECTS_TABLE;
  const changes = env.CHANGES_TABLE;
  if (!objects || !changes) throw new Error('OBJECTS_TABLE and CHANGES_TABLE must be set');
  return createDynamoDbStore({ client: dynamoDbClient(), tables: { objects, changes } });
}

/** The function's Logger: for `injectLambdaContext(logger)` in the handler's middy chain. */
export const logger = createLogger();

/** The log of one part of the function (`component`: api, controller-manager, scheduler, resync). */
export function lambdaLog(component: string): Log {
  return logTo(logger, { component });
}

/**
 * What the controller and scheduler Lambdas share: the store built from the environment
 * (`OBJECTS_TABLE`, `CHANGES_TABLE`; the SDK itself honours `AWS_ENDPOINT_URL`) and a structured
 * logger. Built once per container, reused across invocations.
 */

import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { ControllerLog } from '../controller-runtime/controller.ts';
import { createDynamoDbStore, type DynamoDbStore } from '../store/dynamodb-store.ts';

export function storeFromEnvironment(env: NodeJS.ProcessEnv = process.env): DynamoDbStore {
  const objects = env.OBJECTS_TABLE;
  const changes = env.CHANGES_TABLE;
  if (!objects || !changes) throw new Error('OBJECTS_TABLE and CHANGES_TABLE must be set');
  return createDynamoDbStore({ client: new DynamoDBClient({}), tables: { objects, changes } });
}

export function lambdaLog(serviceName: string): ControllerLog {
  const logger = new Logger({ serviceName });
  return {
    info: (message, fields) => logger.info(message, { ...fields }),
    warn: (message, fields) => logger.warn(message, { ...fields }),
    error: (message, fields) => logger.error(message, { ...fields }),
  };
}

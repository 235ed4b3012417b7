/**
 * The scheduler Lambda: its own event source mapping on the objects table's stream. One batch
 * becomes one scheduling pass over every pending pod.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { handleStreamEvent } from '../controller-runtime/run-controllers.ts';
import { schedulerControllers } from '../scheduler/scheduler-controller.ts';
import { parseStreamRecord } from '../store/dynamodb-store.ts';
import { lambdaLog, logger, storeFromEnvironment } from './lambda-runtime.ts';

const store = storeFromEnvironment();
const log = lambdaLog('scheduler');

export const handler = middy<DynamoDBStreamEvent, DynamoDBBatchResponse>()
  .use(injectLambdaContext(logger))
  .handler((event) => handleStreamEvent<DynamoDBRecord>(event, { store, controllers: schedulerControllers, parseRecord: parseStreamRecord, log }));

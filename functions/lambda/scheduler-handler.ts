/**
 * The scheduler Lambda: its own event source mapping on the objects table's stream. One batch
 * becomes one scheduling pass over every pending pod.
 */
import middy from '@middy/core';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { handleStreamEvent } from '../controller-runtime/run-controllers.ts';
import { schedulerControllers } from '../scheduler/scheduler-controller.ts';
import { parseStreamRecord } from '../store/dynamodb-store.ts';
import { lambdaLog, storeFromEnvironment } from './lambda-runtime.ts';

const store = storeFromEnvironment();
const log = lambdaLog('skiff-scheduler');

export const handler = middy<DynamoDBStreamEvent, DynamoDBBatchResponse>().handler((event) =>
  handleStreamEvent<DynamoDBRecord>(event, { store, controllers: schedulerControllers, parseRecord: parseStreamRecord, log }),
);

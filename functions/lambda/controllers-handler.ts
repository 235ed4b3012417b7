/**
 * The controller-manager Lambda: an event source mapping on the objects table's stream (with
 * ReportBatchItemFailures) delivers batches; every controller in `functions/controllers/controllers.ts` reconciles the
 * keys they name.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { handleStreamEvent } from '../controller-runtime/run-controllers.ts';
import { controllers } from '../controllers/controllers.ts';
import { parseStreamRecord } from '../store/dynamodb-store.ts';
import { lambdaLog, logger, storeFromEnvironment } from './lambda-runtime.ts';

const store = storeFromEnvironment();
const log = lambdaLog('controller-manager');

export const handler = middy<DynamoDBStreamEvent, DynamoDBBatchResponse>()
  .use(injectLambdaContext(logger))
  .handler((event) => handleStreamEvent<DynamoDBRecord>(event, { store, controllers, parseRecord: parseStreamRecord, log }));

/**
 * The controller-manager Lambda: an event source mapping on the objects table's stream (with
 * ReportBatchItemFailures) delivers batches; every controller in `functions/controllers/controllers.ts` reconciles the
 * keys they name — with the service load balancer and ingress controllers on the `alb` providers
 * (`functions/aws/`, configured from the environment the CDK app sets).
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { loadBalancerProvidersFromEnvironment } from '../aws/load-balancing-environment.ts';
import { handleStreamEvent } from '../controller-runtime/run-controllers.ts';
import { controllersWith } from '../controllers/controllers.ts';
import { parseStreamRecord } from '../store/dynamodb-store.ts';
import { lambdaLog, logger, storeFromEnvironment } from './lambda-runtime.ts';

const store = storeFromEnvironment();
const log = lambdaLog('controller-manager');
const controllers = controllersWith(loadBalancerProvidersFromEnvironment());

export const handler = middy<DynamoDBStreamEvent, DynamoDBBatchResponse>()
  .use(injectLambdaContext(logger))
  .handler((event) => handleStreamEvent<DynamoDBRecord>(event, { store, controllers, parseRecord: parseStreamRecord, log }));

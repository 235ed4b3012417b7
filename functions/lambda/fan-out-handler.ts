/**
 * The watch channel's fan-out Lambda (docs/adr/073): an event source mapping on the change log
 * table's stream (filtered to new entries of the channel's types) delivers batches; each change
 * is posted to the connections subscribed to it. A record whose events could not all be posted
 * is reported by its SequenceNumber, so Lambda delivers the batch again from there.
 */

import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import middy from '@middy/core';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { dynamoDbChannelRegistry } from '../watch/channel-registry.ts';
import { type FanOutHandlerDependencies, handleChangeStreamEvent } from '../watch/fan-out.ts';
import { apiGatewayPoster, managementClient } from './api-gateway-poster.ts';
import { lambdaLog, logger, once } from './lambda-runtime.ts';

const dependencies = once((): FanOutHandlerDependencies => {
  const table = process.env.CHANNEL_TABLE;
  const endpoint = process.env.CHANNEL_ENDPOINT;
  if (!table || !endpoint) throw new Error('CHANNEL_TABLE and CHANNEL_ENDPOINT must be set');
  return {
    registry: dynamoDbChannelRegistry({ client: new DynamoDBClient({}), tableName: table }),
    poster: apiGatewayPoster(managementClient(endpoint)),
    log: lambdaLog('watch-fan-out'),
  };
});

export const handler = middy<DynamoDBStreamEvent, DynamoDBBatchResponse>()
  .use(injectLambdaContext(logger))
  .handler((event) => handleChangeStreamEvent(event, dependencies()));

/**
 * The watch channel's Lambda (docs/adr/073): every route of the API Gateway WebSocket API —
 * `$connect` (authenticates the bearer token as the API does), `$disconnect`, `subscribe`,
 * `unsubscribe`, `renewLease`, `nodeStats` (docs/adr/193), `ping` and `$default` — with API Gateway's WebSocket event shape.
 * Answers and catch-up events go out through the `@connections` management API of the stage the
 * event came from.
 */

import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import middy from '@middy/core';
import { chainAuthenticators } from '../domain/authentication/token-authenticators.ts';
import { awsStoreSettings, createDynamoDbStore } from '../store/dynamodb-store.ts';
import { createChannel } from '../watch/channel.ts';
import { dynamoDbChannelRegistry } from '../watch/channel-registry.ts';
import type { ConnectionPoster } from '../watch/connection-poster.ts';
import { dynamoDbNodeStats } from '../watch/node-stats-items.ts';
import { handleWebSocketEvent, type WebSocketEvent, type WebSocketResult } from '../watch/websocket-events.ts';
import { apiGatewayPoster, managementClient } from './api-gateway-poster.ts';
import { clusterAuthenticators, clusterAuthorizer } from './cluster-authentication.ts';
import { lambdaLog, logger, once } from './lambda-runtime.ts';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
}

const channel = once(() => {
  const client = new DynamoDBClient({});
  const tables = { objects: required('OBJECTS_TABLE'), changes: required('CHANGES_TABLE') };
  const store = createDynamoDbStore({ client, tables, ...awsStoreSettings });
  const log = lambdaLog('watch-channel');
  const tableName = required('CHANNEL_TABLE');
  return createChannel({
    registry: dynamoDbChannelRegistry({ client, tableName }),
    // The nodes' figures, one item a node in the same table (docs/adr/193).
    nodeStats: dynamoDbNodeStats({ client, tableName }),
    store,
    // Its watches bookmark as soon as they have read up to the head: where a catch-up ends.
    catchUpStore: createDynamoDbStore({ client, tables, bookmarkIntervalMs: 0 }),
    authenticate: chainAuthenticators(clusterAuthenticators(store, process.env, log)),
    authorizer: clusterAuthorizer(store),
    log,
  });
});

const posterFor = (event: WebSocketEvent): ConnectionPoster =>
  apiGatewayPoster(managementClient(`https://${event.requestContext.domainName}/${event.requestContext.stage}`));

export const handler = middy<WebSocketEvent, WebSocketResult>()
  .use(injectLambdaContext(logger))
  .handler((event) => handleWebSocketEvent(event, channel(), posterFor));

/**
 * The watch channel's ConnectionPoster on AWS: API Gateway's `@connections` management API
 * (PostToConnection). GoneException (HTTP 410) means the client is no longer connected.
 */
import { ApiGatewayManagementApiClient, GoneException, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { type ConnectionPoster, GoneConnectionError } from '../watch/connection-poster.ts';

export function apiGatewayPoster(client: ApiGatewayManagementApiClient): ConnectionPoster {
  return {
    async post(connectionId, message) {
      try {
        await client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: Buffer.from(message, 'utf8') }));
      } catch (error) {
        if (error instanceof GoneException || (error as { name?: string }).name === 'GoneException') throw new GoneConnectionError(connectionId);
        throw error;
      }
    },
  };
}

const clients = new Map<string, ApiGatewayManagementApiClient>();

/** A management API client for `https://<domain>/<stage>`, one per endpoint per container. */
export function managementClient(endpoint: string): ApiGatewayManagementApiClient {
  let client = clients.get(endpoint);
  if (!client) {
    client = new ApiGatewayManagementApiClient({ endpoint });
    clients.set(endpoint, client);
  }
  return client;
}

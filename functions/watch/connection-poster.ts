/**
 * How the channel reaches a connected client: API Gateway's `@connections` management API on
 * AWS (PostToConnection), the local host's open sockets locally. A connection that is gone
 * (API Gateway's GoneException, a closed socket) is a `GoneConnectionError`: its registration is
 * dropped and the client, if alive, reconnects and catches up.
 */
export class GoneConnectionError extends Error {
  override name = 'GoneConnectionError';
  constructor(readonly connectionId: string) {
    super(`connection ${connectionId} is gone`);
  }
}

export interface ConnectionPoster {
  /** Sends one text message; rejects with GoneConnectionError when the connection has ended. */
  post(connectionId: string, message: string): Promise<void>;
}

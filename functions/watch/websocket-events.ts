/**
 * API Gateway's WebSocket events (docs/adr/073), as the watch channel's Lambda receives them and
 * the local host builds them: `$connect` (with the handshake's headers), each message, and
 * `$disconnect`.
 */
import type { Channel } from './channel.ts';
import type { ConnectionPoster } from './connection-poster.ts';

/** The parts of API Gateway's WebSocket event the channel reads (`$connect` also carries the handshake's headers). */
export interface WebSocketEvent {
  readonly requestContext: {
    readonly routeKey: string;
    readonly eventType: 'CONNECT' | 'MESSAGE' | 'DISCONNECT';
    readonly connectionId: string;
    readonly domainName: string;
    readonly stage: string;
    readonly requestId?: string;
  };
  readonly headers?: Readonly<Record<string, string | undefined>> | null;
  readonly body?: string | null;
  readonly isBase64Encoded?: boolean;
}

export interface WebSocketResult {
  readonly statusCode: number;
}

/** One event: `$connect`'s status decides whether the connection opens; other routes answer through `poster`. */
export async function handleWebSocketEvent(
  event: WebSocketEvent,
  channel: Channel,
  poster: (event: WebSocketEvent) => ConnectionPoster,
): Promise<WebSocketResult> {
  const { connectionId, eventType } = event.requestContext;
  if (eventType === 'CONNECT') {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(event.headers ?? {})) if (value !== undefined) headers[name.toLowerCase()] = value;
    return channel.connect(connectionId, headers);
  }
  if (eventType === 'DISCONNECT') {
    await channel.disconnect(connectionId);
    return { statusCode: 200 };
  }
  const body = event.body == null ? '' : event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  await channel.receive(connectionId, body, poster(event));
  return { statusCode: 200 };
}

/**
 * The local stand-in for API Gateway's WebSocket API (docs/adr/073): upgrades on the API's own
 * HTTPS port at `/watch-channel` become channel connections, and each handshake, message and
 * close becomes the WebSocket event API Gateway would send, handed to the same handler the
 * channel's Lambda runs. Like API Gateway it refuses a handshake whose `$connect` is not 200,
 * routes every message to its own invocation, and ends connections after 2 hours or 10 idle
 * minutes (both settable, for tests). It is also the local `@connections` API: the poster the
 * channel and the fan-out send through.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import { type Log, silentLog } from '../logging/log.ts';
import { type ConnectionPoster, GoneConnectionError } from '../watch/connection-poster.ts';
import type { WebSocketEvent, WebSocketResult } from '../watch/websocket-events.ts';

export const watchChannelPath = '/watch-channel';

export interface LocalWatchChannelOptions {
  /** The channel's handler, given API Gateway's event shape. */
  readonly handle: (event: WebSocketEvent, poster: ConnectionPoster) => Promise<WebSocketResult>;
  /** @default 2 hours, API Gateway's limit */
  readonly maxConnectionMs?: number;
  /** @default 10 minutes, API Gateway's idle timeout */
  readonly idleTimeoutMs?: number;
  readonly log?: Log;
}

export interface LocalWatchChannel {
  readonly poster: ConnectionPoster;
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Connections open now. */
  connectionIds(): string[];
  /** Cuts every connection without a close handshake, as a network failure would (tests). */
  dropConnections(): void;
  close(): Promise<void>;
}

/** API Gateway's connection ids look like `L0SM9cOFvHcCIhw=`. */
const newConnectionId = (): string => randomBytes(10).toString('base64');

export function startLocalWatchChannel(options: LocalWatchChannelOptions): LocalWatchChannel {
  const log = options.log ?? silentLog;
  const sockets = new Map<string, WebSocket>();
  const server = new WebSocketServer({ noServer: true, maxPayload: 128 * 1024 });
  const pending = new Set<Promise<unknown>>();
  const track = <T>(work: Promise<T>): Promise<T> => {
    pending.add(work);
    void work.finally(() => pending.delete(work)).catch(() => undefined);
    return work;
  };

  const poster: ConnectionPoster = {
    post(connectionId, message) {
      const socket = sockets.get(connectionId);
      if (!socket || socket.readyState !== WebSocket.OPEN) return Promise.reject(new GoneConnectionError(connectionId));
      return new Promise((resolve, reject) => socket.send(message, (error) => (error ? reject(new GoneConnectionError(connectionId)) : resolve())));
    },
  };

  const context = (connectionId: string, routeKey: string, eventType: WebSocketEvent['requestContext']['eventType'], request: IncomingMessage) => ({
    routeKey,
    eventType,
    connectionId,
    domainName: request.headers.host ?? 'localhost',
    stage: 'local',
    requestId: randomBytes(8).toString('hex'),
  });

  function handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = new URL(request.url ?? '/', 'https://localhost').pathname;
    if (path !== watchChannelPath) {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const connectionId = newConnectionId();
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
    track(
      options
        .handle({ requestContext: context(connectionId, '$connect', 'CONNECT', request), headers, isBase64Encoded: false }, poster)
        .then((result) => {
          if (result.statusCode < 200 || result.statusCode >= 300) {
            const reason = result.statusCode === 401 ? 'Unauthorized' : result.statusCode === 403 ? 'Forbidden' : 'Error';
            socket.end(`HTTP/1.1 ${result.statusCode} ${reason}\r\nContent-Length: 0\r\n\r\n`);
            return;
          }
          server.handleUpgrade(request, socket, head, (ws) => opened(connectionId, ws, request));
        })
        .catch((error: unknown) => {
          log.error('$connect failed', { error: String(error) });
          socket.end('HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n');
        }),
    );
  }

  function opened(connectionId: string, ws: WebSocket, request: IncomingMessage): void {
    sockets.set(connectionId, ws);
    let idle: NodeJS.Timeout | undefined;
    const restartIdle = () => {
      clearTimeout(idle);
      idle = setTimeout(() => ws.close(1001, 'Going away'), options.idleTimeoutMs ?? 10 * 60_000);
    };
    restartIdle();
    const lifetime = setTimeout(() => ws.close(1001, 'Going away'), options.maxConnectionMs ?? 2 * 3600_000);
    ws.on('message', (data, isBinary) => {
      restartIdle();
      const body = isBinary ? Buffer.from(data as Buffer).toString('base64') : data.toString();
      let routeKey = '$default';
      try {
        const action = (JSON.parse(body) as { action?: unknown }).action;
        if (typeof action === 'string' && /^[A-Za-z]+$/.test(action)) routeKey = action;
      } catch {
        // Not JSON: API Gateway routes it to $default.
      }
      track(
        options
          .handle({ requestContext: context(connectionId, routeKey, 'MESSAGE', request), body, isBase64Encoded: isBinary }, poster)
          .catch((error: unknown) => {
            log.error('message handler failed', { connectionId, error: String(error) });
          }),
      );
    });
    ws.on('close', () => {
      clearTimeout(idle);
      clearTimeout(lifetime);
      sockets.delete(connectionId);
      track(
        options
          .handle({ requestContext: context(connectionId, '$disconnect', 'DISCONNECT', request), isBase64Encoded: false }, poster)
          .catch((error: unknown) => {
            log.error('$disconnect failed', { connectionId, error: String(error) });
          }),
      );
    });
    ws.on('error', () => ws.terminate());
  }

  return {
    poster,
    handleUpgrade,
    connectionIds: () => [...sockets.keys()],
    dropConnections() {
      for (const ws of sockets.values()) ws.terminate();
    },
    async close() {
      for (const ws of sockets.values()) ws.terminate();
      server.close();
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
  };
}

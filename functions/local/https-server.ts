/**
 * Serves an `ApiHandler` over HTTPS with Node's http stack: the local stand-in for API Gateway.
 * Streamed responses (watch, `logs -f`) get their status line and headers flushed at once —
 * kubectl waits on a watch's headers before it exits (`kubectl rollout status` hangs otherwise).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ApiHandler, ApiRequest } from '../api/http.ts';
import { toStatus } from '../core/errors.ts';
import { isPodStreamUpgrade, serveUpgrade } from './upgrade-proxy.ts';

export interface HttpsApiServer {
  readonly port: number;
  close(): Promise<void>;
}

function toApiRequest(request: IncomingMessage, signal: AbortSignal): ApiRequest {
  const url = new URL(request.url ?? '/', 'https://localhost');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  // The body stays on the socket: the core reads it after authentication, up to the limit.
  return { method: request.method ?? 'GET', path: url.pathname, query: url.searchParams, headers, body: request, signal, requestId: randomUUID() };
}

/** Resolves when the response can take more (or is gone): a slow reader holds the stream back. */
function drained(response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      response.off('drain', done);
      response.off('close', done);
      resolve();
    };
    response.once('drain', done);
    response.once('close', done);
  });
}

async function serve(handler: ApiHandler, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const abort = new AbortController();
  response.on('close', () => abort.abort());
  const apiResponse = await handler(toApiRequest(request, abort.signal));
  // A body the core did not read (refused before or while reading it) is not drained for the
  // sake of keep-alive: the connection closes after the answer.
  const unread = !request.complete ? { connection: 'close' } : {};
  if (apiResponse.stream) {
    const { 'transfer-encoding': _chunked, ...headers } = apiResponse.headers;
    response.writeHead(apiResponse.status, { ...headers, ...unread });
    response.flushHeaders();
    const iterator = apiResponse.stream[Symbol.asyncIterator]();
    try {
      for (;;) {
        if (response.destroyed) break;
        const { value, done } = await iterator.next();
        if (done) break;
        // Back-pressure: nothing more is pulled from the source until the socket has taken this.
        if (!response.write(value)) await drained(response);
      }
    } finally {
      await iterator.return?.();
      response.end();
    }
    return;
  }
  const body = apiResponse.body ?? '';
  response.writeHead(apiResponse.status, { ...apiResponse.headers, ...unread, 'content-length': Buffer.byteLength(body) });
  response.end(body);
}

export async function startHttpsApiServer(options: {
  handler: ApiHandler;
  certPem: string;
  keyPem: string;
  port: number;
  host?: string;
  /** WebSocket upgrades (the watch channel); refused with 404 when absent. */
  onUpgrade?: (request: IncomingMessage, socket: Duplex, head: Buffer) => void;
}): Promise<HttpsApiServer> {
  const server: Server = createServer({ cert: options.certPem, key: options.keyPem }, (request, response) => {
    serve(options.handler, request, response).catch((error: unknown) => {
      if (response.headersSent) {
        response.destroy();
        return;
      }
      const status = toStatus(error);
      response.writeHead(status.code, { 'content-type': 'application/json', ...(!request.complete ? { connection: 'close' } : {}) });
      response.end(JSON.stringify(status));
    });
  });
  server.keepAliveTimeout = 65_000;
  // Sessions into pods hold their sockets after the upgrade: closing the server ends them.
  const sessions = new Set<Duplex>();
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    // exec, attach, port-forward: the API decides, the node serves (docs/adr/140).
    if (isPodStreamUpgrade(request)) {
      sessions.add(socket);
      socket.once('close', () => sessions.delete(socket));
      void serveUpgrade(options.handler, request, socket, head);
      return;
    }
    if (options.onUpgrade) return options.onUpgrade(request, socket, head);
    socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        for (const socket of sessions) socket.destroy();
      }),
  };
}

/**
 * Serves an `ApiHandler` over HTTPS with Node's http stack: the local stand-in for API Gateway.
 * Streamed responses (watch, `logs -f`) get their status line and headers flushed at once —
 * kubectl waits on a watch's headers before it exits (KUBECTL-WIRE.md §5).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { ApiHandler, ApiRequest } from '../api/http.ts';
import { MAX_REQUEST_BYTES } from '../api/request-body.ts';
import { toStatus } from '../core/errors.ts';

export interface HttpsApiServer {
  readonly port: number;
  close(): Promise<void>;
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    // Keep one byte past the limit so the core can refuse the request with a 413 Status.
    if (size <= MAX_REQUEST_BYTES + 1) chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function toApiRequest(request: IncomingMessage, body: Buffer, signal: AbortSignal): ApiRequest {
  const url = new URL(request.url ?? '/', 'https://localhost');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return { method: request.method ?? 'GET', path: url.pathname, query: url.searchParams, headers, body, signal, requestId: randomUUID() };
}

async function serve(handler: ApiHandler, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const abort = new AbortController();
  response.on('close', () => abort.abort());
  const apiRequest = toApiRequest(request, await readBody(request), abort.signal);
  const apiResponse = await handler(apiRequest);
  if (apiResponse.stream) {
    const { 'transfer-encoding': _chunked, ...headers } = apiResponse.headers;
    response.writeHead(apiResponse.status, headers);
    response.flushHeaders();
    try {
      for await (const chunk of apiResponse.stream) {
        if (response.destroyed) break;
        response.write(chunk);
      }
    } finally {
      response.end();
    }
    return;
  }
  const body = apiResponse.body ?? '';
  response.writeHead(apiResponse.status, { ...apiResponse.headers, 'content-length': Buffer.byteLength(body) });
  response.end(body);
}

export async function startHttpsApiServer(options: {
  handler: ApiHandler;
  certPem: string;
  keyPem: string;
  port: number;
  host?: string;
}): Promise<HttpsApiServer> {
  const server: Server = createServer({ cert: options.certPem, key: options.keyPem }, (request, response) => {
    serve(options.handler, request, response).catch((error: unknown) => {
      if (response.headersSent) {
        response.destroy();
        return;
      }
      const status = toStatus(error);
      response.writeHead(status.code, { 'content-type': 'application/json' });
      response.end(JSON.stringify(status));
    });
  });
  server.keepAliveTimeout = 65_000;
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
      }),
  };
}

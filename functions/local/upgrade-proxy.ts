/**
 * Upgraded requests of the API (`pods/exec`, `pods/attach`, `pods/portforward`) on the local
 * HTTPS server: the API core authenticates and authorizes them like any request; when it
 * answers with a node endpoint, the upgrade is passed on there (with the node's token instead
 * of the user's) and, once the node switched protocols, bytes are copied both ways with
 * back-pressure, as kube-apiserver's upgrade-aware proxy does (docs/adr/140).
 */
import { randomUUID } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ApiHandler, ApiResponse } from '../api/http.ts';
import { BadRequestError, toStatus } from '../core/errors.ts';

const podStreamPath = /^\/api\/v1\/namespaces\/[^/]+\/pods\/[^/]+\/(exec|attach|portforward)$/;

export function isPodStreamUpgrade(request: IncomingMessage): boolean {
  return podStreamPath.test(new URL(request.url ?? '/', 'https://localhost').pathname);
}

/** Headers of the client's upgrade that are the user's own, never passed to the node. */
const personalHeaders = /^(authorization|host|cookie|impersonate-.*|proxy-authorization)$/i;

/** How long the node has to answer an upgrade. */
const nodeAnswerMs = 30_000;

function writeResponse(socket: Duplex, response: Pick<ApiResponse, 'status' | 'headers' | 'body'>): void {
  const body = Buffer.from(response.body ?? '');
  const headers = { ...response.headers, 'content-length': String(body.length), connection: 'close' };
  const head = [
    `HTTP/1.1 ${response.status} ${response.status === 101 ? 'Switching Protocols' : 'Error'}`,
    ...Object.entries(headers).map(([n, v]) => `${n}: ${v}`),
  ];
  socket.end(Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\n\r\n`), body]));
}

function writeStatus(socket: Duplex, error: unknown): void {
  const status = toStatus(error);
  writeResponse(socket, { status: status.code, headers: { 'content-type': 'application/json' }, body: JSON.stringify(status) });
}

export async function serveUpgrade(handler: ApiHandler, request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  socket.on('error', () => undefined);
  const abort = new AbortController();
  socket.once('close', () => abort.abort());
  const url = new URL(request.url ?? '/', 'https://localhost');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  let response: ApiResponse;
  try {
    // An upgrade carries no body (kubectl's SPDY POST has Content-Length: 0).
    response = await handler({
      method: request.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers,
      body: Buffer.alloc(0),
      signal: abort.signal,
      requestId: randomUUID(),
    });
  } catch (error) {
    writeStatus(socket, error);
    return;
  }
  if (!response.upgrade) {
    writeResponse(socket, response);
    return;
  }
  const forwarded: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (!personalHeaders.test(name)) forwarded[name] = value;
  const target = new URL(response.upgrade.url);
  const outgoing = httpRequest({
    host: target.hostname,
    port: target.port,
    path: `${target.pathname}${target.search}`,
    method: request.method ?? 'GET',
    headers: { ...forwarded, ...response.upgrade.headers, host: target.host },
  });
  const timer = setTimeout(() => outgoing.destroy(new Error(`no answer within ${nodeAnswerMs / 1000} s`)), nodeAnswerMs);
  outgoing.on('upgrade', (answer, nodeSocket, nodeHead) => {
    clearTimeout(timer);
    nodeSocket.on('error', () => socket.destroy());
    socket.on('error', () => nodeSocket.destroy());
    const lines = [`HTTP/1.1 101 ${answer.statusMessage || 'Switching Protocols'}`];
    for (let index = 0; index < answer.rawHeaders.length; index += 2) lines.push(`${answer.rawHeaders[index]}: ${answer.rawHeaders[index + 1]}`);
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (nodeHead.length > 0) socket.write(nodeHead);
    if (head.length > 0) nodeSocket.write(head);
    // pipe(): each side waits for the other to drain; either closing ends both.
    nodeSocket.pipe(socket);
    socket.pipe(nodeSocket);
    nodeSocket.once('close', () => socket.destroy());
    socket.once('close', () => nodeSocket.destroy());
  });
  outgoing.on('response', (answer) => {
    clearTimeout(timer);
    // The node refused (the container is not running, a bad request): its words, its code, as
    // kube-apiserver passes the kubelet's answer on; kubectl shows them after "unable to upgrade connection".
    const chunks: Buffer[] = [];
    let size = 0;
    answer.on('data', (chunk: Buffer) => {
      if (size < 16 * 1024) chunks.push(chunk);
      size += chunk.length;
    });
    answer.on('end', () => {
      const code = answer.statusCode ?? 500;
      writeResponse(socket, {
        status: code >= 500 ? 502 : code,
        headers: { 'content-type': String(answer.headers['content-type'] ?? 'text/plain') },
        body: Buffer.concat(chunks).subarray(0, 16 * 1024),
      });
    });
  });
  outgoing.on('error', (error) => {
    clearTimeout(timer);
    writeStatus(socket, new BadRequestError(`cannot reach the node's streaming endpoint: ${error.message}`));
  });
  outgoing.end();
}

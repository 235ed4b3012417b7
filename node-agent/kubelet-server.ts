/**
 * The agent's HTTP server, the kubelet API the API server proxies `kubectl logs` to:
 * `GET /containerLogs/{namespace}/{pod}/{container}` with `follow`, `tailLines`, `previous`,
 * `timestamps` and `limitBytes`, the resource usage (`/stats/summary`, `/metrics/resource`), plus `/healthz`. It listens on the node's loopback address and,
 * when the agent has a bearer token, requires that same token (ADR 082).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { StatsSummary } from './metrics/resource-usage.ts';
import type { ContainerRecord } from './runtime/runtime.ts';
import { createStreamingServer, refuseUpgrade, type StreamingOptions, type StreamTargets } from './streaming/streaming-server.ts';

export interface LogLookup {
  /** Undefined when the pod is not on this node. */
  find(namespace: string, pod: string): LogTarget | undefined;
}

export interface LogTarget {
  readonly containerNames: readonly string[];
  record(container: string, previous: boolean): ContainerRecord | undefined;
  /** Fresh record for a follow to know when the run ended. */
  refresh(id: string): ContainerRecord | undefined;
  waitingReason(container: string): string;
}

export interface KubeletServerOptions {
  readonly address: string;
  readonly port: number;
  readonly token?: string;
  readonly logs: LogLookup;
  /** The node's resource usage: `/stats/summary` (JSON) and `/metrics/resource` (Prometheus text). */
  readonly usage?: { summary(): StatsSummary | undefined; prometheusText(): string };
  /** How often a follow checks the file for more output. */
  readonly followPollMs?: number;
  /** exec, attach and port forwarding (docs/adr/140); refused with 404 without. */
  readonly streaming?: StreamTargets;
  /** Bounds of the streaming sessions (tests shorten them). */
  readonly streamingLimits?: Omit<StreamingOptions, 'targets'>;
}

export interface KubeletServer {
  readonly port: number;
  close(): Promise<void>;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

export async function startKubeletServer(options: KubeletServerOptions): Promise<KubeletServer> {
  const expected = options.token ? digest(options.token) : undefined;
  const authorized = (request: http.IncomingMessage): boolean => {
    if (!expected) return true;
    const header = request.headers.authorization ?? '';
    const presented = header.startsWith('Bearer ') ? digest(header.slice(7)) : undefined;
    return presented !== undefined && timingSafeEqual(presented, expected);
  };
  const streaming = options.streaming ? createStreamingServer({ targets: options.streaming, ...options.streamingLimits }) : undefined;
  const server = http.createServer((request, response) => {
    void handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) send(response, 500, `internal error: ${String(error)}`);
      else response.destroy();
    });
  });

  async function handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://kubelet');
    if (url.pathname === '/healthz') return send(response, 200, 'ok');
    if (!authorized(request)) return send(response, 401, 'Unauthorized');
    if (request.method === 'GET' && (url.pathname === '/stats/summary' || url.pathname === '/metrics/resource')) {
      if (!options.usage) return send(response, 404, '404 page not found');
      if (url.pathname === '/metrics/resource') {
        response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
        response.end(options.usage.prometheusText());
        return;
      }
      const summary = options.usage.summary();
      // Nothing measured yet (the agent just started): the kubelet answers 503 until its first housekeeping.
      if (!summary) return send(response, 503, 'no resource usage measured yet');
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(summary));
      return;
    }
    const match = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    if (request.method !== 'GET' || !match) return send(response, 404, '404 page not found');
    const [namespace, podName, containerName] = match.slice(1).map((part) => decodeURIComponent(part ?? '')) as [string, string, string];
    const target = options.logs.find(namespace, podName);
    if (!target) return send(response, 404, `pod "${podName}" in namespace "${namespace}" is not on this node`);
    if (!target.containerNames.includes(containerName)) {
      return send(response, 400, `container ${containerName} is not valid for pod ${podName}`);
    }
    const previous = url.searchParams.get('previous') === 'true';
    const record = target.record(containerName, previous);
    if (!record) {
      if (previous) return send(response, 404, `previous terminated container "${containerName}" in pod "${podName}" not found`);
      return send(response, 400, `container "${containerName}" in pod "${podName}" is waiting to start: ${target.waitingReason(containerName)}`);
    }
    const tailLines = numberParam(url, 'tailLines');
    const limitBytes = numberParam(url, 'limitBytes');
    const timestamps = url.searchParams.get('timestamps') === 'true';
    const follow = url.searchParams.get('follow') === 'true' && !previous;
    response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-cache' });
    response.flushHeaders();
    const closed = new AbortController();
    response.on('close', () => closed.abort());
    if (!record.logPath || !existsSync(record.logPath)) {
      response.end();
      return;
    }
    await streamLog(response, record, target, { tailLines, limitBytes, timestamps, follow, pollMs: options.followPollMs ?? 200, signal: closed.signal });
  }

  // exec, attach, portForward: the same token as the logs, checked before anything is looked up.
  server.on('upgrade', (request: http.IncomingMessage, socket, head: Buffer) => {
    socket.on('error', () => undefined);
    if (!authorized(request)) return refuseUpgrade(socket, 401, 'Unauthorized');
    if (!streaming) return refuseUpgrade(socket, 404, '404 page not found');
    streaming.handleUpgrade(request, socket, head);
  });

  await new Promise<void>((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.address, () => resolvePromise());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolvePromise) => {
        streaming?.close();
        server.closeAllConnections();
        server.close(() => resolvePromise());
      }),
  };
}

function send(response: http.ServerResponse, status: number, text: string): void {
  response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  response.end(`${text}\n`);
}

function numberParam(url: URL, name: string): number | undefined {
  const value = url.searchParams.get(name);
  return value !== null && /^\d+$/.test(value) ? Number(value) : undefined;
}

interface StreamOptions {
  readonly tailLines: number | undefined;
  readonly limitBytes: number | undefined;
  readonly timestamps: boolean;
  readonly follow: boolean;
  readonly pollMs: number;
  readonly signal: AbortSignal;
}

/** Where the last `lines` lines of a file begin, read backwards in blocks. */
export async function tailOffset(path: string, lines: number): Promise<number> {
  const handle = await open(path, 'r');
  try {
    const size = (await handle.stat()).size;
    if (lines === 0) return size;
    let position = size;
    let newlines = 0;
    const block = Buffer.alloc(64 * 1024);
    // A final newline ends the last line rather than starting an empty one.
    let skipTrailing = true;
    while (position > 0) {
      const length = Math.min(block.length, position);
      position -= length;
      await handle.read(block, 0, length, position);
      for (let index = length - 1; index >= 0; index -= 1) {
        if (block[index] !== 0x0a) {
          skipTrailing = false;
          continue;
        }
        if (skipTrailing) {
          skipTrailing = false;
          continue;
        }
        newlines += 1;
        if (newlines === lines) return position + index + 1;
      }
    }
    return 0;
  } finally {
    await handle.close();
  }
}

/** Resolves when the socket has taken what was written (or the client is gone). */
function drained(response: http.ServerResponse): Promise<void> {
  return new Promise((resolvePromise) => {
    const done = () => {
      response.off('drain', done);
      response.off('close', done);
      resolvePromise();
    };
    response.once('drain', done);
    response.once('close', done);
  });
}

/** Bytes read from the log file at a time: memory stays this, whatever the log's size. */
const readChunkBytes = 64 * 1024;
/** A line longer than this is sent in pieces, each with its timestamp (as the CRI splits long lines). */
const maxLineBytes = 64 * 1024;

/**
 * Copies the log to the response in chunks of 64 KiB, waiting for the client to take each one
 * (back-pressure), from `tailLines` back if asked, until `limitBytes` have been sent; with
 * `follow`, keeps going as the file grows until the container has ended. A file that shrank was
 * rotated (copied away, then truncated): reading starts again from its beginning.
 */
async function streamLog(response: http.ServerResponse, record: ContainerRecord, target: LogTarget, options: StreamOptions): Promise<void> {
  const path = record.logPath ?? '';
  let offset = options.tailLines !== undefined ? await tailOffset(path, options.tailLines) : 0;
  let remaining = options.limitBytes ?? Number.POSITIVE_INFINITY;
  let partial = Buffer.alloc(0);
  // The process runtime writes raw output, so a line's time is when the agent first reads it;
  // for output written before the request that is the file's last modification (ADR 082).
  const stampOf = () => new Date().toISOString().replace('Z', '000000Z');
  /** Sends bytes within the limit; false once the limit is reached or the client left. */
  const send = async (bytes: Buffer): Promise<boolean> => {
    if (remaining <= 0 || options.signal.aborted) return false;
    const slice = bytes.length > remaining ? bytes.subarray(0, remaining) : bytes;
    remaining -= slice.length;
    if (!response.write(slice)) await drained(response);
    return remaining > 0 && !options.signal.aborted;
  };
  const emit = async (chunk: Buffer, stamp: string): Promise<boolean> => {
    if (!options.timestamps) return send(chunk);
    let data = partial.length > 0 ? Buffer.concat([partial, chunk]) : chunk;
    for (;;) {
      const newline = data.indexOf(0x0a);
      if (newline < 0) break;
      if (!(await send(Buffer.concat([Buffer.from(`${stamp} `), data.subarray(0, newline + 1)])))) return false;
      data = data.subarray(newline + 1);
    }
    while (data.length > maxLineBytes) {
      if (!(await send(Buffer.concat([Buffer.from(`${stamp} `), data.subarray(0, maxLineBytes), Buffer.from('\n')])))) return false;
      data = data.subarray(maxLineBytes);
    }
    partial = Buffer.from(data);
    return true;
  };
  const buffer = Buffer.alloc(readChunkBytes);
  const readMore = async (stamp: string): Promise<boolean> => {
    let size: number;
    try {
      size = statSync(path).size;
    } catch {
      return true;
    }
    if (size < offset) offset = 0;
    if (size === offset) return true;
    const handle = await open(path, 'r');
    try {
      while (offset < size) {
        const { bytesRead } = await handle.read(buffer, 0, Math.min(readChunkBytes, size - offset), offset);
        if (bytesRead === 0) break;
        offset += bytesRead;
        if (!(await emit(buffer.subarray(0, bytesRead), stamp))) return false;
      }
    } finally {
      await handle.close();
    }
    return true;
  };
  let more = await readMore(new Date(statSync(path).mtimeMs).toISOString().replace('Z', '000000Z'));
  while (more && options.follow && !options.signal.aborted) {
    const fresh = target.refresh(record.id);
    const ended = !fresh || fresh.exit !== undefined;
    await new Promise((resolvePromise) => setTimeout(resolvePromise, options.pollMs));
    more = await readMore(stampOf());
    if (ended) break;
  }
  if (partial.length > 0 && options.timestamps && remaining > 0) await send(Buffer.concat([Buffer.from(`${stampOf()} `), partial]));
  response.end();
}

/**
 * The kubelet's streaming endpoints on the agent's HTTP server, reached through the API server
 * (which checked the user's `pods/exec`, `pods/attach` or `pods/portforward` permission and
 * passes the upgrade on):
 *
 *   /exec/{namespace}/{pod}/{container}?command=…&stdin=…&stdout=…&stderr=…&tty=…
 *   /attach/{namespace}/{pod}/{container}?stdin=…&stdout=…&stderr=…&tty=…
 *   /portForward/{namespace}/{pod}
 *
 * Each is served over a WebSocket (`v5.channel.k8s.io`/`v4.channel.k8s.io` for exec and attach,
 * `SPDY/3.1+portforward.k8s.io` for port forwarding) or over SPDY/3.1 (every kubectl's
 * fallback), whichever the client's upgrade asks for (docs/adr/140). Sessions are bounded: at
 * most `maxSessions` at once, and a connection with no traffic for `idleTimeoutMs` is closed
 * (the kubelet's streamingConnectionIdleTimeout).
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createWebSocketStream, WebSocketServer } from 'ws';
import type { ExecSession, ExecStreamOptions } from '../runtime/runtime.ts';
import {
  type CommandChannels,
  failureStatus,
  portForwardProtocol,
  remoteCommandV4,
  remoteCommandV5,
  serveCommand,
  streamRequestOf,
  tunnelledPortForwardProtocol,
} from './remote-command.ts';
import { servePortForward, spdyCommandChannels, spdyServerConnection } from './spdy-sessions.ts';
import { websocketChannels } from './websocket-channels.ts';

/** Why a streaming request cannot be served: answered as plain HTTP before any upgrade. */
export class StreamTargetError extends Error {
  override name = 'StreamTargetError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A container ready for exec or attach; checked (running) when it was looked up. */
export interface StreamContainer {
  exec(argv: readonly string[], options: ExecStreamOptions): ExecSession;
  /** With `stdin`, the client's input goes to the container's own stdin (when it keeps one). */
  attach(options: { readonly stdin: boolean }): ExecSession;
}

/** How the streaming server finds what it serves; each throws StreamTargetError. */
export interface StreamTargets {
  container(namespace: string, pod: string, container: string): StreamContainer;
  /** The address port forwarding dials for the pod. */
  podAddress(namespace: string, pod: string): string;
}

export interface StreamingOptions {
  readonly targets: StreamTargets;
  /** @default 64 */
  readonly maxSessions?: number;
  /** @default 4 hours, the kubelet's streamingConnectionIdleTimeout */
  readonly idleTimeoutMs?: number;
  /** How long the client has to open its SPDY streams. @default 30 s, as the kubelet */
  readonly streamCreationTimeoutMs?: number;
  /** Connections one port-forward session forwards at once. @default 64 */
  readonly maxForwardedConnections?: number;
}

const streamingPath = /^\/(exec|attach|portForward)\/([^/]+)\/([^/]+)(?:\/([^/]+))?$/;

export function isStreamingPath(pathname: string): boolean {
  return streamingPath.test(pathname);
}

/** Writes a plain HTTP answer on a socket that was not upgraded. */
export function refuseUpgrade(socket: Duplex, status: number, text: string): void {
  const reason = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 429: 'Too Many Requests' }[status] ?? 'Error';
  const body = `${text}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

function protocolsOf(header: string | string[] | undefined): string[] {
  return (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
}

export interface StreamingServer {
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Sessions open now. */
  sessions(): number;
  close(): void;
}

export function createStreamingServer(options: StreamingOptions): StreamingServer {
  const maxSessions = options.maxSessions ?? 64;
  const idleTimeoutMs = options.idleTimeoutMs ?? 4 * 3600_000;
  const creationTimeoutMs = options.streamCreationTimeoutMs ?? 30_000;
  const websockets = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
  const open = new Set<Duplex>();
  const tunnelled = new WeakSet<IncomingMessage>();
  websockets.on('headers', (headers: string[], request: IncomingMessage) => {
    if (tunnelled.has(request)) headers.push(`Sec-WebSocket-Protocol: ${tunnelledPortForwardProtocol}`);
  });

  function track(socket: Duplex): void {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    // No traffic either way for this long: the session is over (the client's pings count).
    (socket as Socket).setTimeout?.(idleTimeoutMs, () => socket.destroy());
  }

  function handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => undefined);
    const url = new URL(request.url ?? '/', 'http://kubelet');
    const match = streamingPath.exec(url.pathname);
    if (!match) {
      refuseUpgrade(socket, 404, '404 page not found');
      return;
    }
    const [, kind, namespaceText, podText, containerText] = match as unknown as [string, 'exec' | 'attach' | 'portForward', string, string, string | undefined];
    const [namespace, pod] = [decodeURIComponent(namespaceText), decodeURIComponent(podText)];
    if (open.size >= maxSessions) {
      refuseUpgrade(socket, 429, `too many streaming sessions on this node (${maxSessions})`);
      return;
    }
    const upgrade = String(request.headers.upgrade ?? '').toLowerCase();
    try {
      if (kind === 'portForward') {
        const address = options.targets.podAddress(namespace, pod);
        const target = { host: address, maxConnections: options.maxForwardedConnections ?? 64 };
        const label = `${namespace}/${pod}`;
        if (upgrade === 'websocket') {
          if (!protocolsOf(request.headers['sec-websocket-protocol']).includes(tunnelledPortForwardProtocol)) {
            refuseUpgrade(socket, 400, `port forwarding over a WebSocket needs the ${tunnelledPortForwardProtocol} protocol`);
            return;
          }
          // `ws` accepts only RFC 7230 tokens as subprotocols, and this one has '/' and '+': the
          // header is taken off the request and the answer names the protocol itself.
          delete request.headers['sec-websocket-protocol'];
          tunnelled.add(request);
          websockets.handleUpgrade(request, socket, head, (ws) => {
            track(socket);
            const tunnel = createWebSocketStream(ws);
            tunnel.on('error', () => undefined);
            servePortForward(spdyServerConnection(tunnel), target, label);
          });
          return;
        }
        if (upgrade === 'spdy/3.1' && protocolsOf(request.headers['x-stream-protocol-version']).includes(portForwardProtocol)) {
          acceptSpdy(socket, head, portForwardProtocol);
          servePortForward(spdyServerConnection(socket), target, label);
          return;
        }
        refuseUpgrade(socket, 400, 'port forwarding needs a SPDY/3.1 or WebSocket upgrade');
        return;
      }
      const containerName = decodeURIComponent(containerText ?? '');
      const container = options.targets.container(namespace, pod, containerName);
      const streams = streamRequestOf(url.searchParams);
      const argv = url.searchParams.getAll('command');
      if (kind === 'exec' && argv.length === 0) {
        refuseUpgrade(socket, 400, 'you must specify at least 1 command');
        return;
      }
      if (!streams.stdin && !streams.stdout && !streams.stderr) {
        refuseUpgrade(socket, 400, 'you must specify at least 1 of stdin, stdout, stderr');
        return;
      }
      const start = (): ExecSession =>
        kind === 'exec' ? container.exec(argv, { tty: streams.tty, stdin: streams.stdin }) : container.attach({ stdin: streams.stdin });
      if (upgrade === 'websocket') {
        const offered = protocolsOf(request.headers['sec-websocket-protocol']);
        const protocol = [remoteCommandV5, remoteCommandV4].find((name) => offered.includes(name));
        if (!protocol) {
          refuseUpgrade(socket, 400, `no supported stream protocol among ${JSON.stringify(offered)}`);
          return;
        }
        websockets.handleUpgrade(request, socket, head, (ws) => {
          track(socket);
          void run(websocketChannels(ws, streams, protocol), start);
        });
        return;
      }
      if (upgrade === 'spdy/3.1') {
        const offered = protocolsOf(request.headers['x-stream-protocol-version']);
        if (!offered.includes(remoteCommandV4)) {
          refuseUpgrade(socket, 400, `no supported stream protocol among ${JSON.stringify(offered)}`);
          return;
        }
        acceptSpdy(socket, head, remoteCommandV4);
        spdyCommandChannels(spdyServerConnection(socket), socket, streams, creationTimeoutMs).then(
          (channels) => run(channels, start),
          () => socket.destroy(),
        );
        return;
      }
      refuseUpgrade(socket, 400, 'exec and attach need a WebSocket or SPDY/3.1 upgrade');
      return;
    } catch (error) {
      if (error instanceof StreamTargetError) {
        refuseUpgrade(socket, error.status, error.message);
        return;
      }
      refuseUpgrade(socket, 400, (error as Error).message);
      return;
    }
  }

  function acceptSpdy(socket: Duplex, head: Buffer, protocol: string): void {
    track(socket);
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${protocol}\r\n\r\n`);
    if (head.length > 0) socket.unshift(head);
  }

  async function run(channels: CommandChannels, start: () => ExecSession): Promise<void> {
    let session: ExecSession;
    try {
      session = start();
    } catch (error) {
      await channels.finish(failureStatus((error as Error).message));
      return;
    }
    await serveCommand(channels, session);
  }

  return {
    handleUpgrade,
    sessions: () => open.size,
    close() {
      for (const socket of open) socket.destroy();
      websockets.close();
    },
  };
}

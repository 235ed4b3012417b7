/**
 * Kubernetes' streaming protocols over SPDY/3.1, the framing every kubectl falls back to and the
 * only one kubectl 1.27–1.29 speak (and port forwarding, in every version, either directly or
 * tunnelled in a WebSocket). The client opens one SPDY stream per channel, naming it in a
 * `streamtype` header: for exec/attach `error`, `stdin`, `stdout`, `stderr`, `resize`; for port
 * forwarding a pair `error` + `data` per connection, with `port` and `requestid` headers.
 */
import type { Socket } from 'node:net';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import type { CommandChannels, StreamRequest } from './remote-command.ts';
import { parseResize } from './remote-command.ts';
import { SpdySession, type SpdyStream } from './spdy-framing.ts';

/** Streams one connection may hold at once (kubectl uses at most 5 for exec, 2 per forwarded connection). */
const maxStreamsPerConnection = 128;

export function spdyServerConnection(socket: Duplex): SpdySession {
  return new SpdySession(socket, { maxStreams: maxStreamsPerConnection });
}

/**
 * Waits for the channels an exec/attach asked for (the error channel always, then each of
 * stdin/stdout/stderr it asked for, and resize with a terminal), as the kubelet waits, up to
 * `timeoutMs`. Rejects when they do not come.
 */
export function spdyCommandChannels(connection: SpdySession, socket: Duplex, request: StreamRequest, timeoutMs: number): Promise<CommandChannels> {
  const wanted = new Set(['error', ...(request.stdin ? ['stdin'] : []), ...(request.stdout ? ['stdout'] : []), ...(request.stderr ? ['stderr'] : [])]);
  const streams = new Map<string, SpdyStream>();
  const closed = new Promise<void>((resolve) => {
    socket.once('close', () => resolve());
    connection.once('close', () => resolve());
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for the client to create its streams (${[...wanted].join(', ')})`)), timeoutMs);
    const resizeListeners: ((size: { width: number; height: number }) => void)[] = [];
    connection.on('stream', (stream: SpdyStream) => {
      const type = stream.headers.streamtype ?? '';
      connection.reply(stream);
      stream.on('error', () => undefined);
      if (type === 'resize') {
        // Sizes as a sequence of JSON objects, one per change.
        let text = '';
        stream.setEncoding('utf8');
        stream.on('data', (chunk: string) => {
          text += chunk;
          for (;;) {
            const end = text.indexOf('}');
            if (end < 0) break;
            const size = parseResize(text.slice(0, end + 1));
            text = text.slice(end + 1);
            if (size) for (const listener of resizeListeners) listener(size);
          }
          if (text.length > 4096) text = '';
        });
        return;
      }
      if (!wanted.has(type) || streams.has(type)) {
        stream.destroy();
        return;
      }
      streams.set(type, stream);
      if (streams.size < wanted.size) return;
      clearTimeout(timer);
      const error = streams.get('error')!;
      // The client never writes on its output streams: only what it reads matters.
      for (const name of ['stdout', 'stderr', 'error']) streams.get(name)?.resume();
      let finished = false;
      resolve({
        ...(streams.get('stdin') ? { stdin: streams.get('stdin')! } : {}),
        ...(streams.get('stdout') ? { stdout: streams.get('stdout')! } : {}),
        ...(streams.get('stderr') ? { stderr: streams.get('stderr')! } : {}),
        onResize: (listener) => resizeListeners.push(listener),
        async finish(status) {
          if (finished) return;
          finished = true;
          await new Promise<void>((done) => error.end(JSON.stringify(status), () => done()));
          // The client closes the connection once it has read every stream to its end.
          for (const stream of streams.values()) if (!stream.writableEnded) stream.end();
          setTimeout(() => socket.destroy(), 5000).unref();
        },
        closed,
      });
    });
  });
}

export interface PortForwardTarget {
  /** The pod's address the agent dials. */
  readonly host: string;
  /** Connections forwarded at once on one session, beyond which a new one gets an error. */
  readonly maxConnections: number;
}

/**
 * Forwards each pair of streams to the pod's port: `data` is piped both ways to a TCP
 * connection to the pod's address (back-pressure on each side), `error` carries why a dial
 * failed, as the kubelet words it.
 */
export function servePortForward(connection: SpdySession, target: PortForwardTarget, podLabel: string): void {
  const pairs = new Map<string, { error?: SpdyStream; data?: SpdyStream }>();
  let active = 0;
  connection.on('stream', (stream: SpdyStream) => {
    const type = stream.headers.streamtype ?? '';
    const requestId = stream.headers.requestid ?? '';
    const port = Number(stream.headers.port);
    connection.reply(stream);
    stream.on('error', () => undefined);
    if ((type !== 'error' && type !== 'data') || !Number.isInteger(port) || port < 1 || port > 65535) {
      stream.destroy();
      return;
    }
    const pair = pairs.get(requestId) ?? {};
    pair[type] = stream;
    pairs.set(requestId, pair);
    if (!pair.error || !pair.data) return;
    pairs.delete(requestId);
    const { error, data } = pair;
    error.resume();
    if (active >= target.maxConnections) {
      error.end(`error forwarding port ${port} to pod ${podLabel}: too many forwarded connections (${target.maxConnections})`);
      data.end();
      return;
    }
    active += 1;
    const upstream: Socket = connect({ host: target.host, port });
    let connected = false;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      active -= 1;
    };
    upstream.once('connect', () => {
      connected = true;
      data.pipe(upstream);
      upstream.pipe(data);
    });
    upstream.once('error', (cause) => {
      if (!connected) {
        error.end(`error forwarding port ${port} to pod ${podLabel}: failed to connect to ${target.host}:${port}: ${cause.message}`);
      }
      data.end();
      release();
    });
    upstream.once('close', () => {
      if (!data.writableEnded) data.end();
      release();
    });
    data.once('close', () => {
      upstream.destroy();
      release();
    });
  });
}

/**
 * TCP forwarding: a set of listeners (address:port), each sending every accepted connection to
 * the next of its current backends, round-robin. Which backends a listener has is asked at
 * connection time, so endpoint changes apply without re-binding. A listener whose address:port
 * is taken (another agent on this machine holds it) is retried on a timer, so when that agent
 * goes away this one takes over. Used by the NodePort proxy and the local load balancer.
 */
import net from 'node:net';

/** Where a listener forwards a connection: a ready backend of one service port. */
export interface Backend {
  readonly ip: string;
  readonly port: number;
}

export interface ListenerTarget {
  /** Who the listener serves, for logs: `default/web:80`. */
  readonly description: string;
  backends(): readonly Backend[];
  /** Whether a client of this address may connect (a load balancer's source ranges); all may when absent. */
  accepts?(clientAddress: string): boolean;
}

export interface ListenerSetOptions {
  /** Milliseconds between attempts to bind listeners that could not bind. Default 2000. */
  readonly retryBindMs?: number;
  /** Milliseconds to wait for a backend to accept before trying the next one. Default 3000. */
  readonly connectTimeoutMs?: number;
  readonly log?: (message: string, fields?: Record<string, unknown>) => void;
}

interface Listener {
  readonly address: string;
  readonly port: number;
  target: ListenerTarget;
  server?: net.Server;
  bound: boolean;
  /** The last bind error code while unbound (EADDRINUSE, EACCES...). */
  error?: string;
  next: number;
  readonly sockets: Set<net.Socket>;
}

export interface ListenerSet {
  /** Makes the listeners exactly these (keyed `address:port`); returns when binds were attempted. */
  apply(desired: ReadonlyMap<string, { readonly address: string; readonly port: number; readonly target: ListenerTarget }>): Promise<void>;
  /** `address:port` of the listeners that are bound now. */
  bound(): string[];
  /** Why a listener is not bound yet, by `address:port` (e.g. EACCES for a port below 1024). */
  bindError(key: string): string | undefined;
  /** Connections forwarded to this backend that are still open (a backend leaving is drained when this is 0). */
  openConnections(backend: Backend): number;
  close(): Promise<void>;
}

export function listenerKey(address: string, port: number): string {
  return `${address}:${port}`;
}

export function createListenerSet(options: ListenerSetOptions = {}): ListenerSet {
  const listeners = new Map<string, Listener>();
  const log = options.log ?? (() => {});
  const connectTimeoutMs = options.connectTimeoutMs ?? 3000;
  let closed = false;
  let retryTimer: NodeJS.Timeout | undefined;
  const open = new Map<string, number>();
  const opened = (key: string, delta: number) => {
    const count = (open.get(key) ?? 0) + delta;
    if (count > 0) open.set(key, count);
    else open.delete(key);
  };

  const scheduleRetry = () => {
    if (closed || retryTimer) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void Promise.all([...listeners.values()].filter((l) => !l.bound).map(bind)).then(() => {
        if ([...listeners.values()].some((l) => !l.bound)) scheduleRetry();
      });
    }, options.retryBindMs ?? 2000);
    retryTimer.unref();
  };

  const bind = (listener: Listener): Promise<void> =>
    new Promise((resolve) => {
      if (closed || listener.bound || listener.server) return resolve();
      const server = net.createServer((socket) => forward(listener, socket));
      listener.server = server;
      server.once('error', (error: NodeJS.ErrnoException) => {
        listener.server = undefined;
        listener.error = error.code ?? error.message;
        if (error.code !== 'EADDRINUSE') log('listener failed', { address: listener.address, port: listener.port, error: error.message });
        server.close();
        scheduleRetry();
        resolve();
      });
      server.listen({ host: listener.address, port: listener.port, exclusive: true }, () => {
        if (closed || listeners.get(listenerKey(listener.address, listener.port)) !== listener) {
          server.close();
          return resolve();
        }
        listener.bound = true;
        listener.error = undefined;
        log('listening', { address: listener.address, port: listener.port, target: listener.target.description });
        resolve();
      });
    });

  const forward = (listener: Listener, client: net.Socket) => {
    listener.sockets.add(client);
    client.on('close', () => listener.sockets.delete(client));
    client.on('error', () => client.destroy());
    if (listener.target.accepts && !listener.target.accepts(client.remoteAddress ?? '')) {
      // A source the load balancer does not let in: refused before any backend is asked.
      client.resetAndDestroy();
      return;
    }
    const backends = listener.target.backends();
    if (backends.length === 0) {
      // No ready endpoint: refuse, as kube-proxy's REJECT rule does.
      client.resetAndDestroy();
      return;
    }
    const start = listener.next++ % backends.length;
    const attempt = (tried: number) => {
      const backend = backends[(start + tried) % backends.length] as Backend;
      const upstream = net.connect({ host: backend.ip, port: backend.port });
      const backendKey = listenerKey(backend.ip, backend.port);
      listener.sockets.add(upstream);
      opened(backendKey, 1);
      upstream.on('close', () => {
        listener.sockets.delete(upstream);
        opened(backendKey, -1);
      });
      const timer = setTimeout(() => upstream.destroy(new Error('connect timeout')), connectTimeoutMs);
      let connected = false;
      upstream.once('connect', () => {
        connected = true;
        clearTimeout(timer);
        upstream.setNoDelay(true);
        client.pipe(upstream);
        upstream.pipe(client);
      });
      upstream.on('error', () => {
        clearTimeout(timer);
        if (!connected && tried + 1 < backends.length && !client.destroyed) return attempt(tried + 1);
        if (connected) client.destroy();
        else client.resetAndDestroy();
      });
      upstream.on('close', () => {
        if (connected) client.end();
      });
      client.on('close', () => upstream.destroy());
    };
    attempt(0);
  };

  const closeListener = (listener: Listener): Promise<void> =>
    new Promise((resolve) => {
      listener.bound = false;
      const server = listener.server;
      listener.server = undefined;
      for (const socket of listener.sockets) socket.destroy();
      if (!server) return resolve();
      server.close(() => resolve());
    });

  return {
    async apply(desired) {
      const removals: Promise<void>[] = [];
      for (const [key, listener] of listeners) {
        if (desired.has(key)) continue;
        listeners.delete(key);
        removals.push(closeListener(listener));
      }
      await Promise.all(removals);
      const binds: Promise<void>[] = [];
      for (const [key, want] of desired) {
        const existing = listeners.get(key);
        if (existing) {
          existing.target = want.target;
          continue;
        }
        const listener: Listener = { address: want.address, port: want.port, target: want.target, bound: false, next: 0, sockets: new Set() };
        listeners.set(key, listener);
        binds.push(bind(listener));
      }
      await Promise.all(binds);
    },
    bound() {
      return [...listeners.entries()].filter(([, l]) => l.bound).map(([key]) => key);
    },
    bindError(key) {
      const listener = listeners.get(key);
      return listener && !listener.bound ? listener.error : undefined;
    },
    openConnections(backend) {
      return open.get(listenerKey(backend.ip, backend.port)) ?? 0;
    },
    async close() {
      closed = true;
      if (retryTimer) clearTimeout(retryTimer);
      const all = [...listeners.values()];
      listeners.clear();
      await Promise.all(all.map(closeListener));
    },
  };
}

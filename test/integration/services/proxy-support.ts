/** Real little HTTP backends and a scripted watch source for the proxy tests. */
import http from 'node:http';
import type net from 'node:net';
import type { ServiceProxySource } from '../../../node-agent/proxy/service-proxy.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import type { ResourceType } from '../../../schemas/registry.ts';

export interface Backend {
  readonly ip: string;
  readonly port: number;
  close(): Promise<void>;
}

/** An HTTP server on `ip` answering with its name. */
export async function startBackend(ip: string, name: string, port = 0): Promise<Backend> {
  const server = http.createServer((_request, response) => {
    response.setHeader('connection', 'close');
    response.end(name);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, ip, () => resolve());
  });
  const address = server.address() as net.AddressInfo;
  return {
    ip,
    port: address.port,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export { freePort } from '../../support/loopback.ts';

/** GET http://ip:port/ → body, or the error code (ECONNRESET, ECONNREFUSED...); from `localAddress` when given. */
export function get(ip: string, port: number, localAddress?: string): Promise<string> {
  return new Promise((resolve) => {
    const request = http.get({ host: ip, port, path: '/', agent: false, timeout: 3000, ...(localAddress ? { localAddress } : {}) }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      response.on('end', () => resolve(body));
      response.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    });
    request.on('timeout', () => request.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    request.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
  });
}

/**
 * A stand-in for the API's list+watch (the proxy's only input): the test sets objects and the
 * source delivers them as a list and then as watch events, like the agent's KubeClient does.
 */
export function scriptedSource(): ServiceProxySource & {
  put(type: ResourceType, object: KubeObject): void;
  remove(type: ResourceType, object: KubeObject): void;
} {
  const state = new Map<string, Map<string, KubeObject>>();
  const watchers = new Map<string, Set<(event: { type: string; object: KubeObject }) => void>>();
  const key = (o: KubeObject) => `${o.metadata.namespace}/${o.metadata.name}`;
  const emit = (type: ResourceType, event: { type: string; object: KubeObject }) => {
    for (const watcher of watchers.get(type.id) ?? []) watcher(event);
  };
  return {
    put(type, object) {
      const objects = state.get(type.id) ?? new Map();
      state.set(type.id, objects);
      const existed = objects.has(key(object));
      objects.set(key(object), object);
      emit(type, { type: existed ? 'MODIFIED' : 'ADDED', object });
    },
    remove(type, object) {
      state.get(type.id)?.delete(key(object));
      emit(type, { type: 'DELETED', object });
    },
    listAndWatch(type, _options, handlers, signal) {
      handlers.onList([...(state.get(type.id)?.values() ?? [])] as never[]);
      const set = watchers.get(type.id) ?? new Set();
      watchers.set(type.id, set);
      const watcher = (event: { type: string; object: KubeObject }) => handlers.onEvent(event as never);
      set.add(watcher);
      return new Promise((resolve) => {
        signal.addEventListener('abort', () => {
          set.delete(watcher);
          resolve();
        });
      });
    },
  };
}

export function nodePortService(name: string, nodePort: number, type = 'NodePort'): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default' },
    spec: { type, selector: { app: name }, ports: [{ port: 80, targetPort: 8080, protocol: 'TCP', nodePort }] },
  };
}

export function endpointsOf(name: string, backends: readonly { ip: string; port: number }[]): KubeObject {
  const byPort = new Map<number, string[]>();
  for (const b of backends) byPort.set(b.port, [...(byPort.get(b.port) ?? []), b.ip]);
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name, namespace: 'default' },
    subsets: [...byPort].map(([port, ips]) => ({ addresses: ips.map((ip) => ({ ip })), ports: [{ port, protocol: 'TCP' }] })),
  };
}

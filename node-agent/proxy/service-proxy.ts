/**
 * Skiff's kube-proxy: every Service's NodePorts (TCP) are served on each bind address and
 * forwarded round-robin to the Service's ready endpoints (podIP:targetPort). It follows
 * Services and Endpoints through list+watch, so new, changed and deleted Services and pods
 * coming and going apply within a watch event.
 *
 * Several agents on one machine: each passes its own node address plus 127.0.0.1. One agent
 * gets 127.0.0.1:<nodePort>; the others keep retrying it, so when that agent stops another one
 * takes over and `curl 127.0.0.1:<nodePort>` keeps answering (docs/adr/091-nodeport-proxy-on-one-machine.md).
 */

import { readyBackendsByPortName, type ServiceView, viewService } from '../../functions/domain/services/service-view.ts';
import type { Log } from '../../functions/logging/log.ts';
import { createListenerSet, type ListenerTarget, listenerKey } from '../../functions/net/tcp-listeners.ts';
import type { KubeObject } from '../../schemas/meta.ts';
import type { ResourceType } from '../../schemas/registry.ts';
import { types } from '../../schemas/registry.ts';
import { revisionOf } from './routing-release.ts';

/** What the proxy needs of a Kubernetes client; the agent's `KubeClient` fits. */
export interface ServiceProxySource {
  listAndWatch<T extends KubeObject>(
    type: ResourceType,
    options: { readonly namespace?: string },
    handlers: {
      onList(items: readonly T[], resourceVersion?: string): void;
      onEvent(event: { readonly type: string; readonly object: T }): void;
      onError?(error: unknown): void;
    },
    signal: AbortSignal,
  ): Promise<void>;
}

export interface ServiceProxyOptions {
  readonly client: ServiceProxySource;
  /** Addresses to serve NodePorts on, e.g. the node's InternalIP and 127.0.0.1. */
  readonly bindAddresses: readonly string[];
  readonly retryBindMs?: number;
  readonly log?: Log;
  /** Called after every Endpoints list or change the proxy took in. */
  readonly onEndpoints?: () => void;
}

export interface ServiceProxy {
  /** `address:port` of the NodePort listeners bound now. */
  listening(): string[];
  /** Whether a new NodePort connection may still go to this address: it is a ready address of some Endpoints (docs/adr/170). */
  routes(ip: string): boolean;
  /**
   * The Endpoints revision the proxy follows: backends are read from its cache at each
   * connection, so it applies every Endpoints change up to the newest one received. 0 before the list.
   */
  appliedRevision(): bigint;
  stop(): Promise<void>;
}

function keyOf(object: KubeObject): string {
  return `${object.metadata.namespace ?? ''}/${object.metadata.name ?? ''}`;
}

function readyAddressesOf(object: KubeObject): string[] {
  const subsets = (object as { subsets?: { addresses?: { ip?: string }[] | null }[] | null }).subsets ?? [];
  return subsets.flatMap((subset) => (subset.addresses ?? []).flatMap((address) => (address.ip ? [address.ip] : [])));
}

/** A cache of one type, fed by list+watch, with the newest revision it received. */
function objectCache(onChange: () => void) {
  const objects = new Map<string, KubeObject>();
  const revision = { seen: 0n };
  const saw = (resourceVersion: string | undefined) => {
    const value = revisionOf(resourceVersion);
    if (value !== undefined && value > revision.seen) revision.seen = value;
  };
  return {
    objects,
    revision,
    handlers: {
      onList(items: readonly KubeObject[], resourceVersion?: string) {
        objects.clear();
        for (const item of items) {
          objects.set(keyOf(item), item);
          saw(item.metadata.resourceVersion);
        }
        saw(resourceVersion);
        onChange();
      },
      onEvent(event: { readonly type: string; readonly object: KubeObject }) {
        saw(event.object.metadata.resourceVersion);
        if (event.type === 'DELETED') objects.delete(keyOf(event.object));
        else if (event.type === 'ADDED' || event.type === 'MODIFIED') objects.set(keyOf(event.object), event.object);
        else return;
        onChange();
      },
    },
  };
}

/** The NodePort listeners the Services ask for: `address:nodePort` → which service port. */
export function desiredNodePorts(
  services: Iterable<KubeObject>,
  bindAddresses: readonly string[],
): Map<string, { address: string; port: number; serviceKey: string; portName: string; description: string }> {
  const desired = new Map<string, { address: string; port: number; serviceKey: string; portName: string; description: string }>();
  const addresses = [...new Set(bindAddresses)];
  for (const object of services) {
    let service: ServiceView;
    try {
      service = viewService(object);
    } catch {
      continue;
    }
    if (service.type !== 'NodePort' && service.type !== 'LoadBalancer') continue;
    for (const port of service.ports) {
      if (!port.nodePort || (port.protocol ?? 'TCP') !== 'TCP') continue;
      for (const address of addresses) {
        const key = listenerKey(address, port.nodePort);
        if (desired.has(key)) continue;
        desired.set(key, {
          address,
          port: port.nodePort,
          serviceKey: `${service.namespace}/${service.name}`,
          portName: port.name ?? '',
          description: `${service.namespace}/${service.name}:${port.port}`,
        });
      }
    }
  }
  return desired;
}

export function startServiceProxy(options: ServiceProxyOptions): ServiceProxy {
  const abort = new AbortController();
  const listeners = createListenerSet({
    ...(options.retryBindMs ? { retryBindMs: options.retryBindMs } : {}),
    ...(options.log ? { log: (message: string, fields?: Record<string, unknown>) => options.log?.info(message, fields) } : {}),
  });
  let applying = Promise.resolve();
  const sync = () => {
    const desired = desiredNodePorts(services.objects.values(), options.bindAddresses);
    const withTargets = new Map(
      [...desired].map(([key, want]) => {
        const target: ListenerTarget = {
          description: want.description,
          backends: () => readyBackendsByPortName(endpoints.objects.get(want.serviceKey)).get(want.portName) ?? [],
        };
        return [key, { address: want.address, port: want.port, target }] as const;
      }),
    );
    applying = applying.then(() => (abort.signal.aborted ? undefined : listeners.apply(withTargets))).catch(() => undefined);
  };
  const services = objectCache(sync);
  const endpoints = objectCache(() => options.onEndpoints?.());
  const onError = (error: unknown) => options.log?.warn('service proxy watch error', { error: error instanceof Error ? error.message : String(error) });
  const loops = [
    options.client.listAndWatch(types.services, {}, { ...services.handlers, onError }, abort.signal),
    options.client.listAndWatch(types.endpoints, {}, { ...endpoints.handlers, onError }, abort.signal),
  ].map((loop) => loop.catch(onError));
  return {
    listening: () => listeners.bound(),
    routes: (ip) => [...endpoints.objects.values()].some((object) => readyAddressesOf(object).includes(ip)),
    appliedRevision: () => endpoints.revision.seen,
    async stop() {
      abort.abort();
      await Promise.all(loops);
      await applying;
      await listeners.close();
    },
  };
}

/**
 * The `local` load balancer provider: what a cloud load balancer does for a `type: LoadBalancer`
 * Service, on one machine. Each Service gets its own address on a loopback range (127.0.200.0/24
 * by default; Linux routes all of 127.0.0.0/8 to the loopback interface), listens there on the
 * Service's ports (TCP) and forwards each connection round-robin to the ready endpoints.
 * It runs inside the local host, next to the controllers that drive it.
 */

import type { KubeObject } from '../../schemas/meta.ts';
import type { LoadBalancerIngress, LoadBalancers } from '../controllers/service-load-balancer/load-balancers.ts';
import { addressAt, offsetInRange, parseIpv4Cidr } from '../core/ipv4-range.ts';
import { readyBackendsByPortName, viewService } from '../domain/services/service-view.ts';
import { createListenerSet, type ListenerTarget, listenerKey } from '../net/tcp-listeners.ts';

export interface LocalLoadBalancerOptions {
  /** Addresses handed to Services. Default 127.0.200.0/24. */
  readonly addressRange?: string;
  readonly retryBindMs?: number;
  readonly log?: (message: string, fields?: Record<string, unknown>) => void;
}

export interface LocalLoadBalancers extends LoadBalancers {
  /** The address given to a Service (`namespace/name`), if it has one. */
  addressOf(serviceKey: string): string | undefined;
  close(): Promise<void>;
}

interface Balancer {
  readonly ip: string;
  service: KubeObject;
  endpoints: KubeObject | undefined;
}

function serviceKey(service: KubeObject): string {
  return `${service.metadata.namespace ?? 'default'}/${service.metadata.name ?? ''}`;
}

function statusIp(service: KubeObject): string | undefined {
  const ingress = (service.status as { loadBalancer?: { ingress?: { ip?: unknown }[] } } | undefined)?.loadBalancer?.ingress;
  const ip = ingress?.[0]?.ip;
  return typeof ip === 'string' ? ip : undefined;
}

export function createLocalLoadBalancers(options: LocalLoadBalancerOptions = {}): LocalLoadBalancers {
  const range = parseIpv4Cidr(options.addressRange ?? '127.0.200.0/24');
  const balancers = new Map<string, Balancer>();
  const listeners = createListenerSet({ ...(options.retryBindMs ? { retryBindMs: options.retryBindMs } : {}), ...(options.log ? { log: options.log } : {}) });
  let applying: Promise<void> = Promise.resolve();

  // An address a Service's status names is left to it, so a restart does not swap addresses.
  const claimedByStatus = new Map<string, string>();

  const pickAddress = (service: KubeObject): string => {
    const key = serviceKey(service);
    const used = new Set([...balancers.values()].map((b) => b.ip));
    const free = (ip: string) => !used.has(ip) && (claimedByStatus.get(ip) ?? key) === key;
    const previous = statusIp(service);
    if (previous && free(previous)) {
      const offset = offsetInRange(range, previous);
      if (offset !== undefined && offset > 0 && offset < range.size - 1) return previous;
    }
    for (let offset = 1; offset < range.size - 1; offset++) {
      const ip = addressAt(range, offset);
      if (free(ip)) return ip;
    }
    throw new Error(`no free load balancer address left in ${range.cidr}`);
  };

  const sync = (): Promise<void> => {
    const desired = new Map<string, { address: string; port: number; target: ListenerTarget }>();
    for (const balancer of balancers.values()) {
      const view = viewService(balancer.service);
      for (const port of view.ports) {
        if ((port.protocol ?? 'TCP') !== 'TCP') continue;
        const target: ListenerTarget = {
          description: `${view.namespace}/${view.name}:${port.port}`,
          backends: () => readyBackendsByPortName(balancer.endpoints).get(port.name ?? '') ?? [],
        };
        desired.set(listenerKey(balancer.ip, port.port), { address: balancer.ip, port: port.port, target });
      }
    }
    applying = applying
      .then(() => listeners.apply(desired))
      .catch((error: unknown) => options.log?.('load balancer listeners failed', { error: String(error) }));
    return applying;
  };

  return {
    async ensure(service, endpoints) {
      const key = serviceKey(service);
      const previous = statusIp(service);
      if (previous) claimedByStatus.set(previous, key);
      let balancer = balancers.get(key);
      if (!balancer) {
        balancer = { ip: pickAddress(service), service, endpoints };
        balancers.set(key, balancer);
      }
      balancer.service = service;
      balancer.endpoints = endpoints;
      await sync();
      const view = viewService(service);
      const ports = view.ports
        .filter((p) => (p.protocol ?? 'TCP') === 'TCP')
        .map((p) => {
          const error = listeners.bindError(listenerKey(balancer.ip, p.port));
          return { port: p.port, protocol: 'TCP', ...(error ? { error } : {}) };
        });
      const failed = ports.filter((p) => p.error);
      return [{ ip: balancer.ip, ipMode: 'VIP', ...(failed.length > 0 ? { ports } : {}) } satisfies LoadBalancerIngress];
    },
    async remove(service) {
      const key = serviceKey(service);
      if (!balancers.delete(key)) return;
      for (const [ip, holder] of claimedByStatus) if (holder === key) claimedByStatus.delete(ip);
      await sync();
    },
    addressOf(key) {
      return balancers.get(key)?.ip;
    },
    async close() {
      balancers.clear();
      await applying;
      await listeners.close();
    },
  };
}

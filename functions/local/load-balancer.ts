/**
 * The `local` load balancer provider: what a cloud load balancer does for a `type: LoadBalancer`
 * Service, on one machine. Each Service gets its own address on a loopback range (127.0.200.0/24
 * by default; Linux routes all of 127.0.0.0/8 to the loopback interface), listens there on the
 * Service's TCP ports and forwards each connection round-robin to the serving pods.
 *
 * Its target group is the pods whose containers are ready; with no health check of its own, a
 * registered pod is healthy at once. A pod that leaves (terminating, or no longer ready) gets no
 * new connection and stays `draining` while connections forwarded to it are open, so its node
 * agent stops it only after they ended (docs/adr/094-zero-downtime-targets.md).
 * It runs inside the local host, next to the controllers that drive it.
 */

import { BlockList, isIP } from 'node:net';
import type { KubeObject } from '../../schemas/meta.ts';
import type { BackendPod } from '../domain/services/load-balancer-backends.ts';
import type { EnsuredLoadBalancer, LoadBalancerIngress, LoadBalancerProblem, LoadBalancers, TargetState } from '../domain/services/load-balancers.ts';
import { viewService } from '../domain/services/service-view.ts';
import { type Backend, createListenerSet, type ListenerSet, type ListenerTarget, listenerKey } from '../net/tcp-listeners.ts';
import { type AddressPool, createAddressPool } from './address-pool.ts';

export interface LocalLoadBalancerOptions {
  /** Addresses handed to Services. Default 127.0.200.0/24. */
  readonly addressRange?: string;
  /** Share the address pool with the Ingress routers (the local host does). */
  readonly addresses?: AddressPool;
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
  /** Serving pods by service port name. */
  targets: Map<string, Backend[]>;
  /** Pods that were targets, by uid, with the backends connections may still be open to. */
  registered: Map<string, Backend[]>;
  draining: Map<string, Backend[]>;
}

function serviceKey(service: KubeObject): string {
  return `${service.metadata.namespace ?? 'default'}/${service.metadata.name ?? ''}`;
}

function statusIp(service: KubeObject): string | undefined {
  const ingress = (service.status as { loadBalancer?: { ingress?: { ip?: unknown }[] } } | undefined)?.loadBalancer?.ingress;
  const ip = ingress?.[0]?.ip;
  return typeof ip === 'string' ? ip : undefined;
}

const byAddress = (a: Backend, b: Backend) => (a.ip === b.ip ? a.port - b.port : a.ip < b.ip ? -1 : 1);

/** Kubernetes' older way to give the ranges, read when `spec.loadBalancerSourceRanges` is empty (as the cloud providers do). */
const sourceRangesAnnotation = 'service.beta.kubernetes.io/load-balancer-source-ranges';

/**
 * The client ranges a Service lets in (`spec.loadBalancerSourceRanges`, else the annotation, comma
 * separated); undefined when it names none, which lets every source in (0.0.0.0/0, as on AWS).
 * An entry that is not a CIDR is skipped. A client on IPv4-mapped IPv6 is matched as IPv4.
 */
export function sourceRangesOf(service: KubeObject): { allows(address: string): boolean; readonly ranges: readonly string[] } | undefined {
  const field = (service.spec as { loadBalancerSourceRanges?: unknown } | undefined)?.loadBalancerSourceRanges;
  const fromField = Array.isArray(field) ? field.filter((entry): entry is string => typeof entry === 'string' && entry.trim() !== '') : [];
  const annotation = service.metadata.annotations?.[sourceRangesAnnotation] ?? '';
  const entries = (fromField.length > 0 ? fromField : annotation.split(',')).map((entry) => entry.trim()).filter(Boolean);
  const list = new BlockList();
  const ranges: string[] = [];
  for (const entry of entries) {
    const [address = '', prefix = ''] = entry.split('/');
    const family = isIP(address);
    const bits = Number(prefix);
    if (family === 0 || !/^\d+$/.test(prefix) || bits > (family === 4 ? 32 : 128)) continue;
    list.addSubnet(address, bits, family === 4 ? 'ipv4' : 'ipv6');
    ranges.push(entry);
  }
  if (ranges.length === 0) return undefined;
  return {
    ranges,
    allows(address) {
      const plain = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
      const family = isIP(plain);
      return family !== 0 && list.check(plain, family === 4 ? 'ipv4' : 'ipv6');
    },
  };
}

function backendsOfPod(pod: BackendPod): Backend[] {
  return [...new Set(pod.ports.values())].map((port) => ({ ip: pod.ip, port }));
}

/** Seconds between looks at a draining pod's open connections. */
const drainRecheckSeconds = 0.5;

/** The provider's target bookkeeping for one ensure: who is served, who drains. Exported for tests. */
export function updateTargets(
  balancer: Pick<Balancer, 'registered' | 'draining'>,
  backends: readonly BackendPod[],
  openConnections: (backend: Backend) => number,
): { targets: Map<string, TargetState>; servingByPort: Map<string, Backend[]> } {
  const servingByPort = new Map<string, Backend[]>();
  const targets = new Map<string, TargetState>();
  const live = new Set(backends.map((b) => b.uid));
  for (const pod of backends) {
    if (pod.state !== 'serving') {
      const was = balancer.registered.get(pod.uid);
      if (was) {
        balancer.registered.delete(pod.uid);
        balancer.draining.set(pod.uid, was);
      }
      continue;
    }
    balancer.draining.delete(pod.uid);
    balancer.registered.set(pod.uid, backendsOfPod(pod));
    targets.set(pod.uid, 'healthy');
    for (const [portName, port] of pod.ports) {
      const list = servingByPort.get(portName) ?? [];
      list.push({ ip: pod.ip, port });
      servingByPort.set(portName, list);
    }
  }
  for (const uid of [...balancer.registered.keys()]) {
    if (live.has(uid)) continue;
    // The pod is gone: what was forwarded to it drains like any leaving target.
    balancer.draining.set(uid, balancer.registered.get(uid) ?? []);
    balancer.registered.delete(uid);
  }
  for (const [uid, list] of [...balancer.draining]) {
    const open = list.reduce((sum, backend) => sum + openConnections(backend), 0);
    if (open > 0) targets.set(uid, 'draining');
    else balancer.draining.delete(uid);
  }
  for (const list of servingByPort.values()) list.sort(byAddress);
  return { targets, servingByPort };
}

export function createLocalLoadBalancers(options: LocalLoadBalancerOptions = {}): LocalLoadBalancers {
  const pool = options.addresses ?? createAddressPool(options.addressRange ?? '127.0.200.0/24');
  const balancers = new Map<string, Balancer>();
  const listeners: ListenerSet = createListenerSet({
    ...(options.retryBindMs ? { retryBindMs: options.retryBindMs } : {}),
    ...(options.log ? { log: options.log } : {}),
  });
  let applying: Promise<void> = Promise.resolve();
  const owner = (key: string) => `Service/${key}`;

  const sync = (): Promise<void> => {
    const desired = new Map<string, { address: string; port: number; target: ListenerTarget }>();
    for (const balancer of balancers.values()) {
      const view = viewService(balancer.service);
      for (const port of view.ports) {
        if ((port.protocol ?? 'TCP') !== 'TCP') continue;
        const portName = port.name ?? '';
        const sources = sourceRangesOf(balancer.service);
        const target: ListenerTarget = {
          description: `${view.namespace}/${view.name}:${port.port}`,
          backends: () => balancer.targets.get(portName) ?? [],
          ...(sources ? { accepts: (address: string) => sources.allows(address) } : {}),
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
    provider: 'local',
    async ensure(service, backends): Promise<EnsuredLoadBalancer> {
      const key = serviceKey(service);
      const previous = statusIp(service);
      if (previous) pool.reserve(owner(key), previous);
      let balancer = balancers.get(key);
      if (!balancer) {
        balancer = { ip: pool.claim(owner(key), previous), service, targets: new Map(), registered: new Map(), draining: new Map() };
        balancers.set(key, balancer);
      }
      balancer.service = service;
      const { targets, servingByPort } = updateTargets(balancer, backends, (backend) => listeners.openConnections(backend));
      balancer.targets = servingByPort;
      await sync();
      const view = viewService(service);
      const problems: LoadBalancerProblem[] = view.ports
        .filter((p) => (p.protocol ?? 'TCP') !== 'TCP')
        .map((p) => ({ reason: 'UnsupportedProtocol', message: `port ${p.port}/${p.protocol}: the local load balancer forwards TCP only` }));
      const ports = view.ports
        .filter((p) => (p.protocol ?? 'TCP') === 'TCP')
        .map((p) => {
          const error = listeners.bindError(listenerKey(balancer.ip, p.port));
          return { port: p.port, protocol: 'TCP', ...(error ? { error } : {}) };
        });
      const failed = ports.filter((p) => p.error);
      const ingress: LoadBalancerIngress[] = [{ ip: balancer.ip, ipMode: 'VIP', ...(failed.length > 0 ? { ports } : {}) }];
      const draining = [...targets.values()].some((state) => state === 'draining');
      return { ingress, targets, problems, ...(draining ? { recheckAfterSeconds: drainRecheckSeconds } : {}) };
    },
    async remove(service) {
      const key = serviceKey(service);
      pool.release(owner(key));
      if (!balancers.delete(key)) return true;
      await sync();
      return true;
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

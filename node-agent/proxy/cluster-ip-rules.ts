/**
 * kube-proxy's job in namespace mode (docs/adr/137): each Service's ClusterIP:port is rewritten
 * by the kernel (nftables DNAT) to one of its ready endpoints, picked at random, or the one a
 * client had before when the Service has `sessionAffinity: ClientIP`. This module is pure: it
 * turns Services and EndpointSlices into one nftables script that replaces the node's table in a
 * single transaction; `cluster-ip-routing.ts` feeds it and runs `nft`.
 *
 * Traffic is caught where it enters from this node's pods (the bridge, `prerouting`) and where
 * the host itself sends it (`output`). A pod that reaches itself through its Service, and a pod
 * sent to an endpoint on the host's loopback (the API server), are masqueraded so replies come
 * back the way they went.
 */
import { z } from 'zod';
import type { KubeObject } from '../../schemas/meta.ts';

export interface RoutedEndpoint {
  readonly ip: string;
  readonly port: number;
}

export interface RoutedPort {
  readonly protocol: 'TCP' | 'UDP';
  readonly port: number;
  readonly endpoints: readonly RoutedEndpoint[];
}

export interface RoutedService {
  /** `namespace/name`, for comments. */
  readonly key: string;
  readonly clusterIP: string;
  readonly ports: readonly RoutedPort[];
  /** `sessionAffinity: ClientIP`: how long a client keeps its endpoint. */
  readonly affinitySeconds?: number;
}

export interface RuleTarget {
  /** The node's nftables table. */
  readonly table: string;
  /** The bridge the node's pods come in from. */
  readonly bridge: string;
}

const masqueradeMark = '0x00004000';
const ipv4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function quote(text: string): string {
  return `"${text.replace(/["\\]/g, '')}"`;
}

/** The nftables script that makes the node's table exactly this (the old one goes in the same transaction). */
export function clusterIpRuleset(target: RuleTarget, services: readonly RoutedService[]): string {
  const { table } = target;
  const lines: string[] = [];
  const sets: string[] = [];
  const chains: string[] = [];
  const dispatch: string[] = [];
  const sorted = [...services].filter((service) => ipv4.test(service.clusterIP)).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  sorted.forEach((service, serviceIndex) => {
    service.ports.forEach((port, portIndex) => {
      const proto = port.protocol === 'UDP' ? 'udp' : 'tcp';
      const match = `ip daddr ${service.clusterIP} ${proto} dport ${port.port}`;
      const comment = `comment ${quote(`${service.key}:${port.port}/${port.protocol}`)}`;
      if (port.endpoints.length === 0) return;
      const chain = `svc-${serviceIndex}-${portIndex}`;
      dispatch.push(`\t\t${match} goto ${chain} ${comment}`);
      const body: string[] = [];
      const endpointChains: string[] = [];
      port.endpoints.forEach((endpoint, endpointIndex) => {
        const endpointChain = `${chain}-ep-${endpointIndex}`;
        endpointChains.push(endpointChain);
        const rules: string[] = [];
        // Hairpin (a pod to itself through its Service) and the host's loopback: masquerade.
        if (endpoint.ip.startsWith('127.')) rules.push(`\t\tmeta mark set meta mark | ${masqueradeMark}`);
        else rules.push(`\t\tip saddr ${endpoint.ip} meta mark set meta mark | ${masqueradeMark}`);
        if (service.affinitySeconds !== undefined) {
          const set = `${endpointChain}-clients`;
          sets.push(`\tset ${set} {\n\t\ttype ipv4_addr\n\t\tflags dynamic,timeout\n\t\ttimeout ${service.affinitySeconds}s\n\t}`);
          body.push(`\t\tip saddr @${set} goto ${endpointChain}`);
          rules.push(`\t\tupdate @${set} { ip saddr }`);
        }
        rules.push(`\t\t${proto} dport ${port.port} dnat to ${endpoint.ip}:${endpoint.port}`);
        chains.push(`\tchain ${endpointChain} {\n${rules.join('\n')}\n\t}`);
      });
      if (endpointChains.length === 1) body.push(`\t\tgoto ${endpointChains[0]}`);
      else body.push(`\t\tnumgen random mod ${endpointChains.length} vmap { ${endpointChains.map((name, index) => `${index} : goto ${name}`).join(', ')} }`);
      chains.push(`\tchain ${chain} {\n${body.join('\n')}\n\t}`);
    });
  });
  lines.push(`table ip ${table}`);
  lines.push(`delete table ip ${table}`);
  lines.push(`table ip ${table} {`);
  for (const set of sets) lines.push(set);
  lines.push(`\tchain services {\n${dispatch.join('\n')}\n\t}`);
  for (const chain of chains) lines.push(chain);
  lines.push(`\tchain prerouting {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n\t\tiifname ${quote(target.bridge)} jump services\n\t}`);
  lines.push('\tchain output {\n\t\ttype nat hook output priority -100; policy accept;\n\t\tjump services\n\t}');
  lines.push(
    `\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n\t\tmeta mark & ${masqueradeMark} == ${masqueradeMark} masquerade\n\t}`,
  );
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

const serviceSchema = z.looseObject({
  metadata: z.looseObject({ namespace: z.string().optional(), name: z.string().optional() }),
  spec: z
    .looseObject({
      type: z.string().optional(),
      clusterIP: z.string().optional(),
      ports: z.array(z.looseObject({ name: z.string().optional(), port: z.number().int(), protocol: z.string().optional() })).nullish(),
      sessionAffinity: z.string().optional(),
      sessionAffinityConfig: z.looseObject({ clientIP: z.looseObject({ timeoutSeconds: z.number().int().optional() }).optional() }).optional(),
    })
    .optional(),
});

const sliceSchema = z.looseObject({
  metadata: z.looseObject({ namespace: z.string().optional(), labels: z.record(z.string(), z.string()).optional() }),
  addressType: z.string().optional(),
  endpoints: z
    .array(
      z.looseObject({
        addresses: z.array(z.string()),
        conditions: z.looseObject({ ready: z.boolean().nullish(), terminating: z.boolean().nullish() }).optional(),
      }),
    )
    .nullish(),
  ports: z.array(z.looseObject({ name: z.string().nullish(), port: z.number().int().nullish(), protocol: z.string().nullish() })).nullish(),
});

/** kube-proxy's default for `sessionAffinityConfig.clientIP.timeoutSeconds`: three hours. */
export const defaultAffinitySeconds = 10_800;

/**
 * The Services with a ClusterIP and their ready endpoints, from the objects the API lists: the
 * EndpointSlices of a Service (label `kubernetes.io/service-name`) give each service port's
 * endpoints, matched by port name; an endpoint not ready is left out, as kube-proxy does.
 */
export function routedServices(services: Iterable<KubeObject>, slices: Iterable<KubeObject>): RoutedService[] {
  const byService = new Map<string, z.infer<typeof sliceSchema>[]>();
  for (const object of slices) {
    const parsed = sliceSchema.safeParse(object);
    if (!parsed.success || (parsed.data.addressType ?? 'IPv4') !== 'IPv4') continue;
    const name = parsed.data.metadata.labels?.['kubernetes.io/service-name'];
    if (!name) continue;
    const key = `${parsed.data.metadata.namespace ?? 'default'}/${name}`;
    byService.set(key, [...(byService.get(key) ?? []), parsed.data]);
  }
  const result: RoutedService[] = [];
  for (const object of services) {
    const parsed = serviceSchema.safeParse(object);
    if (!parsed.success) continue;
    const spec = parsed.data.spec ?? {};
    const clusterIP = spec.clusterIP;
    if (!clusterIP || clusterIP === 'None' || spec.type === 'ExternalName' || !ipv4.test(clusterIP)) continue;
    const key = `${parsed.data.metadata.namespace ?? 'default'}/${parsed.data.metadata.name ?? ''}`;
    const ports: RoutedPort[] = [];
    for (const port of spec.ports ?? []) {
      const protocol = (port.protocol ?? 'TCP') === 'UDP' ? 'UDP' : (port.protocol ?? 'TCP') === 'TCP' ? 'TCP' : undefined;
      if (!protocol) continue;
      const endpoints = new Map<string, RoutedEndpoint>();
      for (const slice of byService.get(key) ?? []) {
        const slicePort = (slice.ports ?? []).find((candidate) => (candidate.name ?? '') === (port.name ?? '') && (candidate.protocol ?? 'TCP') === protocol);
        if (!slicePort?.port) continue;
        for (const endpoint of slice.endpoints ?? []) {
          if (endpoint.conditions?.ready === false) continue;
          for (const address of endpoint.addresses) {
            if (ipv4.test(address)) endpoints.set(`${address}:${slicePort.port}`, { ip: address, port: slicePort.port });
          }
        }
      }
      ports.push({
        protocol,
        port: port.port,
        endpoints: [...endpoints.values()].sort((a, b) => (a.ip === b.ip ? a.port - b.port : a.ip < b.ip ? -1 : 1)),
      });
    }
    const affinity = spec.sessionAffinity === 'ClientIP' ? (spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? defaultAffinitySeconds) : undefined;
    result.push({ key, clusterIP, ports, ...(affinity !== undefined ? { affinitySeconds: affinity } : {}) });
  }
  return result;
}

/**
 * NetworkPolicy enforcement in namespace mode (docs/adr/209), pure: the cluster's pods,
 * namespaces and NetworkPolicies become one nftables script for this node's policy table, which
 * `network-policy-enforcement.ts` writes whole in one `nft -f` transaction.
 *
 * Each node filters its own pods only, in the `forward` hook, where every packet between two pods
 * passes once (pods of other nodes come through another bridge; pods of the same bridge through
 * br_netfilter), after the ClusterIP DNAT (so a rule sees the endpoint pod, not the Service's
 * address):
 * - replies to connections already allowed (conntrack established/related) pass;
 * - a packet from a pod isolated for egress jumps to that pod's egress chain: a rule that allows it
 *   returns, so the destination's ingress is still checked; nothing allowing it drops it;
 * - a packet to a pod isolated for ingress jumps to that pod's ingress chain: allowed, accept; else drop.
 * A pod is isolated for a direction when any policy of its namespace selects it with that
 * direction in `policyTypes`; what passes is the union of those policies' rules. Traffic the
 * node itself sends or receives (probes, the NodePort proxy, the local load balancer, cluster DNS
 * and the API server, which live on the host) does not cross `forward` and is allowed, as
 * Kubernetes allows traffic from a pod's node.
 */
import { z } from 'zod';
import type { KubeObject } from '../../schemas/meta.ts';
import { selectorMatches } from '../../schemas/meta.ts';

export interface PolicyPod {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly ip: string;
  readonly nodeName: string;
  /** Container ports by name (for named ports in rules). */
  readonly namedPorts: readonly { readonly name: string; readonly port: number; readonly protocol: Protocol }[];
}

type Protocol = 'TCP' | 'UDP' | 'SCTP';

export interface PolicyTarget {
  /** The node's policy table. */
  readonly table: string;
  /** This node: only its pods are filtered here. */
  readonly nodeName: string;
}

const selectorSchema = z.looseObject({
  matchLabels: z.record(z.string(), z.string()).optional(),
  matchExpressions: z.array(z.looseObject({ key: z.string(), operator: z.string(), values: z.array(z.string()).optional() })).optional(),
});
const portSchema = z.looseObject({
  protocol: z.string().optional(),
  port: z.union([z.number().int(), z.string()]).optional(),
  endPort: z.number().int().optional(),
});
const peerSchema = z.looseObject({
  podSelector: selectorSchema.optional(),
  namespaceSelector: selectorSchema.optional(),
  ipBlock: z.looseObject({ cidr: z.string(), except: z.array(z.string()).optional() }).optional(),
});
const policySchema = z.looseObject({
  metadata: z.looseObject({ namespace: z.string().optional(), name: z.string().optional() }),
  spec: z.looseObject({
    podSelector: selectorSchema.optional(),
    ingress: z.array(z.looseObject({ ports: z.array(portSchema).nullish(), from: z.array(peerSchema).nullish() })).nullish(),
    egress: z.array(z.looseObject({ ports: z.array(portSchema).nullish(), to: z.array(peerSchema).nullish() })).nullish(),
    policyTypes: z.array(z.string()).nullish(),
  }),
});
type Policy = z.infer<typeof policySchema>;
type Peer = z.infer<typeof peerSchema>;
type Port = z.infer<typeof portSchema>;

const podSchema = z.looseObject({
  metadata: z.looseObject({ namespace: z.string().optional(), name: z.string().optional(), labels: z.record(z.string(), z.string()).optional() }),
  spec: z
    .looseObject({
      nodeName: z.string().optional(),
      hostNetwork: z.boolean().optional(),
      containers: z
        .array(
          z.looseObject({
            ports: z.array(z.looseObject({ name: z.string().optional(), containerPort: z.number().int(), protocol: z.string().optional() })).nullish(),
          }),
        )
        .optional(),
    })
    .optional(),
  status: z.looseObject({ podIP: z.string().optional(), phase: z.string().optional() }).optional(),
});

const ipv4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const ipv4Cidr = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

function protocolOf(text: string | undefined): Protocol | undefined {
  const protocol = text ?? 'TCP';
  return protocol === 'TCP' || protocol === 'UDP' || protocol === 'SCTP' ? protocol : undefined;
}

/**
 * The pods policies can see: with an IPv4 pod address, not on the host's network, not finished
 * (a Succeeded or Failed pod's address may already be another pod's).
 */
export function policyPods(objects: Iterable<KubeObject>): PolicyPod[] {
  const pods: PolicyPod[] = [];
  for (const object of objects) {
    const parsed = podSchema.safeParse(object);
    if (!parsed.success) continue;
    const { metadata, spec, status } = parsed.data;
    const ip = status?.podIP;
    if (!ip || !ipv4.test(ip) || spec?.hostNetwork || status?.phase === 'Succeeded' || status?.phase === 'Failed') continue;
    const namedPorts = (spec?.containers ?? []).flatMap((container) =>
      (container.ports ?? []).flatMap((port) => {
        const protocol = protocolOf(port.protocol);
        return port.name && protocol ? [{ name: port.name, port: port.containerPort, protocol }] : [];
      }),
    );
    pods.push({
      namespace: metadata.namespace ?? 'default',
      name: metadata.name ?? '',
      labels: metadata.labels ?? {},
      ip,
      nodeName: spec?.nodeName ?? '',
      namedPorts,
    });
  }
  return pods;
}

/** Namespace name → labels; `kubernetes.io/metadata.name` is always the name, as kube-apiserver sets it. */
export function namespaceLabels(objects: Iterable<KubeObject>): Map<string, Readonly<Record<string, string>>> {
  const labels = new Map<string, Readonly<Record<string, string>>>();
  for (const object of objects) {
    const name = object.metadata.name;
    if (name) labels.set(name, { ...(object.metadata.labels ?? {}), 'kubernetes.io/metadata.name': name });
  }
  return labels;
}

/** One allowed match: sources (ingress) or destinations (egress), and what they may be reached on. */
interface Allowance {
  /** `ip saddr`/`ip daddr` expression parts; empty means any address. */
  readonly addresses: readonly string[];
  /** nft match texts for ports, e.g. `tcp dport { 80, 8000-8080 }`; empty means every port of every protocol. */
  readonly ports: readonly string[];
  readonly comment: string;
}

type PeerAddresses =
  | { readonly any: true }
  | { readonly pods: readonly PolicyPod[] }
  | { readonly block: { readonly cidr: string; readonly except: readonly string[] } };

/**
 * What one ruleset is built from, with what it works out once: a peer's pods (the same for every
 * pod a policy selects) and the named sets of addresses, one per distinct list, so each list is
 * written once however many pods' chains use it.
 */
interface Cluster {
  readonly pods: readonly PolicyPod[];
  readonly namespaces: ReadonlyMap<string, Readonly<Record<string, string>>>;
  readonly peers: WeakMap<Peer, PeerAddresses>;
  /** Elements (`a, b`) → set name. */
  readonly sets: Map<string, string>;
  /** A peer's pods → the `@name` of their set, so a list is sorted and joined once. */
  readonly setOfPods: WeakMap<readonly PolicyPod[], string>;
}

/** `@name` of the named set holding these addresses, made the first time the list is seen. */
function addressSet(cluster: Cluster, ips: readonly string[]): string {
  const elements = [...new Set(ips)].sort().join(', ');
  let name = cluster.sets.get(elements);
  if (!name) {
    name = `peers-${cluster.sets.size}`;
    cluster.sets.set(elements, name);
  }
  return `@${name}`;
}

function peerAddresses(peer: Peer, policyNamespace: string, cluster: Cluster): PeerAddresses {
  const known = cluster.peers.get(peer);
  if (known) return known;
  const found = selectPeer(peer, policyNamespace, cluster.pods, cluster.namespaces);
  cluster.peers.set(peer, found);
  return found;
}

function selectPeer(
  peer: Peer,
  policyNamespace: string,
  pods: readonly PolicyPod[],
  namespaces: ReadonlyMap<string, Readonly<Record<string, string>>>,
): PeerAddresses {
  if (peer.ipBlock) return { block: { cidr: peer.ipBlock.cidr, except: peer.ipBlock.except ?? [] } };
  const inNamespace = (pod: PolicyPod) =>
    peer.namespaceSelector ? selectorMatches(peer.namespaceSelector, namespaces.get(pod.namespace) ?? {}) : pod.namespace === policyNamespace;
  const byLabels = (pod: PolicyPod) => (peer.podSelector ? selectorMatches(peer.podSelector, pod.labels) : true);
  return { pods: pods.filter((pod) => inNamespace(pod) && byLabels(pod)) };
}

/** Port ranges sorted and merged: nftables refuses overlapping intervals in one set. */
function mergedPorts(ranges: readonly (readonly [number, number])[]): string[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const merged: [number, number][] = [];
  for (const [from, to] of sorted) {
    const last = merged.at(-1);
    if (last && from <= last[1] + 1) last[1] = Math.max(last[1], to);
    else merged.push([from, to]);
  }
  return merged.map(([from, to]) => (from === to ? String(from) : `${from}-${to}`));
}

function portMatch(protocol: Protocol, ranges: readonly (readonly [number, number])[]): string {
  const name = protocol.toLowerCase();
  return ranges.length === 0 ? `meta l4proto ${name}` : `${name} dport { ${mergedPorts(ranges).join(', ')} }`;
}

function cidrRange(cidr: string): readonly [number, number] | undefined {
  const match = ipv4Cidr.exec(cidr);
  if (!match) return undefined;
  const octets = match.slice(1, 5).map(Number);
  const prefix = Number(match[5]);
  if (octets.some((octet) => octet > 255) || prefix > 32) return undefined;
  const address = octets.reduce((value, octet) => value * 256 + octet, 0);
  const size = 2 ** (32 - prefix);
  const start = address - (address % size);
  return [start, start + size - 1];
}

/** The except ranges that no other one covers, in their network form: nftables refuses overlapping intervals. */
function outermostCidrs(cidrs: readonly string[]): string[] {
  const ranges = cidrs.flatMap((cidr) => {
    const range = cidrRange(cidr);
    return range ? [{ cidr: `${numberToIpv4(range[0])}/${cidr.split('/')[1]}`, range }] : [];
  });
  const kept = ranges.filter(
    (candidate, i) =>
      !ranges.some(
        (other, j) =>
          j !== i &&
          other.range[0] <= candidate.range[0] &&
          other.range[1] >= candidate.range[1] &&
          (other.range[0] !== candidate.range[0] || other.range[1] !== candidate.range[1] || j < i),
      ),
  );
  return [...new Set(kept.map((entry) => entry.cidr))].sort();
}

function numberToIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

/** Numeric ports (and ranges) of a rule grouped by protocol, plus its named ports; every port when the rule lists none. */
function splitPorts(ports: readonly Port[] | null | undefined): {
  all: boolean;
  numeric: Map<Protocol, (readonly [number, number])[]>;
  whole: Set<Protocol>;
  named: { name: string; protocol: Protocol }[];
} {
  const numeric = new Map<Protocol, (readonly [number, number])[]>();
  const whole = new Set<Protocol>();
  const named: { name: string; protocol: Protocol }[] = [];
  for (const port of ports ?? []) {
    const protocol = protocolOf(port.protocol);
    if (!protocol) continue;
    if (port.port === undefined) whole.add(protocol);
    else if (typeof port.port === 'string') named.push({ name: port.port, protocol });
    else {
      const range = [port.port, port.endPort !== undefined && port.endPort > port.port ? port.endPort : port.port] as const;
      numeric.set(protocol, [...(numeric.get(protocol) ?? []), range]);
    }
  }
  return { all: (ports ?? []).length === 0, numeric, whole, named };
}

function resolveNamed(pod: PolicyPod, name: string, protocol: Protocol): number | undefined {
  return pod.namedPorts.find((port) => port.name === name && port.protocol === protocol)?.port;
}

function addressExpression(direction: 'saddr' | 'daddr', addresses: PeerAddresses, cluster: Cluster): string[] | undefined {
  if ('any' in addresses) return [];
  if ('pods' in addresses) {
    if (addresses.pods.length === 0) return undefined;
    let set = cluster.setOfPods.get(addresses.pods);
    if (!set) {
      set = addressSet(
        cluster,
        addresses.pods.map((pod) => pod.ip),
      );
      cluster.setOfPods.set(addresses.pods, set);
    }
    return [`ip ${direction} ${set}`];
  }
  // An IPv6 block matches no pod address (pods are IPv4 only): it allows nothing here.
  const range = cidrRange(addresses.block.cidr);
  if (!range) return undefined;
  const cidr = `${numberToIpv4(range[0])}/${addresses.block.cidr.split('/')[1]}`;
  const except = outermostCidrs(addresses.block.except);
  return [`ip ${direction} ${cidr}`, ...(except.length > 0 ? [`ip ${direction} != { ${except.join(', ')} }`] : [])];
}

/**
 * What one rule (ingress `from` + `ports`, or egress `to` + `ports`) allows `pod`: the peers'
 * addresses with the rule's ports. A named port is the selected pod's own for ingress, and each
 * destination pod's for egress (pods without that port are not reached by it).
 */
function ruleAllowances(
  direction: 'ingress' | 'egress',
  pod: PolicyPod,
  peers: readonly Peer[] | null | undefined,
  ports: readonly Port[] | null | undefined,
  policyNamespace: string,
  comment: string,
  cluster: Cluster,
): Allowance[] {
  const field = direction === 'ingress' ? 'saddr' : 'daddr';
  const split = splitPorts(ports);
  const peerList: PeerAddresses[] = (peers ?? []).length === 0 ? [{ any: true }] : (peers ?? []).map((peer) => peerAddresses(peer, policyNamespace, cluster));
  const allowances: Allowance[] = [];
  for (const peer of peerList) {
    const addresses = addressExpression(field, peer, cluster);
    if (!addresses) continue;
    if (split.all) {
      allowances.push({ addresses, ports: [], comment });
      continue;
    }
    const matches: string[] = [];
    for (const protocol of split.whole) matches.push(portMatch(protocol, []));
    for (const [protocol, list] of split.numeric) if (!split.whole.has(protocol)) matches.push(portMatch(protocol, list));
    if (matches.length > 0) allowances.push({ addresses, ports: matches, comment });
    for (const named of split.named) {
      if (split.whole.has(named.protocol)) continue;
      if (direction === 'ingress') {
        const port = resolveNamed(pod, named.name, named.protocol);
        if (port !== undefined) allowances.push({ addresses, ports: [portMatch(named.protocol, [[port, port]])], comment });
        continue;
      }
      // Egress: the name is each destination pod's; an ipBlock names no pod, so it reaches none.
      const candidates = 'pods' in peer ? peer.pods : 'any' in peer ? cluster.pods : [];
      const byPort = new Map<number, string[]>();
      for (const destination of candidates) {
        const port = resolveNamed(destination, named.name, named.protocol);
        if (port !== undefined) byPort.set(port, [...(byPort.get(port) ?? []), destination.ip]);
      }
      for (const [port, ips] of [...byPort].sort((a, b) => a[0] - b[0])) {
        allowances.push({ addresses: [`ip daddr ${addressSet(cluster, ips)}`], ports: [portMatch(named.protocol, [[port, port]])], comment });
      }
    }
  }
  return allowances;
}

function quote(text: string): string {
  return `"${text.replace(/["\\]/g, '')}"`;
}

interface PodChains {
  readonly pod: PolicyPod;
  readonly allowances: readonly Allowance[];
}

function selects(policy: Policy, pod: PolicyPod): boolean {
  return (policy.metadata.namespace ?? 'default') === pod.namespace && selectorMatches(policy.spec.podSelector ?? {}, pod.labels);
}

function typesOf(policy: Policy): Set<string> {
  const types = policy.spec.policyTypes ?? [];
  if (types.length > 0) return new Set(types);
  return new Set((policy.spec.egress ?? []).length > 0 ? ['Ingress', 'Egress'] : ['Ingress']);
}

function byName(a: { readonly pod: PolicyPod }, b: { readonly pod: PolicyPod }): number {
  const left = `${a.pod.namespace}/${a.pod.name}`;
  const right = `${b.pod.namespace}/${b.pod.name}`;
  return left < right ? -1 : left > right ? 1 : 0;
}

/** The nftables script that makes the node's policy table exactly this (the old one goes in the same transaction). */
export function networkPolicyRuleset(
  target: PolicyTarget,
  objects: {
    readonly pods: readonly PolicyPod[];
    readonly namespaces: ReadonlyMap<string, Readonly<Record<string, string>>>;
    readonly policies: Iterable<KubeObject>;
  },
): string {
  const cluster: Cluster = { pods: objects.pods, namespaces: objects.namespaces, peers: new WeakMap(), sets: new Map(), setOfPods: new WeakMap() };
  const policies = [...objects.policies].flatMap((object) => {
    const parsed = policySchema.safeParse(object);
    return parsed.success ? [parsed.data] : [];
  });
  policies.sort((a, b) => {
    const left = `${a.metadata.namespace}/${a.metadata.name}`;
    const right = `${b.metadata.namespace}/${b.metadata.name}`;
    return left < right ? -1 : left > right ? 1 : 0;
  });
  const ingress: PodChains[] = [];
  const egress: PodChains[] = [];
  const local = new Map<string, PolicyPod>();
  for (const pod of cluster.pods) if (pod.nodeName === target.nodeName) local.set(pod.ip, pod);
  for (const pod of local.values()) {
    const selecting = policies.filter((policy) => selects(policy, pod));
    const ingressPolicies = selecting.filter((policy) => typesOf(policy).has('Ingress'));
    const egressPolicies = selecting.filter((policy) => typesOf(policy).has('Egress'));
    const comment = (policy: Policy, index: number, kind: string) => `${policy.metadata.namespace}/${policy.metadata.name} ${kind}[${index}]`;
    if (ingressPolicies.length > 0) {
      const allowances = ingressPolicies.flatMap((policy) =>
        (policy.spec.ingress ?? []).flatMap((rule, index) =>
          ruleAllowances('ingress', pod, rule.from, rule.ports, pod.namespace, comment(policy, index, 'ingress'), cluster),
        ),
      );
      ingress.push({ pod, allowances });
    }
    if (egressPolicies.length > 0) {
      const allowances = egressPolicies.flatMap((policy) =>
        (policy.spec.egress ?? []).flatMap((rule, index) =>
          ruleAllowances('egress', pod, rule.to, rule.ports, pod.namespace, comment(policy, index, 'egress'), cluster),
        ),
      );
      egress.push({ pod, allowances });
    }
  }
  ingress.sort(byName);
  egress.sort(byName);
  const { table } = target;
  const chains: string[] = [];
  const chainOf = (kind: 'ingress' | 'egress', entries: readonly PodChains[]) =>
    entries.map((entry, index) => {
      const name = `${kind}-${index}`;
      const verdict = kind === 'ingress' ? 'accept' : 'return';
      const rules = entry.allowances.flatMap((allowance) => {
        const matches = [...allowance.addresses];
        if (allowance.ports.length === 0) return [`\t\t${[...matches, verdict].join(' ')} comment ${quote(allowance.comment)}`];
        return allowance.ports.map((port) => `\t\t${[...matches, port, verdict].join(' ')} comment ${quote(allowance.comment)}`);
      });
      const drop = `\t\tdrop comment ${quote(`${kind} of ${entry.pod.namespace}/${entry.pod.name}`)}`;
      chains.push(`\tchain ${name} {\n${[...rules, drop].join('\n')}\n\t}`);
      return `${entry.pod.ip} : jump ${name}`;
    });
  const egressMap = chainOf('egress', egress);
  const ingressMap = chainOf('ingress', ingress);
  const forward = ['\t\ttype filter hook forward priority filter; policy accept;', '\t\tct state established,related accept'];
  if (egressMap.length > 0) forward.push(`\t\tip saddr vmap { ${egressMap.join(', ')} }`);
  if (ingressMap.length > 0) forward.push(`\t\tip daddr vmap { ${ingressMap.join(', ')} }`);
  const sets = [...cluster.sets].map(([elements, name]) => `\tset ${name} {\n\t\ttype ipv4_addr\n\t\telements = { ${elements} }\n\t}`);
  const lines = [
    `table ip ${table}`,
    `delete table ip ${table}`,
    `table ip ${table} {`,
    ...sets,
    ...chains,
    `\tchain forward {\n${forward.join('\n')}\n\t}`,
    '}',
  ];
  return `${lines.join('\n')}\n`;
}

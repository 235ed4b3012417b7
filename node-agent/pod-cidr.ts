/**
 * Pod addresses on the loopback range. Each node owns a /24 of 127.64.0.0/10 (see ADR 080):
 * the default is derived from the node name so that agents started on one machine without
 * a `--pod-cidr` land on different subnets, and a restarted agent gets the same one back.
 * 127.0.0.0/16 (node addresses) and the rest of 127/8 stay free for Services and load balancers.
 * Address and CIDR parsing is `functions/core/ipv4-range.ts`'s.
 */
import { type Cidr, formatCidr, numberToIpv4 } from '../functions/core/ipv4-range.ts';

const podRangeBase = (127 << 24) | (64 << 16);
const podRangeSubnets = 1 << 14; // /24 subnets in a /10

/** FNV-1a: stable across processes and Node versions, unlike anything seeded. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** The /24 a node gets when no `--pod-cidr` is given. */
export function defaultPodCidr(nodeName: string): string {
  const subnet = fnv1a(nodeName) % podRangeSubnets;
  return formatCidr({ network: (podRangeBase >>> 0) + subnet * 256, prefixLength: 24 });
}

/**
 * The /24 of node number `index` (1–255) of the cluster whose data lives in `clusterKey` (its
 * data dir): each cluster on a machine gets one /16 of 127.64.0.0/10 by hash, so two local
 * clusters (parallel test runs) rarely share pod addresses, and node N is its N-th /24.
 */
export function podCidrForNodeIndex(index: number, clusterKey: string): string {
  const block = fnv1a(clusterKey) % 64;
  return formatCidr({ network: (podRangeBase >>> 0) + block * 65_536 + (index % 256) * 256, prefixLength: 24 });
}

/**
 * The lowest free pod address of the CIDR, skipping the network address, `.1` (kept for the
 * node, as a bridge gateway would be) and the broadcast address; undefined when all are taken.
 */
export function allocatePodIp(cidr: Cidr, taken: ReadonlySet<string>): string | undefined {
  const size = 2 ** (32 - cidr.prefixLength);
  for (let offset = 2; offset < size - 1; offset += 1) {
    const candidate = numberToIpv4(cidr.network + offset);
    if (!taken.has(candidate)) return candidate;
  }
  return undefined;
}

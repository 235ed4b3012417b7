/**
 * IPv4 addresses and CIDR ranges, pure: the Service IP range, the nodes' pod CIDRs and the local
 * load balancer's addresses all parse here. An octet is a decimal number 0–255 written without
 * leading zeros ("010" is refused), the rule Go's net.ParseIP has applied since Go 1.17 and so the
 * rule Kubernetes applies to the addresses and CIDRs it validates.
 */

export interface Ipv4Range {
  readonly cidr: string;
  /** The network address as an unsigned 32-bit number. */
  readonly base: number;
  /** Number of addresses, network and broadcast included. */
  readonly size: number;
}

/** A CIDR whose address is its network address. */
export interface Cidr {
  readonly network: number;
  readonly prefixLength: number;
}

/** The address as an unsigned 32-bit number, or undefined when it is not a dotted-quad IPv4 address. */
export function ipv4ToNumber(ip: string): number | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255 || (part.length > 1 && part.startsWith('0'))) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

export function numberToIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

/** `address/prefix` with a prefix between /8 and /30, the sizes Skiff's ranges may take. */
function splitCidr(text: string): { readonly address: number; readonly prefixLength: number } | undefined {
  const [addressText, prefixText] = text.split('/');
  const address = addressText === undefined ? undefined : ipv4ToNumber(addressText);
  const prefixLength = prefixText === undefined ? Number.NaN : Number(prefixText);
  if (address === undefined || !Number.isInteger(prefixLength) || prefixLength < 8 || prefixLength > 30) return undefined;
  return { address, prefixLength };
}

/** The Service IP range: host bits in the address are dropped, as Go's net.ParseCIDR does. Throws when invalid. */
export function parseIpv4Cidr(cidr: string): Ipv4Range {
  const parsed = splitCidr(cidr);
  if (!parsed) throw new Error(`invalid service CIDR ${cidr}: want an IPv4 CIDR between /8 and /30`);
  const size = 2 ** (32 - parsed.prefixLength);
  return { cidr, base: parsed.address - (parsed.address % size), size };
}

/** A CIDR whose address must be the network address itself (a node's pod CIDR); undefined when not. */
export function parseCidr(text: string): Cidr | undefined {
  const parsed = splitCidr(text);
  if (!parsed) return undefined;
  if (parsed.address % 2 ** (32 - parsed.prefixLength) !== 0) return undefined;
  return { network: parsed.address, prefixLength: parsed.prefixLength };
}

export function formatCidr(cidr: Cidr): string {
  return `${numberToIpv4(cidr.network)}/${cidr.prefixLength}`;
}

export function cidrContains(cidr: Cidr, address: string): boolean {
  const value = ipv4ToNumber(address);
  if (value === undefined) return false;
  const size = 2 ** (32 - cidr.prefixLength);
  return value >= cidr.network && value < cidr.network + size;
}

/** The offset of `ip` inside the range, or undefined when outside. */
export function offsetInRange(range: Ipv4Range, ip: string): number | undefined {
  const value = ipv4ToNumber(ip);
  if (value === undefined || value < range.base || value >= range.base + range.size) return undefined;
  return value - range.base;
}

export function addressAt(range: Ipv4Range, offset: number): string {
  return numberToIpv4(range.base + offset);
}

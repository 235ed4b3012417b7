/** IPv4 CIDR arithmetic for the service IP range (pure). */

export interface Ipv4Range {
  readonly cidr: string;
  /** The network address as an unsigned 32-bit number. */
  readonly base: number;
  /** Number of addresses, network and broadcast included. */
  readonly size: number;
}

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

export function parseIpv4Cidr(cidr: string): Ipv4Range {
  const [address, bitsText] = cidr.split('/');
  const start = address === undefined ? undefined : ipv4ToNumber(address);
  const bits = Number(bitsText);
  if (start === undefined || !Number.isInteger(bits) || bits < 8 || bits > 30) {
    throw new Error(`invalid service CIDR ${cidr}: want an IPv4 CIDR between /8 and /30`);
  }
  const size = 2 ** (32 - bits);
  return { cidr, base: start - (start % size), size };
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

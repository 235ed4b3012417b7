/**
 * Addresses on a loopback range for the local load balancers and Ingress routers: each owner
 * (`Service/ns/name`, `Ingress/ns/name`) gets the lowest free address, and keeps the one its
 * status already shows across a restart of the host, unless another owner holds it.
 */
import { addressAt, offsetInRange, parseIpv4Cidr } from '../core/ipv4-range.ts';

export interface AddressPool {
  readonly cidr: string;
  /** The owner's address: the one it has, else `previous` if free, else the lowest free one. Throws when the range is full. */
  claim(owner: string, previous?: string): string;
  /** Notes that a status names `ip` for `owner`, so nobody else takes it first. */
  reserve(owner: string, ip: string): void;
  release(owner: string): void;
  addressOf(owner: string): string | undefined;
}

export function createAddressPool(cidr: string): AddressPool {
  const range = parseIpv4Cidr(cidr);
  const held = new Map<string, string>();
  const reserved = new Map<string, string>();
  const usable = (ip: string) => {
    const offset = offsetInRange(range, ip);
    return offset !== undefined && offset > 0 && offset < range.size - 1;
  };
  const free = (ip: string, owner: string) => ![...held.entries()].some(([o, a]) => a === ip && o !== owner) && (reserved.get(ip) ?? owner) === owner;
  return {
    cidr,
    claim(owner, previous) {
      const existing = held.get(owner);
      if (existing) return existing;
      let ip: string | undefined;
      if (previous && usable(previous) && free(previous, owner)) ip = previous;
      for (let offset = 1; !ip && offset < range.size - 1; offset++) {
        const candidate = addressAt(range, offset);
        if (free(candidate, owner)) ip = candidate;
      }
      if (!ip) throw new Error(`no free load balancer address left in ${cidr}`);
      held.set(owner, ip);
      return ip;
    },
    reserve(owner, ip) {
      if (usable(ip) && !reserved.has(ip)) reserved.set(ip, owner);
    },
    release(owner) {
      held.delete(owner);
      for (const [ip, holder] of reserved) if (holder === owner) reserved.delete(ip);
    },
    addressOf(owner) {
      return held.get(owner);
    },
  };
}

/**
 * Which pod has which address on this node, kept in the state dir so that an agent restarted
 * on the same node gives adopted pods the addresses their processes already listen on.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { type Cidr, cidrContains, parseCidr } from '../functions/core/ipv4-range.ts';
import { allocatePodIp } from './pod-cidr.ts';

const fileSchema = z.object({ addresses: z.record(z.string(), z.string()) });

export class PodAddressBook {
  private readonly byUid = new Map<string, string>();
  private readonly cidr: Cidr;
  private readonly path: string | undefined;

  /**
   * `stateDir` undefined keeps the book in memory only, and skips the check for addresses
   * something already listens on: the sim runtime listens nowhere and allocates by the thousand.
   */
  constructor(podCidr: string, stateDir: string | undefined) {
    const cidr = parseCidr(podCidr);
    if (!cidr) throw new Error(`invalid pod CIDR ${JSON.stringify(podCidr)}`);
    this.cidr = cidr;
    this.path = stateDir ? join(stateDir, 'pod-addresses.json') : undefined;
    if (this.path && existsSync(this.path)) {
      const parsed = fileSchema.safeParse(JSON.parse(readFileSync(this.path, 'utf8')));
      if (parsed.success) {
        for (const [uid, address] of Object.entries(parsed.data.addresses)) {
          if (cidrContains(cidr, address)) this.byUid.set(uid, address);
        }
      }
    }
    if (stateDir) mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  }

  allocate(uid: string): string {
    const existing = this.byUid.get(uid);
    if (existing) return existing;
    // Addresses something already listens on (a process left over from an earlier run) are
    // skipped too, so a new pod never shares an address with a stranger.
    const busy = this.path ? listeningAddresses() : [];
    const address = allocatePodIp(this.cidr, new Set([...this.byUid.values(), ...busy]));
    if (!address) throw new Error('no free pod address left in the node pod CIDR');
    this.byUid.set(uid, address);
    this.save();
    return address;
  }

  release(uid: string): void {
    if (this.byUid.delete(uid)) this.save();
  }

  uids(): string[] {
    return [...this.byUid.keys()];
  }

  private save(): void {
    if (!this.path) return;
    const temporary = `${this.path}.tmp`;
    writeFileSync(temporary, JSON.stringify({ addresses: Object.fromEntries(this.byUid) }), { mode: 0o600 });
    renameSync(temporary, this.path);
  }
}

/** IPv4 addresses with a listening TCP socket, from /proc/net/tcp (Linux; empty elsewhere). */
export function listeningAddresses(): Set<string> {
  const addresses = new Set<string>();
  let table: string;
  try {
    table = readFileSync('/proc/net/tcp', 'utf8');
  } catch {
    return addresses;
  }
  for (const line of table.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    const local = fields[1];
    if (!local || fields[3] !== '0A') continue;
    const hex = local.split(':')[0] ?? '';
    if (hex.length !== 8) continue;
    // The kernel prints the address in host byte order: little-endian on x86 and arm64.
    const octets = [6, 4, 2, 0].map((at) => Number.parseInt(hex.slice(at, at + 2), 16));
    addresses.add(octets.join('.'));
  }
  return addresses;
}

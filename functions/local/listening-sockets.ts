/**
 * Which TCP addresses a process listens on, read from Linux's /proc: the process's socket
 * inodes (`/proc/<pid>/fd`) matched against the listening sockets of its network namespace
 * (`/proc/<pid>/net/tcp` and `tcp6`). Used to check, not to trust, that a child such as
 * DynamoDB Local is reachable from loopback only.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export interface ListeningSocket {
  /** `127.0.0.1`, `0.0.0.0`, `::1`, `::`, `::ffff:127.0.0.1`... */
  readonly address: string;
  readonly port: number;
}

const listenState = '0A';

/** The process's listening TCP sockets; undefined when /proc cannot tell (not Linux, or no such process). */
export function listeningSocketsOf(pid: number): ListeningSocket[] | undefined {
  let inodes: Set<string>;
  try {
    inodes = new Set(
      readdirSync(`/proc/${pid}/fd`).flatMap((fd) => {
        try {
          const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
          return match?.[1] ? [match[1]] : [];
        } catch {
          return [];
        }
      }),
    );
  } catch {
    return undefined;
  }
  const sockets: ListeningSocket[] = [];
  for (const table of ['tcp', 'tcp6'] as const) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, 'utf8');
    } catch {
      if (table === 'tcp') return undefined;
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const [local, state, inode] = [fields[1], fields[3], fields[9]];
      if (!local || state !== listenState || !inode || !inodes.has(inode)) continue;
      const [hexAddress, hexPort] = local.split(':');
      if (!hexAddress || !hexPort) continue;
      sockets.push({ address: table === 'tcp' ? ipv4FromProc(hexAddress) : ipv6FromProc(hexAddress), port: Number.parseInt(hexPort, 16) });
    }
  }
  return sockets;
}

/** True for 127.0.0.0/8, ::1 and IPv4-mapped 127.0.0.0/8. */
export function isLoopbackAddress(address: string): boolean {
  if (address === '::1') return true;
  const v4 = address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
  return /^127\.\d+\.\d+\.\d+$/.test(v4);
}

/** /proc writes an IPv4 address as one 32-bit word in host (little-endian) order. */
function ipv4FromProc(hex: string): string {
  const word = Number.parseInt(hex, 16);
  return [word & 0xff, (word >>> 8) & 0xff, (word >>> 16) & 0xff, (word >>> 24) & 0xff].join('.');
}

/** /proc writes an IPv6 address as four 32-bit words, each in host (little-endian) order. */
function ipv6FromProc(hex: string): string {
  const bytes: number[] = [];
  for (let word = 0; word < 4; word++) {
    const chunk = hex.slice(word * 8, word * 8 + 8);
    for (let byte = 3; byte >= 0; byte--) bytes.push(Number.parseInt(chunk.slice(byte * 2, byte * 2 + 2), 16));
  }
  const isMappedV4 = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  if (isMappedV4) return `::ffff:${bytes.slice(12).join('.')}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  const text = groups.join(':');
  // The one compression that matters here: all zeros (`::`) and ::1.
  if (text === '0:0:0:0:0:0:0:0') return '::';
  if (text === '0:0:0:0:0:0:0:1') return '::1';
  return text;
}

/**
 * The local cluster DNS server (kube-dns's job, docs/adr/139): UDP and TCP on one port of
 * 127.0.0.1 only. Pods reach it as the `kube-dns` Service's ClusterIP, which each node's rules
 * send here; names under the cluster domain are answered from the Services and EndpointSlices
 * (`answerClusterQuery`), everything else is forwarded to the host's resolvers. The wire format
 * is the `dns-packet` library's.
 */
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import type { KubeObject } from '../../schemas/meta.ts';
import { types } from '../../schemas/registry.ts';
import { answerClusterQuery, type DnsService } from '../domain/services/cluster-dns-answers.ts';
import type { Log } from '../logging/log.ts';
import { listAll } from '../store/list-all.ts';
import type { ObjectReader } from '../store/store.ts';

/** The Services of a store with their ready endpoints, listed at most once a second. */
export function storeDnsSource(store: ObjectReader): () => Promise<readonly DnsService[]> {
  let cached: { at: number; services: Promise<readonly DnsService[]> } | undefined;
  return () => {
    if (cached && Date.now() - cached.at < 1000) return cached.services;
    const services = (async () => {
      const [serviceObjects, slices] = await Promise.all([listAll(store, types.services), listAll(store, types.endpointslices)]);
      return dnsServices(serviceObjects, slices);
    })();
    cached = { at: Date.now(), services };
    services.catch(() => {
      cached = undefined;
    });
    return services;
  };
}

/** Services and EndpointSlices to what the DNS answers from. */
export function dnsServices(services: readonly KubeObject[], slices: readonly KubeObject[]): DnsService[] {
  const ready = new Map<string, Set<string>>();
  const named = new Map<string, { hostname: string; address: string }[]>();
  for (const slice of slices) {
    const name = slice.metadata.labels?.['kubernetes.io/service-name'];
    if (!name) continue;
    const key = `${slice.metadata.namespace}/${name}`;
    const set = ready.get(key) ?? new Set<string>();
    const hostnames = named.get(key) ?? [];
    for (const endpoint of (slice as { endpoints?: { addresses?: string[]; hostname?: string; conditions?: { ready?: boolean | null } }[] }).endpoints ?? []) {
      if (endpoint.conditions?.ready === false) continue;
      for (const address of endpoint.addresses ?? []) {
        set.add(address);
        if (endpoint.hostname) hostnames.push({ hostname: endpoint.hostname, address });
      }
    }
    ready.set(key, set);
    named.set(key, hostnames);
  }
  return services.map((service) => {
    const spec = (service.spec ?? {}) as {
      clusterIP?: string;
      type?: string;
      externalName?: string;
      ports?: { name?: string; protocol?: string; port: number }[];
    };
    const key = `${service.metadata.namespace}/${service.metadata.name}`;
    return {
      namespace: service.metadata.namespace ?? 'default',
      name: service.metadata.name ?? '',
      ...(spec.type === 'ExternalName' && spec.externalName ? { externalName: spec.externalName } : spec.clusterIP ? { clusterIP: spec.clusterIP } : {}),
      ports: (spec.ports ?? []).map((port) => ({ ...(port.name ? { name: port.name } : {}), protocol: port.protocol ?? 'TCP', port: port.port })),
      endpoints: [...(ready.get(key) ?? [])].sort(),
      ...(named.get(key)?.length ? { hostnames: named.get(key) } : {}),
    };
  });
}

export interface ClusterDnsOptions {
  /** The cluster's Services with their ready endpoints, as fresh as the caller keeps them. */
  readonly services: () => Promise<readonly DnsService[]>;
  /** Resolvers for names outside the cluster. @default the host's /etc/resolv.conf nameservers */
  readonly upstreams?: readonly string[];
  readonly log?: Log;
}

export interface ClusterDns {
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
}

const AUTHORITATIVE = 1 << 10;
const RECURSION_DESIRED = 1 << 8;
const RECURSION_AVAILABLE = 1 << 7;
const rcodes = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3 } as const;

function hostUpstreams(): string[] {
  try {
    return readFileSync('/etc/resolv.conf', 'utf8')
      .split('\n')
      .map((line) => /^\s*nameserver\s+(\S+)/.exec(line)?.[1])
      .filter((server): server is string => server !== undefined && net.isIPv4(server) && !server.startsWith('127.'));
  } catch {
    return [];
  }
}

function forward(query: Buffer, upstream: string | undefined): Promise<Buffer | undefined> {
  if (!upstream) return Promise.resolve(undefined);
  return new Promise((resolvePromise) => {
    const socket = dgram.createSocket('udp4');
    const timer = setTimeout(() => finish(undefined), 2000);
    const finish = (answer: Buffer | undefined) => {
      clearTimeout(timer);
      socket.close();
      resolvePromise(answer);
    };
    socket.on('message', (message) => finish(message));
    socket.on('error', () => finish(undefined));
    socket.send(query, 53, upstream);
  });
}

/** One answer for one query message (the first question decides, as resolvers send one). */
export async function answerMessage(
  query: Buffer,
  options: Pick<ClusterDnsOptions, 'services'> & { upstreams: readonly string[] },
): Promise<Buffer | undefined> {
  let decoded: dnsPacket.Packet;
  try {
    decoded = dnsPacket.decode(query);
  } catch {
    return undefined;
  }
  const question = decoded.questions?.[0];
  const reply = (rcode: number, answers: dnsPacket.Answer[], authoritative: boolean) =>
    dnsPacket.encode({
      type: 'response',
      id: decoded.id ?? 0,
      flags: (authoritative ? AUTHORITATIVE : 0) | ((decoded.flags ?? 0) & RECURSION_DESIRED) | RECURSION_AVAILABLE | rcode,
      questions: decoded.questions ?? [],
      answers,
    });
  if (!question) return reply(rcodes.SERVFAIL, [], false);
  const answer = answerClusterQuery(question.name, question.type, await options.services());
  if ('forward' in answer) {
    const upstream = await forward(query, options.upstreams[0]);
    return upstream ?? reply(rcodes.SERVFAIL, [], false);
  }
  const records = answer.answers.map((record): dnsPacket.Answer => {
    if (record.type === 'SRV') return { type: 'SRV', name: record.name, ttl: record.ttl, class: 'IN', data: { ...record.data } };
    return { type: record.type, name: record.name, ttl: record.ttl, class: 'IN', data: record.data };
  });
  return reply(rcodes[answer.rcode], records, true);
}

export async function startClusterDns(options: ClusterDnsOptions): Promise<ClusterDns> {
  const address = '127.0.0.1';
  const upstreams = options.upstreams ?? hostUpstreams();
  const answer = (query: Buffer) =>
    answerMessage(query, { services: options.services, upstreams }).catch((error: unknown) => {
      options.log?.warn('cluster DNS query failed', { error: error instanceof Error ? error.message : String(error) });
      return undefined;
    });
  // UDP and TCP on one port: take a free UDP port, then the same TCP port (again if it is taken).
  for (let tries = 0; ; tries += 1) {
    const udp = dgram.createSocket('udp4');
    const port = await new Promise<number>((resolvePromise, reject) => {
      udp.once('error', reject);
      udp.bind(0, address, () => resolvePromise(udp.address().port));
    });
    const tcp = net.createServer((socket) => {
      let buffered = Buffer.alloc(0);
      socket.on('error', () => socket.destroy());
      socket.setTimeout(10_000, () => socket.destroy());
      socket.on('data', (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        while (buffered.length >= 2) {
          const length = buffered.readUInt16BE(0);
          if (buffered.length < 2 + length) break;
          const query = buffered.subarray(2, 2 + length);
          buffered = buffered.subarray(2 + length);
          void answer(Buffer.from(query)).then((response) => {
            if (!response || socket.destroyed) return;
            const framed = Buffer.alloc(2 + response.length);
            framed.writeUInt16BE(response.length, 0);
            response.copy(framed, 2);
            socket.write(framed);
          });
        }
      });
    });
    const listening = await new Promise<boolean>((resolvePromise) => {
      tcp.once('error', () => resolvePromise(false));
      tcp.listen(port, address, () => resolvePromise(true));
    });
    if (!listening) {
      udp.close();
      if (tries > 20) throw new Error('no port free for both UDP and TCP on 127.0.0.1 for the cluster DNS');
      continue;
    }
    udp.on('message', (message, remote) => {
      void answer(message).then((response) => {
        if (response) udp.send(response, remote.port, remote.address);
      });
    });
    return {
      address,
      port,
      close: () =>
        new Promise<void>((resolvePromise) => {
          udp.close();
          tcp.close(() => resolvePromise());
        }),
    };
  }
}

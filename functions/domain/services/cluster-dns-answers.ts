/**
 * Cluster DNS answers (kube-dns / CoreDNS's `kubernetes` plugin), pure (docs/adr/139): what a
 * question about a name under the cluster domain gets, from the Services and their ready
 * endpoints. Names outside the cluster domain are the server's to forward.
 *
 * - `<svc>.<ns>.svc.<domain>` A: the ClusterIP; a headless Service: its ready endpoints' IPs.
 * - ExternalName: a CNAME to the external name, whatever the type asked.
 * - `_<port>._<proto>.<svc>.<ns>.svc.<domain>` SRV: one record per named port (priority 0,
 *   weight 100), pointing at the Service's name.
 * - `<hostname>.<svc>.<ns>.svc.<domain>` A: a headless Service's ready endpoint of that hostname
 *   (a pod whose `subdomain` is the Service, a StatefulSet's pods), as CoreDNS answers it.
 * - `<a-b-c-d>.<ns>.pod.<domain>` A: the address written in the name, as CoreDNS's `pods insecure`.
 * - AAAA of a name that exists: no data (the cluster is IPv4 only); anything else in the domain:
 *   NXDOMAIN.
 */
export const clusterDomainName = 'cluster.local';
export const dnsTtlSeconds = 5;

export interface DnsServicePort {
  readonly name?: string;
  readonly protocol: string;
  readonly port: number;
}

export interface DnsService {
  readonly namespace: string;
  readonly name: string;
  /** An address, `None` (headless), or absent for ExternalName. */
  readonly clusterIP?: string;
  readonly externalName?: string;
  readonly ports: readonly DnsServicePort[];
  /** Ready endpoint addresses (headless Services answer with these). */
  readonly endpoints: readonly string[];
  /** Ready endpoints with a hostname (pods whose subdomain is this Service): `<hostname>.<svc>.<ns>.svc` names. */
  readonly hostnames?: readonly { readonly hostname: string; readonly address: string }[];
}

export type DnsRecord =
  | { readonly type: 'A'; readonly name: string; readonly ttl: number; readonly data: string }
  | { readonly type: 'CNAME'; readonly name: string; readonly ttl: number; readonly data: string }
  | {
      readonly type: 'SRV';
      readonly name: string;
      readonly ttl: number;
      readonly data: { readonly priority: number; readonly weight: number; readonly port: number; readonly target: string };
    };

export type DnsAnswer = { readonly rcode: 'NOERROR' | 'NXDOMAIN'; readonly answers: readonly DnsRecord[] } | { readonly forward: true };

const ipv4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function answerClusterQuery(name: string, type: string, services: readonly DnsService[], domain = clusterDomainName): DnsAnswer {
  const lower = name.toLowerCase().replace(/\.$/, '');
  if (lower !== domain && !lower.endsWith(`.${domain}`)) return { forward: true };
  const labels = lower === domain ? [] : lower.slice(0, -domain.length - 1).split('.');
  const nxdomain: DnsAnswer = { rcode: 'NXDOMAIN', answers: [] };
  const nodata: DnsAnswer = { rcode: 'NOERROR', answers: [] };
  const last = labels[labels.length - 1];
  if (last === 'pod' && labels.length === 3) {
    const [dashed, namespace] = labels;
    const address = dashed?.replaceAll('-', '.') ?? '';
    if (!namespace || !ipv4.test(address)) return nxdomain;
    return type === 'A' ? { rcode: 'NOERROR', answers: [{ type: 'A', name: lower, ttl: dnsTtlSeconds, data: address }] } : nodata;
  }
  if (last !== 'svc') return labels.length <= 2 ? nodata : nxdomain;
  const find = (svc: string | undefined, namespace: string | undefined) => services.find((service) => service.name === svc && service.namespace === namespace);
  if (labels.length === 3) {
    const [svc, namespace] = labels;
    const service = find(svc, namespace);
    if (!service) return nxdomain;
    if (service.externalName) return { rcode: 'NOERROR', answers: [{ type: 'CNAME', name: lower, ttl: dnsTtlSeconds, data: service.externalName }] };
    if (type === 'SRV') return { rcode: 'NOERROR', answers: srvRecords(lower, service, lower) };
    if (type !== 'A') return nodata;
    const addresses = service.clusterIP && service.clusterIP !== 'None' ? [service.clusterIP] : [...service.endpoints];
    return { rcode: 'NOERROR', answers: addresses.map((data) => ({ type: 'A', name: lower, ttl: dnsTtlSeconds, data })) };
  }
  if (labels.length === 4 && !labels[0]?.startsWith('_')) {
    const [hostname, svc, namespace] = labels;
    const service = find(svc, namespace);
    if (service?.clusterIP !== 'None') return nxdomain;
    const addresses = (service.hostnames ?? []).filter((entry) => entry.hostname === hostname).map((entry) => entry.address);
    if (addresses.length === 0) return nxdomain;
    return type === 'A' ? { rcode: 'NOERROR', answers: addresses.map((data) => ({ type: 'A', name: lower, ttl: dnsTtlSeconds, data })) } : nodata;
  }
  if (labels.length === 5 && labels[0]?.startsWith('_') && labels[1]?.startsWith('_')) {
    const [portLabel, protoLabel, svc, namespace] = labels;
    const service = find(svc, namespace);
    if (!service) return nxdomain;
    const target = `${svc}.${namespace}.svc.${domain}`;
    const matching = service.ports.filter((port) => port.name && `_${port.name}` === portLabel && `_${port.protocol.toLowerCase()}` === protoLabel);
    if (matching.length === 0) return nxdomain;
    return type === 'SRV' ? { rcode: 'NOERROR', answers: matching.map((port) => srvRecord(lower, port.port, target)) } : nodata;
  }
  // `<ns>.svc.<domain>` and `svc.<domain>` exist as names without records.
  return labels.length <= 2 ? nodata : nxdomain;
}

function srvRecord(name: string, port: number, target: string): DnsRecord {
  return { type: 'SRV', name, ttl: dnsTtlSeconds, data: { priority: 0, weight: 100, port, target } };
}

function srvRecords(name: string, service: DnsService, target: string): DnsRecord[] {
  return service.ports.filter((port) => port.name).map((port) => srvRecord(name, port.port, target));
}

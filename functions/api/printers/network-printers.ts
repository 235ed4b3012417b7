/**
 * `kubectl get services | endpoints | endpointslices | ingresses | networkpolicies`: ports like `80:30942/TCP`,
 * EXTERNAL-IP `<none>` / `<pending>` / the load balancer's address, and endpoint lists capped
 * at three entries with `+ N more...`, as kube-apiserver prints them.
 */
import { isIPv6 } from 'node:net';
import type { KubeObject } from '../../../schemas/meta.ts';
import { ageSince } from './human-duration.ts';
import { ageColumn, column, type KindPrinter, nameColumn, nameOf, wide } from './kind-printer.ts';
import { formatLabelSelector, formatLabels } from './label-text.ts';
import { at, type Fields, integer, list, optionalText, records, strings, text } from './object-fields.ts';

/** Most entries an address column lists before it summarises the rest. */
const shownEntries = 3;

/** Addresses of a LoadBalancer status: IP, else hostname, deduplicated and sorted. */
function loadBalancerAddresses(loadBalancer: unknown): string {
  const addresses = new Set<string>();
  for (const ingress of records(at(loadBalancer, 'ingress'))) {
    const address = text(ingress.ip) || text(ingress.hostname);
    if (address) addresses.add(address);
  }
  return [...addresses].sort().join(',');
}

function serviceExternalIp(service: KubeObject): string {
  const externalIPs = strings(at(service, 'spec', 'externalIPs'));
  switch (text(at(service, 'spec', 'type'))) {
    case 'ClusterIP':
    case 'NodePort':
      return externalIPs.length > 0 ? externalIPs.join(',') : '<none>';
    case 'LoadBalancer': {
      const balancer = loadBalancerAddresses(at(service, 'status', 'loadBalancer'));
      const all = [...(balancer ? balancer.split(',') : []), ...externalIPs];
      return all.length > 0 ? all.join(',') : '<pending>';
    }
    case 'ExternalName':
      return text(at(service, 'spec', 'externalName'));
    default:
      return '<unknown>';
  }
}

function servicePorts(ports: readonly Fields[]): string {
  return ports
    .map((port) => {
      const protocol = text(port.protocol) || 'TCP';
      const nodePort = integer(port.nodePort);
      return nodePort > 0 ? `${integer(port.port)}:${nodePort}/${protocol}` : `${integer(port.port)}/${protocol}`;
    })
    .join(',');
}

export const servicePrinter: KindPrinter = {
  columns: [
    nameColumn,
    column('Type', 'How the service is exposed: ClusterIP, NodePort, LoadBalancer or ExternalName.'),
    column('Cluster-IP', 'The IP address of the service inside the cluster.'),
    column('External-IP', 'Addresses outside the cluster the service is reachable on.'),
    column('Port(s)', 'The ports the service exposes.'),
    ageColumn,
    wide('Selector', 'Labels of the pods the service routes traffic to.'),
  ],
  print(service, now) {
    const spec = at(service, 'spec');
    const clusterIp = strings(at(spec, 'clusterIPs'))[0] ?? (optionalText(at(spec, 'clusterIP')) || '<none>');
    const ports = servicePorts(records(at(spec, 'ports')));
    return {
      cells: [
        nameOf(service),
        text(at(spec, 'type')),
        clusterIp,
        serviceExternalIp(service),
        ports || '<none>',
        ageSince(service.metadata.creationTimestamp, now),
        formatLabels(at(spec, 'selector')),
      ],
    };
  },
};

function hostPort(ip: string, port: number): string {
  return isIPv6(ip) ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** `10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 2 more...`; `<none>` without subsets. */
export function formatEndpoints(endpoints: KubeObject): string {
  const subsets = records(at(endpoints, 'subsets'));
  if (subsets.length === 0) return '<none>';
  const shown: string[] = [];
  let more = false;
  let count = 0;
  for (const subset of subsets) {
    const addresses = records(subset.addresses).map((address) => text(address.ip));
    const ports = records(subset.ports);
    // Headless services may have no ports: list the bare addresses.
    const entries = ports.length === 0 ? [addresses] : ports.map((port) => addresses.map((ip) => hostPort(ip, integer(port.port))));
    for (const group of entries) {
      count += group.length;
      for (const entry of group) {
        if (shown.length === shownEntries) {
          more = true;
          break;
        }
        shown.push(entry);
      }
    }
  }
  const joined = shown.join(',');
  return more ? `${joined} + ${count - shownEntries} more...` : joined;
}

export const endpointsPrinter: KindPrinter = {
  columns: [nameColumn, column('Endpoints', 'The addresses and ports backing the service.'), ageColumn],
  print(endpoints, now) {
    return { cells: [nameOf(endpoints), formatEndpoints(endpoints), ageSince(endpoints.metadata.creationTimestamp, now)] };
  },
};

function cappedList(entries: readonly string[]): string {
  const shown = entries.slice(0, shownEntries).join(',');
  if (entries.length > shownEntries) return `${shown} + ${entries.length - shownEntries} more...`;
  return shown || '<unset>';
}

export const endpointSlicePrinter: KindPrinter = {
  columns: [
    nameColumn,
    column('AddressType', 'The type of address the slice carries: IPv4, IPv6 or FQDN.'),
    column('Ports', 'The ports exposed by the endpoints of the slice.'),
    column('Endpoints', 'The addresses of the endpoints in the slice.'),
    ageColumn,
  ],
  print(slice, now) {
    const ports = records(at(slice, 'ports')).map((port) => (typeof port.port === 'number' ? String(integer(port.port)) : (optionalText(port.name) ?? '*')));
    const addresses = records(at(slice, 'endpoints')).flatMap((endpoint) => strings(endpoint.addresses));
    return {
      cells: [nameOf(slice), text(at(slice, 'addressType')), cappedList(ports), cappedList(addresses), ageSince(slice.metadata.creationTimestamp, now)],
    };
  },
};

/** The first three named rule hosts, `*` when no rule names one. */
function ingressHosts(rules: readonly Fields[]): string {
  const hosts: string[] = [];
  let more = false;
  for (const rule of rules) {
    if (hosts.length === shownEntries) {
      more = true;
      break;
    }
    const host = text(rule.host);
    if (host) hosts.push(host);
  }
  if (hosts.length === 0) return '*';
  const joined = hosts.join(',');
  return more ? `${joined} + ${rules.length - shownEntries} more...` : joined;
}

export const ingressPrinter: KindPrinter = {
  columns: [
    nameColumn,
    column('Class', 'The name of the IngressClass that handles this ingress.'),
    column('Hosts', 'Hosts that incoming requests are matched against before the ingress rule'),
    column('Address', 'Addresses of the load balancer serving this ingress.'),
    column('Ports', 'Ports the ingress listens on: 80, and 443 with TLS.'),
    ageColumn,
  ],
  print(ingress, now) {
    const spec = at(ingress, 'spec');
    return {
      cells: [
        nameOf(ingress),
        optionalText(at(spec, 'ingressClassName')) ?? '<none>',
        ingressHosts(records(at(spec, 'rules'))),
        loadBalancerAddresses(at(ingress, 'status', 'loadBalancer')),
        list(at(spec, 'tls')).length > 0 ? '80, 443' : '80',
        ageSince(ingress.metadata.creationTimestamp, now),
      ],
    };
  },
};

/** `Kind.group/name` of an IngressClass's parameters, as kubectl prints them. */
function ingressClassParameters(parameters: unknown): string {
  const kind = optionalText(at(parameters, 'kind'));
  if (!kind) return '<none>';
  const group = optionalText(at(parameters, 'apiGroup'));
  return `${group ? `${kind}.${group}` : kind}/${text(at(parameters, 'name'))}`;
}

export const ingressClassPrinter: KindPrinter = {
  columns: [
    nameColumn,
    column('Controller', 'The controller that is supposed to handle ingresses of this class.'),
    column('Parameters', 'A reference to a resource with additional parameters.'),
    ageColumn,
  ],
  print(ingressClass, now) {
    return {
      cells: [
        nameOf(ingressClass),
        text(at(ingressClass, 'spec', 'controller')),
        ingressClassParameters(at(ingressClass, 'spec', 'parameters')),
        ageSince(ingressClass.metadata.creationTimestamp, now),
      ],
    };
  },
};

/** `kubectl get networkpolicies`: the pod selector as selector text, `<none>` when it selects every pod. */
export const networkPolicyPrinter: KindPrinter = {
  columns: [
    nameColumn,
    column(
      'Pod-Selector',
      "podSelector selects the pods to which this NetworkPolicy object applies. An empty selector matches all pods in the policy's namespace.",
    ),
    ageColumn,
  ],
  print(policy, now) {
    return {
      cells: [nameOf(policy), formatLabelSelector(at(policy, 'spec', 'podSelector')) || '<none>', ageSince(policy.metadata.creationTimestamp, now)],
    };
  },
};

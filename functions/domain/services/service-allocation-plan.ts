/**
 * What a Service create or update must allocate: the pure half of service allocation.
 * It decides, from the new and old Service, which ClusterIP and NodePorts are kept, which are
 * requested and which must be picked at random, and which requests are invalid — the way the
 * kube-apiserver's service REST strategy does (`patchAllocatedValues`, type transitions, ranges).
 * Claiming the values in the store is `service-allocation.ts`.
 */

import type { KubeObject } from '../../../schemas/meta.ts';
import type { StatusCause } from '../../core/errors.ts';
import { addressAt, type Ipv4Range, ipv4ToNumber, offsetInRange, parseIpv4Cidr } from '../../core/ipv4-range.ts';
import { needsNodePorts, type ServicePort, type ServiceSpec, serviceSpecSchema, serviceType } from './service-view.ts';

export interface NodePortRange {
  readonly min: number;
  readonly max: number;
}

export interface ServiceAllocationOptions {
  /** Default 10.96.0.0/12 (10.96.0.1 is left for the `kubernetes` Service). */
  readonly serviceCidr?: string;
  /** Default 30000–32767. */
  readonly nodePortRange?: NodePortRange;
  /** A source of numbers in [0, 1) for random picks; tests pass a seeded one. */
  readonly random?: () => number;
}

export const defaultServiceCidr = '10.96.0.0/12';

/**
 * What is wrong with a service range (`--service-cidr`, kube-apiserver's
 * `--service-cluster-ip-range`), in kube-apiserver's words, or undefined when it is usable.
 * IPv4 only; at most /12 (kube-apiserver caps the range at 20 host bits) and at least /28: the
 * cluster DNS Service takes the tenth address, so the 8 addresses kube-apiserver itself accepts
 * (a /29) would leave it outside the range.
 */
export function serviceCidrProblem(cidr: string): string | undefined {
  const match = /^([^/]+)\/(\d{1,3})$/.exec(cidr.trim());
  const address = match?.[1] ?? '';
  const prefixLength = Number(match?.[2]);
  if (!match || ipv4ToNumber(address) === undefined || prefixLength > 32) {
    return address.includes(':')
      ? `service-cluster-ip-range[0] ${JSON.stringify(cidr)} is an IPv6 range: Skiff serves IPv4 service ranges only`
      : `service-cluster-ip-range[0] ${JSON.stringify(cidr)} is not a valid cidr`;
  }
  if (prefixLength < 12) return 'specified --service-cluster-ip-range is too large; for 32-bit addresses, the mask must be >= 12';
  if (prefixLength > 28) {
    return 'the service cluster IP range must be at least 16 IP addresses (a /28): the cluster DNS Service takes its tenth address';
  }
  return undefined;
}

/** The kube-dns Service's ClusterIP: the tenth address of the service range, as kubeadm gives it. */
export function clusterDnsServiceIp(serviceCidr: string = defaultServiceCidr): string {
  return addressAt(parseIpv4Cidr(serviceCidr), 10);
}

/** The first address of the service range: the `kubernetes` Service's, as kube-apiserver gives it. */
export function kubernetesServiceIp(serviceCidr: string = defaultServiceCidr): string {
  return addressAt(parseIpv4Cidr(serviceCidr), 1);
}
export const defaultNodePortRange: NodePortRange = { min: 30000, max: 32767 };

export type IpDecision =
  | { readonly kind: 'none' }
  | { readonly kind: 'headless' }
  | { readonly kind: 'keep'; readonly ip: string }
  | { readonly kind: 'request'; readonly ip: string }
  | { readonly kind: 'random' };

export type NodePortDecision =
  | { readonly kind: 'none' }
  | { readonly kind: 'keep'; readonly nodePort: number }
  | { readonly kind: 'request'; readonly nodePort: number }
  | { readonly kind: 'random' };

export interface ServiceAllocationPlan {
  readonly ip: IpDecision;
  /** One decision per entry of `spec.ports`, same order. */
  readonly ports: readonly NodePortDecision[];
  /** Invalid requests; non-empty means the write must be refused with 422. */
  readonly causes: readonly StatusCause[];
}

export interface ResolvedRanges {
  readonly ips: Ipv4Range;
  readonly nodePorts: NodePortRange;
}

export function resolveRanges(options: ServiceAllocationOptions = {}): ResolvedRanges {
  return { ips: parseIpv4Cidr(options.serviceCidr ?? defaultServiceCidr), nodePorts: options.nodePortRange ?? defaultNodePortRange };
}

export function nodePortRangeText(range: NodePortRange): string {
  return `${range.min}-${range.max}`;
}

function specOf(object: KubeObject | undefined): ServiceSpec | undefined {
  if (!object) return undefined;
  const parsed = serviceSpecSchema.safeParse(object.spec ?? {});
  return parsed.success ? parsed.data : undefined;
}

function requestedIp(spec: ServiceSpec): string {
  return spec.clusterIP || spec.clusterIPs?.[0] || '';
}

/** The ClusterIP a stored Service holds in the allocator: undefined for none / headless. */
export function heldIp(spec: ServiceSpec | undefined): string | undefined {
  if (!spec || serviceType(spec) === 'ExternalName') return undefined;
  const ip = requestedIp(spec);
  return ip && ip !== 'None' ? ip : undefined;
}

/** The NodePorts a stored Service holds. */
export function heldNodePorts(spec: ServiceSpec | undefined): number[] {
  if (!spec || !portsMayHoldNodePorts(spec)) return [];
  return [...new Set((spec.ports ?? []).map((p) => p.nodePort ?? 0).filter((n) => n > 0))];
}

function portsMayHoldNodePorts(spec: ServiceSpec): boolean {
  return needsNodePorts(spec) || serviceType(spec) === 'LoadBalancer';
}

function protocolOf(port: ServicePort): string {
  return port.protocol ?? 'TCP';
}

export function planServiceAllocation(service: KubeObject, old: KubeObject | undefined, ranges: ResolvedRanges): ServiceAllocationPlan {
  const spec = serviceSpecSchema.parse(service.spec ?? {});
  const oldSpec = specOf(old);
  const causes: StatusCause[] = [];
  const ip = planIp(spec, oldSpec, ranges.ips, causes);
  const ports = planNodePorts(spec, oldSpec, ranges.nodePorts, causes);
  return { ip, ports, causes };
}

function planIp(spec: ServiceSpec, oldSpec: ServiceSpec | undefined, range: Ipv4Range, causes: StatusCause[]): IpDecision {
  const type = serviceType(spec);
  if (type === 'ExternalName') return { kind: 'none' };
  const requested = requestedIp(spec);
  const oldHadIp = oldSpec !== undefined && serviceType(oldSpec) !== 'ExternalName' && requestedIp(oldSpec) !== '';
  if (oldHadIp) {
    const oldIp = requestedIp(oldSpec);
    if (requested !== '' && requested !== oldIp) {
      causes.push({ field: 'spec.clusterIPs[0]', message: `Invalid value: []string{"${requested}"}: may not change once set` });
      return { kind: 'none' };
    }
    return oldIp === 'None' ? { kind: 'headless' } : { kind: 'keep', ip: oldIp };
  }
  if (requested === 'None') {
    if (type === 'NodePort' || type === 'LoadBalancer') {
      causes.push({ field: 'spec.clusterIP', message: `Invalid value: "None": may not be set to 'None' for ${type} services` });
    }
    return { kind: 'headless' };
  }
  if (requested === '') return { kind: 'random' };
  const offset = offsetInRange(range, requested);
  if (offset === undefined || offset === 0 || offset === range.size - 1) {
    const valid = /^\d{1,3}(\.\d{1,3}){3}$/.test(requested);
    causes.push(
      valid
        ? {
            field: 'spec.clusterIPs',
            message: `Invalid value: []string{"${requested}"}: failed to allocate IP ${requested}: the provided IP (${requested}) is not in the valid range. The range of valid IPs is ${range.cidr}`,
          }
        : { field: 'spec.clusterIPs[0]', message: `Invalid value: "${requested}": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)` },
    );
    return { kind: 'none' };
  }
  return { kind: 'request', ip: requested };
}

function planNodePorts(spec: ServiceSpec, oldSpec: ServiceSpec | undefined, range: NodePortRange, causes: StatusCause[]): NodePortDecision[] {
  const ports = spec.ports ?? [];
  const type = serviceType(spec);
  const wantsAll = needsNodePorts(spec);
  const oldHeld = new Set(heldNodePorts(oldSpec));
  const oldPorts = oldSpec && portsMayHoldNodePorts(oldSpec) ? (oldSpec.ports ?? []) : [];
  const typeChanged = oldSpec !== undefined && serviceType(oldSpec) !== type;
  const seen = new Map<string, number>();
  return ports.map((port, index): NodePortDecision => {
    const field = `spec.ports[${index}].nodePort`;
    const requested = port.nodePort ?? 0;
    if (!wantsAll && !(type === 'LoadBalancer' && requested > 0)) {
      if (requested > 0 && !typeChanged) {
        causes.push({ field, message: `Forbidden: may not be used when \`type\` is '${type}'`, reason: 'FieldValueForbidden' });
      }
      return { kind: 'none' };
    }
    if (requested > 0) {
      const key = `${protocolOf(port)}/${requested}`;
      if (seen.has(key)) {
        causes.push({ field, message: `Duplicate value: ${requested}`, reason: 'FieldValueDuplicate' });
        return { kind: 'none' };
      }
      seen.set(key, index);
      if (oldHeld.has(requested)) return { kind: 'keep', nodePort: requested };
      if (requested < range.min || requested > range.max) {
        causes.push({
          field,
          message: `Invalid value: ${requested}: provided port is not in the valid range. The range of valid ports is ${nodePortRangeText(range)}`,
        });
        return { kind: 'none' };
      }
      return { kind: 'request', nodePort: requested };
    }
    const previous = oldPorts.find((p) => p.port === port.port && protocolOf(p) === protocolOf(port) && (p.nodePort ?? 0) > 0);
    if (previous?.nodePort) return { kind: 'keep', nodePort: previous.nodePort };
    return { kind: 'random' };
  });
}

/** The Service with its allocated values written in (a new object; the input is not touched). */
export function applyAllocation(service: KubeObject, ip: string | 'None' | undefined, nodePorts: readonly (number | undefined)[]): KubeObject {
  const spec = { ...((service.spec as Record<string, unknown> | undefined) ?? {}) };
  if (ip === undefined) {
    delete spec.clusterIP;
    delete spec.clusterIPs;
    if (spec.type === 'ExternalName') {
      delete spec.ipFamilies;
      delete spec.ipFamilyPolicy;
    }
  } else {
    spec.clusterIP = ip;
    spec.clusterIPs = [ip];
    spec.ipFamilies ??= ['IPv4'];
    spec.ipFamilyPolicy ??= 'SingleStack';
  }
  const ports = Array.isArray(spec.ports) ? (spec.ports as Record<string, unknown>[]) : undefined;
  if (ports) {
    spec.ports = ports.map((port, index) => {
      const nodePort = nodePorts[index];
      const { nodePort: _dropped, ...rest } = port;
      return nodePort ? { ...rest, nodePort } : rest;
    });
  }
  return { ...service, spec };
}

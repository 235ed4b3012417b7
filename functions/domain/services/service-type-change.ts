/**
 * What a Service keeps when its `type` changes, as kube-apiserver's service strategy decides it
 * on an update (`dropTypeDependentFields`): fields the new type has no use for, that were
 * allocated or defaulted and that the user left as they were, are dropped, so
 * `kubectl patch svc web -p '{"spec":{"type":"ClusterIP"}}'` is accepted and frees the NodePorts.
 * A field the user changed as well is kept, and validation judges it.
 */
import type { KubeObject } from '../../../schemas/meta.ts';
import { sameJson } from '../../../schemas/structural-equality.ts';

interface Port {
  readonly nodePort?: number;
  readonly [field: string]: unknown;
}
interface Spec {
  readonly type?: string;
  readonly clusterIP?: string;
  readonly clusterIPs?: readonly string[];
  readonly ipFamilies?: readonly string[];
  readonly ipFamilyPolicy?: string;
  readonly ports?: readonly Port[];
  readonly healthCheckNodePort?: number;
  readonly externalTrafficPolicy?: string;
  readonly allocateLoadBalancerNodePorts?: boolean;
  readonly loadBalancerClass?: string;
  readonly [field: string]: unknown;
}

const typeOf = (spec: Spec) => spec.type ?? 'ClusterIP';
const needsClusterIp = (spec: Spec) => typeOf(spec) !== 'ExternalName';
const needsNodePorts = (spec: Spec) => typeOf(spec) === 'NodePort' || typeOf(spec) === 'LoadBalancer';
const needsHealthCheckNodePort = (spec: Spec) => typeOf(spec) === 'LoadBalancer' && spec.externalTrafficPolicy === 'Local';
const nodePortsOf = (spec: Spec) => new Set((spec.ports ?? []).map((p) => p.nodePort ?? 0).filter((n) => n !== 0));

function without(spec: Spec, ...fields: string[]): Spec {
  const next: Record<string, unknown> = { ...spec };
  for (const field of fields) delete next[field];
  return next as Spec;
}

/** `service` with what its new type drops; `old` is the stored Service it replaces. */
export function dropTypeDependentFields(service: KubeObject, old: KubeObject): KubeObject {
  const before = (old.spec ?? {}) as Spec;
  let spec = (service.spec ?? {}) as Spec;
  if (needsClusterIp(before) && !needsClusterIp(spec)) {
    if (spec.clusterIP === before.clusterIP && sameJson(spec.clusterIPs, before.clusterIPs)) spec = without(spec, 'clusterIP', 'clusterIPs');
    if (sameJson(spec.ipFamilies, before.ipFamilies)) spec = without(spec, 'ipFamilies');
    if (spec.ipFamilyPolicy === before.ipFamilyPolicy) spec = without(spec, 'ipFamilyPolicy');
  }
  if (needsNodePorts(before) && !needsNodePorts(spec)) {
    const held = nodePortsOf(before);
    if ([...nodePortsOf(spec)].every((port) => held.has(port))) {
      spec = { ...spec, ports: (spec.ports ?? []).map((port) => without(port as Spec, 'nodePort') as Port) };
    }
  }
  if (needsHealthCheckNodePort(before) && !needsHealthCheckNodePort(spec) && spec.healthCheckNodePort === before.healthCheckNodePort) {
    spec = without(spec, 'healthCheckNodePort');
  }
  if (typeOf(before) === 'LoadBalancer' && typeOf(spec) !== 'LoadBalancer') {
    if (spec.allocateLoadBalancerNodePorts !== undefined && spec.allocateLoadBalancerNodePorts === before.allocateLoadBalancerNodePorts) {
      spec = without(spec, 'allocateLoadBalancerNodePorts');
    }
    if (spec.loadBalancerClass === before.loadBalancerClass) spec = without(spec, 'loadBalancerClass');
  }
  if (needsNodePorts(before) && !needsNodePorts(spec) && spec.externalTrafficPolicy === before.externalTrafficPolicy) {
    spec = without(spec, 'externalTrafficPolicy');
  }
  return spec === service.spec ? service : { ...service, spec };
}

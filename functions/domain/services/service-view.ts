/**
 * The few fields of Services, Pods and Endpoints that allocation, the endpoints controller and
 * the proxies read, parsed with zod at the boundary (objects arrive from the store or the wire
 * as `KubeObject`). Loose objects: every other field passes through untouched.
 */
import { z } from 'zod';
import type { KubeObject } from '../../../schemas/meta.ts';
import type { Backend } from '../../net/tcp-listeners.ts';

const intOrString = z.union([z.number().int(), z.string()]);

export const servicePortSchema = z.looseObject({
  name: z.string().optional(),
  protocol: z.string().optional(),
  port: z.number().int(),
  targetPort: intOrString.optional(),
  nodePort: z.number().int().optional(),
});
export type ServicePort = z.infer<typeof servicePortSchema>;

export const serviceSpecSchema = z.looseObject({
  type: z.string().optional(),
  clusterIP: z.string().optional(),
  clusterIPs: z.array(z.string()).optional(),
  selector: z.record(z.string(), z.string()).nullish(),
  ports: z.array(servicePortSchema).nullish(),
  externalName: z.string().optional(),
  publishNotReadyAddresses: z.boolean().optional(),
  allocateLoadBalancerNodePorts: z.boolean().optional(),
});
export type ServiceSpec = z.infer<typeof serviceSpecSchema>;

export type ServiceType = 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';

export interface ServiceView {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string | undefined;
  readonly type: ServiceType;
  readonly spec: ServiceSpec;
  readonly ports: readonly ServicePort[];
  readonly selector: Readonly<Record<string, string>> | undefined;
}

export function serviceType(spec: ServiceSpec): ServiceType {
  const type = spec.type ?? 'ClusterIP';
  return type === 'NodePort' || type === 'LoadBalancer' || type === 'ExternalName' ? type : 'ClusterIP';
}

export function viewService(service: KubeObject): ServiceView {
  const spec = serviceSpecSchema.parse(service.spec ?? {});
  const selector = spec.selector ?? undefined;
  return {
    namespace: service.metadata.namespace ?? 'default',
    name: service.metadata.name ?? '',
    uid: service.metadata.uid,
    type: serviceType(spec),
    spec,
    ports: spec.ports ?? [],
    selector: selector && Object.keys(selector).length > 0 ? selector : undefined,
  };
}

/** True for the types that get a NodePort on each port (LoadBalancer unless it opts out). */
export function needsNodePorts(spec: ServiceSpec): boolean {
  const type = serviceType(spec);
  return type === 'NodePort' || (type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts !== false);
}

const containerPortSchema = z.looseObject({
  name: z.string().optional(),
  containerPort: z.number().int(),
  protocol: z.string().optional(),
});

const podSchema = z.looseObject({
  spec: z
    .looseObject({
      nodeName: z.string().optional(),
      hostname: z.string().optional(),
      subdomain: z.string().optional(),
      containers: z.array(z.looseObject({ ports: z.array(containerPortSchema).optional() })).optional(),
      tolerations: z
        .array(
          z.looseObject({
            key: z.string().optional(),
            operator: z.string().optional(),
            value: z.string().optional(),
            effect: z.string().optional(),
            tolerationSeconds: z.number().int().nullish(),
          }),
        )
        .nullish(),
    })
    .optional(),
  status: z
    .looseObject({
      phase: z.string().optional(),
      podIP: z.string().optional(),
      conditions: z.array(z.looseObject({ type: z.string(), status: z.string() })).optional(),
    })
    .optional(),
});

export type PodToleration = NonNullable<NonNullable<z.infer<typeof podSchema>['spec']>['tolerations']>[number];

export interface PodView {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string | undefined;
  readonly labels: Readonly<Record<string, string>>;
  readonly nodeName: string | undefined;
  readonly podIP: string | undefined;
  readonly phase: string | undefined;
  readonly ready: boolean;
  readonly terminating: boolean;
  readonly containerPorts: readonly z.infer<typeof containerPortSchema>[];
  readonly tolerations: readonly PodToleration[];
  /** `spec.hostname` and `spec.subdomain`: a headless Service named as the subdomain gives the pod a DNS name. */
  readonly hostname: string | undefined;
  readonly subdomain: string | undefined;
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

export function viewPod(pod: KubeObject): PodView {
  const parsed = podSchema.parse({ spec: pod.spec, status: pod.status });
  return {
    namespace: pod.metadata.namespace ?? 'default',
    name: pod.metadata.name ?? '',
    uid: pod.metadata.uid,
    labels: pod.metadata.labels ?? {},
    nodeName: parsed.spec?.nodeName,
    podIP: parsed.status?.podIP || undefined,
    phase: parsed.status?.phase,
    ready: parsed.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    terminating: pod.metadata.deletionTimestamp !== undefined,
    containerPorts: (parsed.spec?.containers ?? []).flatMap((c) => c.ports ?? []),
    tolerations: parsed.spec?.tolerations ?? [],
    hostname: nonEmpty((pod.spec as { hostname?: unknown } | undefined)?.hostname),
    subdomain: nonEmpty((pod.spec as { subdomain?: unknown } | undefined)?.subdomain),
  };
}

/** The container port a service port sends to on this pod, or undefined when a named port is missing. */
export function resolveTargetPort(port: ServicePort, pod: Pick<PodView, 'containerPorts'>): number | undefined {
  const target = port.targetPort;
  if (target === undefined || target === 0 || target === '') return port.port;
  if (typeof target === 'number') return target;
  if (/^\d+$/.test(target)) return Number(target);
  const protocol = port.protocol ?? 'TCP';
  return pod.containerPorts.find((c) => c.name === target && (c.protocol ?? 'TCP') === protocol)?.containerPort;
}

const endpointAddressSchema = z.looseObject({ ip: z.string(), nodeName: z.string().optional() });
const endpointsSchema = z.looseObject({
  subsets: z
    .array(
      z.looseObject({
        addresses: z.array(endpointAddressSchema).optional(),
        notReadyAddresses: z.array(endpointAddressSchema).optional(),
        ports: z.array(z.looseObject({ name: z.string().optional(), port: z.number().int(), protocol: z.string().optional() })).optional(),
      }),
    )
    .nullish(),
});

/**
 * The ready backends of each service port, keyed by the service port's name ('' when unnamed),
 * as the Endpoints object lists them (its ports carry the service port names).
 */
export function readyBackendsByPortName(endpoints: KubeObject | undefined): ReadonlyMap<string, readonly Backend[]> {
  const result = new Map<string, Backend[]>();
  if (!endpoints) return result;
  const parsed = endpointsSchema.safeParse({ subsets: endpoints.subsets });
  if (!parsed.success) return result;
  for (const subset of parsed.data.subsets ?? []) {
    for (const port of subset.ports ?? []) {
      if ((port.protocol ?? 'TCP') !== 'TCP') continue;
      const key = port.name ?? '';
      const list = result.get(key) ?? [];
      for (const address of subset.addresses ?? []) list.push({ ip: address.ip, port: port.port });
      result.set(key, list);
    }
  }
  for (const list of result.values()) list.sort((a, b) => (a.ip === b.ip ? a.port - b.port : a.ip < b.ip ? -1 : 1));
  return result;
}

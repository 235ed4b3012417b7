/**
 * The pods behind a Service as a load balancer sees them: which may be registered as targets,
 * which are leaving, on which port each takes each service port, and the readiness probe its
 * health check can copy. Shared by the service and ingress controllers and their providers.
 *
 * A pod is a target candidate once its containers are ready (`ContainersReady`), before it is
 * Ready: a pod whose readiness gate waits on the load balancer's health check must be
 * registered to pass it, as the AWS Load Balancer Controller does with its readiness gates.
 */
import { z } from 'zod';
import type { KubeObject } from '../../../schemas/meta.ts';
import { resolveTargetPort, type ServicePort, type ServiceView, viewPod, viewService } from './service-view.ts';
import { isTargetHealthType } from './target-health.ts';

export type BackendState =
  /** Containers ready and not terminating: a target. */
  | 'serving'
  /** Running but not (yet) ready. */
  | 'notReady'
  /** Deletion requested: to be deregistered and drained. */
  | 'terminating';

/** What a health check can copy from a container's readiness probe. */
export type HealthProbe =
  | {
      readonly kind: 'http';
      readonly path: string;
      readonly port: number;
      readonly scheme: 'HTTP' | 'HTTPS';
      readonly periodSeconds: number;
      readonly timeoutSeconds: number;
      readonly successThreshold: number;
      readonly failureThreshold: number;
    }
  | {
      readonly kind: 'tcp';
      readonly port: number;
      readonly periodSeconds: number;
      readonly timeoutSeconds: number;
      readonly successThreshold: number;
      readonly failureThreshold: number;
    };

export interface BackendCondition {
  readonly type: string;
  readonly status: string;
  readonly reason?: string;
  readonly message?: string;
}

export interface BackendPod {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly ip: string;
  readonly state: BackendState;
  readonly creationTimestamp: string;
  /** `metadata.deletionTimestamp`: when the pod's grace period ends. */
  readonly deletionTimestamp?: string;
  /** The pod port of each service port, keyed by the service port's name ('' when unnamed); missing when a named port does not resolve. */
  readonly ports: ReadonlyMap<string, number>;
  /** The readiness probe of the container serving each service port, keyed like `ports`. */
  readonly probes: ReadonlyMap<string, HealthProbe>;
  readonly readinessGates: readonly string[];
  /** The pod's target-health conditions (see target-health.ts). */
  readonly targetHealth: readonly BackendCondition[];
  readonly resourceVersion?: string;
}

const probeSchema = z.looseObject({
  httpGet: z.looseObject({ path: z.string().optional(), port: z.union([z.number(), z.string()]), scheme: z.string().optional() }).optional(),
  tcpSocket: z.looseObject({ port: z.union([z.number(), z.string()]) }).optional(),
  periodSeconds: z.number().optional(),
  timeoutSeconds: z.number().optional(),
  successThreshold: z.number().optional(),
  failureThreshold: z.number().optional(),
});

const podDetailSchema = z.looseObject({
  spec: z
    .looseObject({
      readinessGates: z.array(z.looseObject({ conditionType: z.string() })).optional(),
      containers: z
        .array(
          z.looseObject({
            ports: z.array(z.looseObject({ name: z.string().optional(), containerPort: z.number(), protocol: z.string().optional() })).optional(),
            readinessProbe: probeSchema.optional(),
          }),
        )
        .optional(),
    })
    .optional(),
  status: z
    .looseObject({
      conditions: z.array(z.looseObject({ type: z.string(), status: z.string(), reason: z.string().optional(), message: z.string().optional() })).optional(),
    })
    .optional(),
});

type ContainerDetail = NonNullable<NonNullable<z.infer<typeof podDetailSchema>['spec']>['containers']>[number];

function probePort(port: number | string, container: ContainerDetail): number | undefined {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

function healthProbe(container: ContainerDetail | undefined): HealthProbe | undefined {
  const probe = container?.readinessProbe;
  if (!container || !probe) return undefined;
  const timing = {
    periodSeconds: probe.periodSeconds ?? 10,
    timeoutSeconds: probe.timeoutSeconds ?? 1,
    successThreshold: probe.successThreshold ?? 1,
    failureThreshold: probe.failureThreshold ?? 3,
  };
  if (probe.httpGet) {
    const port = probePort(probe.httpGet.port, container);
    if (port === undefined) return undefined;
    return { kind: 'http', path: probe.httpGet.path || '/', port, scheme: probe.httpGet.scheme === 'HTTPS' ? 'HTTPS' : 'HTTP', ...timing };
  }
  if (probe.tcpSocket) {
    const port = probePort(probe.tcpSocket.port, container);
    return port === undefined ? undefined : { kind: 'tcp', port, ...timing };
  }
  return undefined;
}

function conditionTrue(conditions: readonly BackendCondition[], type: string): boolean | undefined {
  const condition = conditions.find((c) => c.type === type);
  return condition ? condition.status === 'True' : undefined;
}

/** The pods a Service selects that have an address and still run, as load balancer backends. */
export function serviceBackends(serviceObject: KubeObject, podObjects: readonly KubeObject[]): BackendPod[] {
  const service = viewService(serviceObject);
  return backendsOf(service, podObjects);
}

export function backendsOf(service: ServiceView, podObjects: readonly KubeObject[]): BackendPod[] {
  const selector = service.selector;
  if (!selector) return [];
  const backends: BackendPod[] = [];
  for (const object of podObjects) {
    let pod: ReturnType<typeof viewPod>;
    try {
      pod = viewPod(object);
    } catch {
      continue;
    }
    if (pod.namespace !== service.namespace || !pod.podIP || !pod.uid) continue;
    if (!Object.entries(selector).every(([key, value]) => pod.labels[key] === value)) continue;
    if (pod.phase === 'Succeeded' || pod.phase === 'Failed') continue;
    const detail = podDetailSchema.safeParse({ spec: object.spec, status: object.status });
    const spec = detail.success ? detail.data.spec : undefined;
    const conditions = (detail.success ? detail.data.status?.conditions : undefined) ?? [];
    const containersReady = conditionTrue(conditions, 'ContainersReady') ?? pod.ready;
    const ports = new Map<string, number>();
    const probes = new Map<string, HealthProbe>();
    for (const port of service.ports) {
      const target = resolveTargetPort(port as ServicePort, pod);
      if (target === undefined) continue;
      const key = port.name ?? '';
      ports.set(key, target);
      const container = spec?.containers?.find((c) => (c.ports ?? []).some((p) => p.containerPort === target)) ?? spec?.containers?.[0];
      const probe = healthProbe(container);
      if (probe) probes.set(key, probe);
    }
    backends.push({
      namespace: pod.namespace,
      name: pod.name,
      uid: pod.uid,
      ip: pod.podIP,
      state: pod.terminating ? 'terminating' : containersReady ? 'serving' : 'notReady',
      creationTimestamp: object.metadata.creationTimestamp ?? '',
      ...(object.metadata.deletionTimestamp ? { deletionTimestamp: object.metadata.deletionTimestamp } : {}),
      ports,
      probes,
      readinessGates: (spec?.readinessGates ?? []).map((g) => g.conditionType),
      targetHealth: conditions.filter((c) => isTargetHealthType(c.type)),
      ...(object.metadata.resourceVersion ? { resourceVersion: object.metadata.resourceVersion } : {}),
    });
  }
  return backends.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * The readiness probe a health check copies for one service port: the newest serving pod's
 * (a rollout's new template wins once its first pod serves), else the newest pod's.
 */
export function probeForPort(backends: readonly BackendPod[], portName: string): HealthProbe | undefined {
  const newestFirst = [...backends].filter((b) => b.state !== 'terminating').sort((a, b) => (a.creationTimestamp < b.creationTimestamp ? 1 : -1));
  const pick = newestFirst.find((b) => b.state === 'serving' && b.ports.has(portName)) ?? newestFirst.find((b) => b.ports.has(portName));
  return pick?.probes.get(portName);
}

/**
 * Target groups the way both ELBv2 providers keep them: health checks copied from the pods'
 * readiness probe (or set by the AWS Load Balancer Controller's annotations), attributes from its
 * `target-group-attributes` annotation, and the `ip` targets kept in step with the serving pods —
 * new ones registered before leaving ones are deregistered, and each pod's state reported for its
 * target-health condition (docs/adr/094-zero-downtime-targets.md, docs/adr/096-alb-provider.md).
 */
import {
  CreateTargetGroupCommand,
  DeregisterTargetsCommand,
  DescribeTargetGroupAttributesCommand,
  ModifyTargetGroupAttributesCommand,
  ModifyTargetGroupCommand,
  RegisterTargetsCommand,
  type TargetGroup,
  type TargetGroupAttribute,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { HealthProbe } from '../domain/services/load-balancer-backends.ts';
import type { TargetState } from '../domain/services/load-balancers.ts';
import type { Elbv2 } from './elbv2-client.ts';
import { clusterTag, ownerTag, type Tag } from './elbv2-names.ts';

export type TargetProtocol = 'HTTP' | 'HTTPS' | 'TCP' | 'UDP' | 'TCP_UDP' | 'TLS';

export interface HealthCheck {
  readonly protocol: 'HTTP' | 'HTTPS' | 'TCP';
  /** `traffic-port` or a port number. */
  readonly port: string;
  readonly path?: string;
  readonly intervalSeconds: number;
  readonly timeoutSeconds: number;
  readonly healthyThreshold: number;
  readonly unhealthyThreshold: number;
  /** HTTP codes that count as healthy (ALB/NLB `Matcher.HttpCode`). */
  readonly successCodes?: string;
}

/** The annotation names of one kind of object: a Service's or an Ingress's, as the AWS Load Balancer Controller names them. */
export interface HealthCheckAnnotations {
  readonly protocol: string;
  readonly port: string;
  readonly path: string;
  readonly interval: string;
  readonly timeout: string;
  readonly healthyThreshold: string;
  readonly unhealthyThreshold: string;
  readonly successCodes: string;
}

export const serviceHealthCheckAnnotations: HealthCheckAnnotations = {
  protocol: 'service.beta.kubernetes.io/aws-load-balancer-healthcheck-protocol',
  port: 'service.beta.kubernetes.io/aws-load-balancer-healthcheck-port',
  path: 'service.beta.kubernetes.io/aws-load-balancer-healthcheck-path',
  interval: 'service.beta.kubernetes.io/aws-load-balancer-healthcheck-interval',
  timeout: 'service.beta.kubernetes.io/aws-load-balancer-healthcheck-timeout',
  healthyThreshold: 'service.beta.kubernetes.io/aws-load-balancer-healthcheck-healthy-threshold',
  unhealthyThreshold: 'service.beta.kubernetes.io/aws-load-balancer-healthcheck-unhealthy-threshold',
  successCodes: 'service.beta.kubernetes.io/aws-load-balancer-healthcheck-success-codes',
};

export const ingressHealthCheckAnnotations: HealthCheckAnnotations = {
  protocol: 'alb.ingress.kubernetes.io/healthcheck-protocol',
  port: 'alb.ingress.kubernetes.io/healthcheck-port',
  path: 'alb.ingress.kubernetes.io/healthcheck-path',
  interval: 'alb.ingress.kubernetes.io/healthcheck-interval-seconds',
  timeout: 'alb.ingress.kubernetes.io/healthcheck-timeout-seconds',
  healthyThreshold: 'alb.ingress.kubernetes.io/healthy-threshold-count',
  unhealthyThreshold: 'alb.ingress.kubernetes.io/unhealthy-threshold-count',
  successCodes: 'alb.ingress.kubernetes.io/success-codes',
};

const clamp = (value: number, low: number, high: number) => Math.min(high, Math.max(low, Math.round(value)));

function numberAnnotation(annotations: Readonly<Record<string, string>>, name: string): number | undefined {
  const value = annotations[name];
  if (value === undefined || !/^\d+$/.test(value.trim())) return undefined;
  return Number(value.trim());
}

/**
 * The health check of a target group: the readiness probe's (its path, port and timing, within
 * ELBv2's bounds), else the AWS Load Balancer Controller's defaults; annotations win.
 */
export function healthCheckFor(
  loadBalancer: 'application' | 'network',
  probe: HealthProbe | undefined,
  targetPort: number | undefined,
  annotations: Readonly<Record<string, string>>,
  names: HealthCheckAnnotations,
): HealthCheck {
  const port = (p: number) => (p === targetPort ? 'traffic-port' : String(p));
  let check: HealthCheck;
  if (probe?.kind === 'http') {
    check = {
      protocol: probe.scheme,
      port: port(probe.port),
      path: probe.path,
      intervalSeconds: clamp(probe.periodSeconds, 5, 300),
      timeoutSeconds: clamp(probe.timeoutSeconds, 2, 120),
      healthyThreshold: clamp(probe.successThreshold, 2, 10),
      unhealthyThreshold: clamp(probe.failureThreshold, 2, 10),
      // A Kubernetes HTTP probe succeeds on 200-399.
      successCodes: '200-399',
    };
  } else if (probe?.kind === 'tcp' && loadBalancer === 'network') {
    check = {
      protocol: 'TCP',
      port: port(probe.port),
      intervalSeconds: clamp(probe.periodSeconds, 5, 300),
      timeoutSeconds: clamp(probe.timeoutSeconds, 2, 120),
      healthyThreshold: clamp(probe.successThreshold, 2, 10),
      unhealthyThreshold: clamp(probe.failureThreshold, 2, 10),
    };
  } else if (loadBalancer === 'application') {
    check = {
      protocol: 'HTTP',
      port: 'traffic-port',
      path: '/',
      intervalSeconds: 15,
      timeoutSeconds: 5,
      healthyThreshold: 2,
      unhealthyThreshold: 2,
      successCodes: '200',
    };
  } else {
    check = { protocol: 'TCP', port: 'traffic-port', intervalSeconds: 10, timeoutSeconds: 10, healthyThreshold: 3, unhealthyThreshold: 3 };
  }
  const protocol = annotations[names.protocol]?.toUpperCase();
  if (protocol === 'HTTP' || protocol === 'HTTPS' || (protocol === 'TCP' && loadBalancer === 'network')) check = { ...check, protocol };
  if (annotations[names.port]) check = { ...check, port: annotations[names.port] as string };
  if (annotations[names.path]) check = { ...check, path: annotations[names.path] as string };
  const interval = numberAnnotation(annotations, names.interval);
  const timeout = numberAnnotation(annotations, names.timeout);
  const healthy = numberAnnotation(annotations, names.healthyThreshold);
  const unhealthy = numberAnnotation(annotations, names.unhealthyThreshold);
  if (interval !== undefined) check = { ...check, intervalSeconds: clamp(interval, 5, 300) };
  if (timeout !== undefined) check = { ...check, timeoutSeconds: clamp(timeout, 2, 120) };
  if (healthy !== undefined) check = { ...check, healthyThreshold: clamp(healthy, 2, 10) };
  if (unhealthy !== undefined) check = { ...check, unhealthyThreshold: clamp(unhealthy, 2, 10) };
  if (annotations[names.successCodes]) check = { ...check, successCodes: annotations[names.successCodes] as string };
  if (check.protocol === 'TCP') {
    const { path: _path, successCodes: _codes, ...tcp } = check;
    check = tcp;
  } else if (!check.path) check = { ...check, path: '/' };
  // ALB wants the timeout below the interval.
  if (check.timeoutSeconds >= check.intervalSeconds) check = { ...check, timeoutSeconds: Math.max(2, check.intervalSeconds - 1) };
  return check;
}

/** `k=v,k=v` of a `target-group-attributes` annotation. */
export function targetGroupAttributes(annotation: string | undefined): TargetGroupAttribute[] {
  if (!annotation) return [];
  return annotation
    .split(',')
    .map((pair) => pair.trim())
    .filter((pair) => pair.includes('='))
    .map((pair) => {
      const at = pair.indexOf('=');
      return { Key: pair.slice(0, at).trim(), Value: pair.slice(at + 1).trim() };
    })
    .sort((a, b) => (a.Key < b.Key ? -1 : 1));
}

export interface TargetGroupSpec {
  readonly name: string;
  readonly protocol: TargetProtocol;
  readonly port: number;
  readonly healthCheck: HealthCheck;
  readonly attributes: readonly TargetGroupAttribute[];
  readonly tags: readonly Tag[];
}

function healthCheckFields(check: HealthCheck) {
  return {
    HealthCheckEnabled: true,
    HealthCheckProtocol: check.protocol,
    HealthCheckPort: check.port,
    ...(check.path ? { HealthCheckPath: check.path } : {}),
    HealthCheckIntervalSeconds: check.intervalSeconds,
    HealthCheckTimeoutSeconds: check.timeoutSeconds,
    HealthyThresholdCount: check.healthyThreshold,
    UnhealthyThresholdCount: check.unhealthyThreshold,
    ...(check.successCodes ? { Matcher: { HttpCode: check.successCodes } } : {}),
  };
}

function sameHealthCheck(group: TargetGroup, check: HealthCheck): boolean {
  return (
    group.HealthCheckProtocol === check.protocol &&
    group.HealthCheckPort === check.port &&
    (check.path === undefined || group.HealthCheckPath === check.path) &&
    group.HealthCheckIntervalSeconds === check.intervalSeconds &&
    group.HealthCheckTimeoutSeconds === check.timeoutSeconds &&
    group.HealthyThresholdCount === check.healthyThreshold &&
    group.UnhealthyThresholdCount === check.unhealthyThreshold &&
    (check.successCodes === undefined || group.Matcher?.HttpCode === check.successCodes)
  );
}

/** Creates the target group, or brings an existing one's health check and attributes in line. Returns its ARN. */
export async function ensureTargetGroup(api: Elbv2, spec: TargetGroupSpec, vpcId: string, existing: TargetGroup | undefined): Promise<string> {
  let arn = existing?.TargetGroupArn;
  if (!existing || !arn) {
    let created: { TargetGroups?: TargetGroup[] };
    try {
      created = await api.send<{ TargetGroups?: TargetGroup[] }>(
        new CreateTargetGroupCommand({
          Name: spec.name,
          Protocol: spec.protocol,
          Port: spec.port,
          VpcId: vpcId,
          TargetType: 'ip',
          ...healthCheckFields(spec.healthCheck),
          Tags: [...spec.tags],
        }),
      );
    } catch (error) {
      // A concurrent reconcile made it first (with other settings, or ELBv2 would have answered with it): ours if its tags say so.
      if (!(error instanceof Error && error.name === 'DuplicateTargetGroupNameException')) throw error;
      const found = await api.targetGroupNamed(spec.name);
      const tags = found?.TargetGroupArn ? (await api.tags([found.TargetGroupArn])).get(found.TargetGroupArn) : undefined;
      const same = (key: string) => tags?.find((t) => t.Key === key)?.Value === spec.tags.find((t) => t.Key === key)?.Value;
      if (!found || !same(clusterTag) || !same(ownerTag)) throw error;
      created = { TargetGroups: [found] };
    }
    arn = created.TargetGroups?.[0]?.TargetGroupArn;
    if (!arn) throw new Error(`CreateTargetGroup ${spec.name} returned no ARN`);
  } else if (!sameHealthCheck(existing, spec.healthCheck)) {
    await api.send(new ModifyTargetGroupCommand({ TargetGroupArn: arn, ...healthCheckFields(spec.healthCheck) }));
  }
  if (spec.attributes.length > 0) {
    const current = existing
      ? ((await api.send<{ Attributes?: TargetGroupAttribute[] }>(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: arn }))).Attributes ?? [])
      : [];
    const differs = spec.attributes.some((wanted) => current.find((a) => a.Key === wanted.Key)?.Value !== wanted.Value);
    if (differs) await api.send(new ModifyTargetGroupAttributesCommand({ TargetGroupArn: arn, Attributes: [...spec.attributes] }));
  }
  return arn;
}

export interface DesiredTarget {
  /** The pod's uid. */
  readonly uid: string;
  readonly ip: string;
  readonly port: number;
}

const key = (ip: string | undefined, port: number | undefined) => `${ip}:${port}`;

const stateOf: Record<string, TargetState> = {
  initial: 'registering',
  healthy: 'healthy',
  unhealthy: 'unhealthy',
  unused: 'registering',
  // Health checks off: the load balancer routes to it as healthy.
  unavailable: 'healthy',
  draining: 'draining',
  'unhealthy.draining': 'draining',
};

/**
 * Keeps a target group's targets in step with `desired`: registers the missing ones first, then
 * deregisters the others. Returns where each pod stands, by uid; `podOfIp` names the pods of
 * leaving targets, so their drain is reported too.
 */
export async function syncTargets(
  api: Elbv2,
  targetGroupArn: string,
  desired: readonly DesiredTarget[],
  podOfIp: ReadonlyMap<string, string>,
): Promise<Map<string, TargetState>> {
  const health = await api.targetHealth(targetGroupArn);
  const states = new Map<string, TargetState>();
  const isDraining = (state: string | undefined) => state === 'draining' || state === 'unhealthy.draining';
  const registered = new Map(health.filter((h) => !isDraining(h.TargetHealth?.State)).map((h) => [key(h.Target?.Id, h.Target?.Port), h]));
  const wanted = new Set(desired.map((t) => key(t.ip, t.port)));
  const register = desired.filter((t) => !registered.has(key(t.ip, t.port)));
  const deregister = [...registered.values()].filter((h) => !wanted.has(key(h.Target?.Id, h.Target?.Port)));
  if (register.length > 0) {
    await api.send(new RegisterTargetsCommand({ TargetGroupArn: targetGroupArn, Targets: register.map((t) => ({ Id: t.ip, Port: t.port })) }));
  }
  if (deregister.length > 0) {
    await api.send(
      new DeregisterTargetsCommand({ TargetGroupArn: targetGroupArn, Targets: deregister.map((h) => ({ Id: h.Target?.Id, Port: h.Target?.Port })) }),
    );
  }
  for (const target of desired) {
    const found = registered.get(key(target.ip, target.port));
    states.set(target.uid, found ? (stateOf[found.TargetHealth?.State ?? 'initial'] ?? 'registering') : 'registering');
  }
  const leaving = [...deregister.map((h) => h.Target?.Id), ...health.filter((h) => isDraining(h.TargetHealth?.State)).map((h) => h.Target?.Id)];
  for (const ip of leaving) {
    const uid = ip ? podOfIp.get(ip) : undefined;
    if (uid && !states.has(uid)) states.set(uid, 'draining');
  }
  return states;
}

const rank: Record<TargetState, number> = { healthy: 0, registering: 1, unhealthy: 2, draining: 3 };

/** Merges per-target-group states: a pod is only as healthy as its worst target group says. */
export function mergeStates(into: Map<string, TargetState>, from: ReadonlyMap<string, TargetState>): void {
  for (const [uid, state] of from) {
    const before = into.get(uid);
    if (!before || rank[state] > rank[before]) into.set(uid, state);
  }
}

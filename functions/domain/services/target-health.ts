/**
 * Target health: the pod conditions through which load balancers and the node agent agree on
 * when a pod may take traffic and when it may be stopped (docs/adr/094-zero-downtime-targets.md).
 *
 * Every load balancer that routes to a pod (a `type: LoadBalancer` Service's, or the ones an
 * IngressClass's Ingresses share) owns one condition type on the pod, under the prefix
 * `target-health.skiff.io/`. Its status is the readiness gate: `True` once the pod is healthy in
 * every target group of that owner (or the owner does not route to it at all), so a pod created
 * with the gate in `spec.readinessGates` turns Ready, and a rollout moves on, only then. Its
 * reason tells the node agent whether the load balancer still sends the pod requests: while it
 * is one of `Registering`, `Healthy`, `Unhealthy` or `Draining`, a terminating pod's containers
 * are not signalled; `Deregistered` (or `NotTargeted`) releases them. The agent never waits past
 * the pod's `deletionTimestamp`, so a stopped controller costs a grace period, not a stuck pod.
 */

export const targetHealthPrefix = 'target-health.skiff.io/';

/** The condition (and readiness gate) of a `type: LoadBalancer` Service's load balancer. */
export function serviceTargetHealthType(serviceName: string): string {
  return `${targetHealthPrefix}${serviceName}`;
}

/**
 * The condition of the load balancers of an IngressClass. Service names never hold a dot, so
 * `ingress.<class>` cannot clash with one; a class name too long for a condition name is cut
 * and given a hash so two long names stay apart.
 */
export function ingressTargetHealthType(className: string): string {
  const name = `ingress.${className}`;
  if (name.length <= 63) return `${targetHealthPrefix}${name}`;
  let hash = 0x811c9dc5;
  for (let i = 0; i < className.length; i++) hash = Math.imul(hash ^ className.charCodeAt(i), 0x01000193) >>> 0;
  const head = name.slice(0, 54).replace(/[-.]+$/, '');
  return `${targetHealthPrefix}${head}.${hash.toString(36).padStart(7, '0')}`;
}

export function isTargetHealthType(type: string): boolean {
  return type.startsWith(targetHealthPrefix);
}

/** Where a pod stands with one load balancer owner. */
export type TargetHealthReason =
  /** Registered, health checks not passed yet. */
  | 'Registering'
  | 'Healthy'
  /** Registered and failing health checks (the load balancer may still send it requests). */
  | 'Unhealthy'
  /** Deregistered; requests already sent to it may still be running. */
  | 'Draining'
  /** No longer a target anywhere, and drained. */
  | 'Deregistered'
  /** The owner does not route to this pod (the Service is gone, or the provider cannot serve it). */
  | 'NotTargeted';

const stillRouted: ReadonlySet<string> = new Set<TargetHealthReason>(['Registering', 'Healthy', 'Unhealthy', 'Draining']);

export interface TargetHealthCondition {
  readonly type: string;
  readonly status: 'True' | 'False';
  readonly reason: TargetHealthReason;
  readonly message: string;
}

export function targetHealthCondition(type: string, reason: TargetHealthReason, message: string): TargetHealthCondition {
  return { type, status: reason === 'Healthy' || reason === 'NotTargeted' ? 'True' : 'False', reason, message };
}

interface ConditionLike {
  readonly type?: unknown;
  readonly status?: unknown;
  readonly reason?: unknown;
}

/** The target-health conditions whose load balancer may still send the pod requests. */
export function routedBy(conditions: readonly ConditionLike[] | undefined): string[] {
  return (conditions ?? [])
    .filter((c) => typeof c.type === 'string' && isTargetHealthType(c.type) && typeof c.reason === 'string' && stillRouted.has(c.reason))
    .map((c) => c.type as string);
}

/**
 * How long a terminating pod's containers must wait before they are signalled: until no load
 * balancer routes to it, but never past `deletionTimestamp` (ms since the epoch). Undefined when
 * they may be stopped now.
 */
export function terminationHoldUntilMs(
  pod: { readonly deletionTimestamp?: string; readonly conditions?: readonly ConditionLike[] },
  nowMs: number,
): number | undefined {
  if (!pod.deletionTimestamp) return undefined;
  const deadline = Date.parse(pod.deletionTimestamp);
  if (!Number.isFinite(deadline) || nowMs >= deadline) return undefined;
  return routedBy(pod.conditions).length > 0 ? deadline : undefined;
}

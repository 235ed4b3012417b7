/**
 * Keeping the pods' target-health conditions (docs/adr/094-zero-downtime-targets.md) in step with
 * what a load balancer provider reports: the plan is pure (`planTargetConditions`), the write
 * re-reads each pod and retries on conflict so a node agent writing the same pod's status at the
 * same moment never makes the reconcile start over (and call the provider again).
 */
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import { ConflictError, NotFoundError } from '../../core/errors.ts';
import type { Admission } from '../../domain/object-admission/admission.ts';
import type { BackendPod } from '../../domain/services/load-balancer-backends.ts';
import type { TargetState } from '../../domain/services/load-balancers.ts';
import { routedBy, type TargetHealthCondition, type TargetHealthReason, targetHealthCondition } from '../../domain/services/target-health.ts';
import type { ObjectReader } from '../../store/store.ts';

export interface PodConditionWrite {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly condition: TargetHealthCondition;
}

const reasonOf: Record<TargetState, TargetHealthReason> = {
  registering: 'Registering',
  healthy: 'Healthy',
  unhealthy: 'Unhealthy',
  draining: 'Draining',
};

const messages: Record<TargetHealthReason, string> = {
  Registering: 'registered, waiting for the health check',
  Healthy: 'healthy in every target group',
  Unhealthy: 'registered and failing the health check',
  Draining: 'deregistered, requests in flight are draining',
  Deregistered: 'no longer a target, drained',
  NotTargeted: 'not a target of this load balancer',
};

/**
 * The condition each pod should carry for one load balancer owner (`type`), from where the
 * provider says each pod stands. Pods outside `backends` that still carry a routed condition of
 * this type (they left the selector, or the load balancer went) are released as `NotTargeted`.
 * Only pods that carry the gate, already carry the condition, or are targets get one.
 */
export function planTargetConditions(
  type: string,
  backends: readonly BackendPod[],
  targets: ReadonlyMap<string, TargetState>,
  others: readonly KubeObject[],
  owner: string,
): PodConditionWrite[] {
  const writes: PodConditionWrite[] = [];
  const seen = new Set<string>();
  for (const pod of backends) {
    seen.add(pod.uid);
    const current = pod.targetHealth.find((c) => c.type === type);
    const gated = pod.readinessGates.includes(type);
    const state = targets.get(pod.uid);
    let reason: TargetHealthReason | undefined;
    if (state) reason = reasonOf[state];
    else if (current) reason = pod.state === 'serving' ? 'NotTargeted' : 'Deregistered';
    else if (gated && pod.state === 'serving') reason = 'NotTargeted';
    if (!reason) continue;
    if (current?.reason === reason && current.status === targetHealthCondition(type, reason, '').status) continue;
    writes.push({ namespace: pod.namespace, name: pod.name, uid: pod.uid, condition: targetHealthCondition(type, reason, `${owner}: ${messages[reason]}`) });
  }
  for (const pod of others) {
    const uid = pod.metadata.uid;
    if (!uid || seen.has(uid)) continue;
    const conditions = (pod.status as { conditions?: { type?: unknown; status?: unknown; reason?: unknown }[] } | undefined)?.conditions;
    const current = conditions?.find((c) => c.type === type);
    if (!current) continue;
    const held = routedBy([current]).length > 0 || current.status !== 'True';
    if (!held) continue;
    writes.push({
      namespace: pod.metadata.namespace ?? 'default',
      name: pod.metadata.name ?? '',
      uid,
      condition: targetHealthCondition(type, 'NotTargeted', `${owner}: ${messages.NotTargeted}`),
    });
  }
  return writes;
}

function timestamp(now: Date): string {
  return `${now.toISOString().slice(0, 19)}Z`;
}

/** Sets one condition on a pod's status, from a fresh read, retrying a few conflicts. False when the pod is gone or replaced. */
export async function writePodCondition(
  ctx: { readonly store: ObjectReader; readonly admission: Admission },
  write: PodConditionWrite,
  now: Date,
): Promise<boolean> {
  for (let attempt = 0; attempt < 5; attempt++) {
    let pod: KubeObject;
    try {
      pod = await ctx.store.get(types.pods, write.namespace, write.name);
    } catch (error) {
      if (error instanceof NotFoundError) return false;
      throw error;
    }
    if (pod.metadata.uid !== write.uid) return false;
    const status = (pod.status as Record<string, unknown> | undefined) ?? {};
    const conditions = (status.conditions as Record<string, unknown>[] | undefined) ?? [];
    const before = conditions.find((c) => c.type === write.condition.type);
    if (before && before.status === write.condition.status && before.reason === write.condition.reason) return true;
    const lastTransitionTime =
      before && before.status === write.condition.status && typeof before.lastTransitionTime === 'string' ? before.lastTransitionTime : timestamp(now);
    const next = { ...write.condition, lastProbeTime: null, lastTransitionTime };
    const written = before ? conditions.map((c) => (c.type === write.condition.type ? next : c)) : [...conditions, next];
    try {
      await ctx.admission.update(types.pods, { ...pod, status: { ...status, conditions: written } }, pod);
      return true;
    } catch (error) {
      if (error instanceof NotFoundError) return false;
      if (!(error instanceof ConflictError)) throw error;
    }
  }
  throw new ConflictError({ resource: 'pods', group: '', name: write.name }, `it kept changing while its ${write.condition.type} condition was written`);
}

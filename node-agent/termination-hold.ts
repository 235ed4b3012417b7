/**
 * When a terminating pod's containers may be signalled: not while a load balancer still routes
 * to it (its `target-health.skiff.io/*` conditions, docs/adr/094-zero-downtime-targets.md), and
 * never later than its `deletionTimestamp`. Pure: `planContainerActions` asks it.
 */
import { isTargetHealthType, terminationHoldUntilMs } from '../functions/domain/services/target-health.ts';
import type { PodView } from './pod-view.ts';

/** Milliseconds since the epoch to wait until, or undefined to stop the containers now. */
export function terminationHold(pod: Pick<PodView, 'metadata' | 'status'>, nowMs: number): number | undefined {
  return terminationHoldUntilMs(
    { ...(pod.metadata.deletionTimestamp ? { deletionTimestamp: pod.metadata.deletionTimestamp } : {}), conditions: pod.status.conditions },
    nowMs,
  );
}

/**
 * Seconds the containers get between SIGTERM and SIGKILL. A pod a load balancer routed to may
 * have waited for its drain: what the wait took comes out of the grace period, as a preStop
 * hook's time does, and SIGTERM still gets 2 s, the kubelet's minimum after a hook overran.
 */
export function terminationGraceSeconds(pod: Pick<PodView, 'metadata' | 'spec' | 'status'>, nowMs: number): number {
  const grace = pod.metadata.deletionGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds;
  const deadline = pod.metadata.deletionTimestamp ? Date.parse(pod.metadata.deletionTimestamp) : Number.NaN;
  if (!Number.isFinite(deadline) || grace === 0 || !pod.status.conditions.some((c) => isTargetHealthType(c.type))) return grace;
  return Math.min(grace, Math.max(2, Math.ceil((deadline - nowMs) / 1000)));
}

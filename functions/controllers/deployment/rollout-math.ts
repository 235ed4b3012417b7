/** Numbers of a rollout: maxSurge / maxUnavailable resolution and ReplicaSet revisions. */
import type { KubeObject } from '../../../schemas/meta.ts';

export const revisionAnnotation = 'deployment.kubernetes.io/revision';
export const revisionHistoryAnnotation = 'deployment.kubernetes.io/revision-history';
export const desiredReplicasAnnotation = 'deployment.kubernetes.io/desired-replicas';
export const maxReplicasAnnotation = 'deployment.kubernetes.io/max-replicas';
export const templateHashLabel = 'pod-template-hash';

/** `3` or `"25%"` of `total`, rounded up (surge) or down (unavailable), as Kubernetes does. */
export function resolveIntOrPercent(value: unknown, total: number, roundUp: boolean, fallback: string): number {
  const raw = value === undefined || value === null ? fallback : value;
  if (typeof raw === 'number') return Math.max(0, Math.trunc(raw));
  const text = String(raw).trim();
  const percent = /^(\d+)%$/.exec(text);
  if (percent) {
    const exact = (Number(percent[1]) * total) / 100;
    return roundUp ? Math.ceil(exact) : Math.floor(exact);
  }
  const whole = Number(text);
  return Number.isInteger(whole) && whole >= 0 ? whole : 0;
}

export interface RollingBounds {
  readonly maxSurge: number;
  readonly maxUnavailable: number;
}

/** Both zero would never make progress; Kubernetes then allows one unavailable pod. */
export function rollingBounds(rollingUpdate: { maxSurge?: unknown; maxUnavailable?: unknown } | undefined, replicas: number): RollingBounds {
  const maxSurge = resolveIntOrPercent(rollingUpdate?.maxSurge, replicas, true, '25%');
  let maxUnavailable = resolveIntOrPercent(rollingUpdate?.maxUnavailable, replicas, false, '25%');
  if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  return { maxSurge, maxUnavailable: Math.min(maxUnavailable, replicas) };
}

export function revisionOf(object: KubeObject): number {
  const value = Number(object.metadata.annotations?.[revisionAnnotation] ?? '0');
  return Number.isFinite(value) ? value : 0;
}

/** kube-controller-manager's cap on the length of `revision-history` (its `MaxRevHistoryLengthInChars`). */
export const maxRevisionHistoryChars = 2000;

/**
 * The `revision-history` of a ReplicaSet that a rollback gives a new revision: its earlier
 * revisions, oldest first, comma-separated, with the one it is leaving appended — the oldest
 * dropped while the list would pass 2000 characters — as the deployment controller keeps them.
 */
export function appendedRevisionHistory(history: string | undefined, leaving: string): string | undefined {
  if (!history) return leaving;
  const revisions = history.split(',');
  let length = history.length + leaving.length + 1;
  let start = 0;
  while (length > maxRevisionHistoryChars && start < revisions.length) {
    length -= (revisions[start]?.length ?? 0) + 1;
    start++;
  }
  if (length > maxRevisionHistoryChars) return history;
  return [...revisions.slice(start), leaving].join(',');
}

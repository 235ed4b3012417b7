/** Pod liveness as the workload controllers count it: active, ready, available. */
import type { KubeObject } from '../../../schemas/meta.ts';
import { storedPod } from '../../../schemas/stored-objects.ts';

export function podPhase(pod: KubeObject): string {
  return storedPod(pod).status?.phase ?? 'Pending';
}

export function podNodeName(pod: KubeObject): string | undefined {
  return storedPod(pod).spec?.nodeName || undefined;
}

/** Counts toward a ReplicaSet's replicas: not finished and not on its way out. */
export function isPodActive(pod: KubeObject): boolean {
  const phase = podPhase(pod);
  return !pod.metadata.deletionTimestamp && phase !== 'Succeeded' && phase !== 'Failed';
}

function readyCondition(pod: KubeObject) {
  return storedPod(pod).status?.conditions?.find((c) => c.type === 'Ready');
}

export function isPodReady(pod: KubeObject): boolean {
  return readyCondition(pod)?.status === 'True';
}

/** Milliseconds the pod has been ready at `now`, or undefined when it is not ready. */
export function readyForMs(pod: KubeObject, now: Date): number | undefined {
  const ready = readyCondition(pod);
  if (ready?.status !== 'True') return undefined;
  const since = ready.lastTransitionTime ? Date.parse(ready.lastTransitionTime) : Number.NaN;
  return Number.isNaN(since) ? Number.POSITIVE_INFINITY : Math.max(0, now.getTime() - since);
}

/** Ready for at least `minReadySeconds`. */
export function isPodAvailable(pod: KubeObject, minReadySeconds: number, now: Date): boolean {
  const ms = readyForMs(pod, now);
  return ms !== undefined && ms >= minReadySeconds * 1000;
}

/** Seconds until a ready pod becomes available, when that is in the future. */
export function secondsUntilAvailable(pod: KubeObject, minReadySeconds: number, now: Date): number | undefined {
  const ms = readyForMs(pod, now);
  if (ms === undefined || ms >= minReadySeconds * 1000) return undefined;
  return Math.ceil((minReadySeconds * 1000 - ms) / 1000);
}

export function restartCount(pod: KubeObject): number {
  return (storedPod(pod).status?.containerStatuses ?? []).reduce((sum, s) => sum + s.restartCount, 0);
}

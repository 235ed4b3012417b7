/**
 * The ReplicaSet reconciler's decision, as a pure function of the ReplicaSet, the pods it
 * controls and the time: which pods to create, which to delete, and the status to report.
 */
import type { KubeObject } from '../../../schemas/meta.ts';
import { type StoredReplicaSet, storedReplicaSet } from '../../../schemas/stored-objects.ts';
import { controllerRefTo, isControlledBy } from '../../controller-runtime/owner-references.ts';
import { isPodActive, isPodAvailable, isPodReady, podNodeName, podPhase, readyForMs, restartCount, secondsUntilAvailable } from './pod-availability.ts';

/** Most pods one reconcile creates or deletes; the next reconcile does the rest. */
export const burstReplicas = 500;

export interface ReplicaSetStatus {
  readonly replicas: number;
  readonly fullyLabeledReplicas: number;
  readonly readyReplicas: number;
  readonly availableReplicas: number;
  readonly observedGeneration: number;
  readonly conditions?: readonly unknown[];
}

export interface ReplicaSetPlan {
  /** Pods to create (with `generateName`). */
  readonly create: readonly KubeObject[];
  /** Pods to delete, most expendable first. */
  readonly delete: readonly KubeObject[];
  /** The status to write, or undefined when it is already right. */
  readonly status?: ReplicaSetStatus;
  /** When a ready pod turns available (minReadySeconds), look again. */
  readonly requeueAfterSeconds?: number;
}

/**
 * A ReplicaSet, or a ReplicationController: the same replicas, minReadySeconds, template and
 * status (the selector, which differs, plays no part in the plan: pods are owned through their
 * controller reference).
 */
function replicated(rs: KubeObject): StoredReplicaSet {
  return rs.kind === 'ReplicationController' ? (rs as StoredReplicaSet) : storedReplicaSet(rs);
}

function replicaSetSpec(rs: KubeObject): NonNullable<StoredReplicaSet['spec']> {
  return replicated(rs).spec ?? {};
}

function desiredReplicas(rs: KubeObject): number {
  return replicaSetSpec(rs).replicas ?? 1;
}

export function planReplicaSet(rs: KubeObject, pods: readonly KubeObject[], now: Date): ReplicaSetPlan {
  const spec = replicaSetSpec(rs);
  const minReadySeconds = spec.minReadySeconds ?? 0;
  const owned = pods.filter((pod) => isControlledBy(pod, rs));
  const active = owned.filter(isPodActive);
  const requeueAfterSeconds = active
    .map((pod) => secondsUntilAvailable(pod, minReadySeconds, now))
    .filter((s): s is number => s !== undefined)
    .reduce<number | undefined>((min, s) => (min === undefined ? s : Math.min(min, s)), undefined);

  let create: KubeObject[] = [];
  let remove: KubeObject[] = [];
  // A ReplicaSet on its way out leaves its pods to the garbage collector.
  if (!rs.metadata.deletionTimestamp) {
    const diff = desiredReplicas(rs) - active.length;
    if (diff > 0) create = Array.from({ length: Math.min(diff, burstReplicas) }, () => podFromTemplate(rs));
    if (diff < 0) remove = [...active].sort((a, b) => deletionOrder(a, b, now)).slice(0, Math.min(-diff, burstReplicas));
  }
  // Counted without the pods this plan deletes: the Deployment controller scales old
  // ReplicaSets down by these numbers, so they must never overstate what is available.
  const removed = new Set(remove);
  const status = statusFor(
    rs,
    active.filter((pod) => !removed.has(pod)),
    minReadySeconds,
    now,
  );
  return {
    create,
    delete: remove,
    ...(sameStatus(replicated(rs).status, status) ? {} : { status }),
    ...(requeueAfterSeconds !== undefined ? { requeueAfterSeconds } : {}),
  };
}

export function podFromTemplate(rs: KubeObject): KubeObject {
  const template = replicaSetSpec(rs).template ?? {};
  const labels = template.metadata?.labels;
  const annotations = template.metadata?.annotations;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `${rs.metadata.name}-`,
      ...(rs.metadata.namespace ? { namespace: rs.metadata.namespace } : {}),
      ...(labels ? { labels: { ...labels } } : {}),
      ...(annotations ? { annotations: { ...annotations } } : {}),
      ownerReferences: [controllerRefTo(rs)],
    },
    spec: structuredClone(template.spec ?? {}),
  };
}

function statusFor(rs: KubeObject, active: readonly KubeObject[], minReadySeconds: number, now: Date): ReplicaSetStatus {
  const templateLabels = replicaSetSpec(rs).template?.metadata?.labels ?? {};
  const previous = replicated(rs).status ?? {};
  return {
    replicas: active.length,
    fullyLabeledReplicas: active.filter((pod) => Object.entries(templateLabels).every(([k, v]) => pod.metadata.labels?.[k] === v)).length,
    readyReplicas: active.filter(isPodReady).length,
    availableReplicas: active.filter((pod) => isPodAvailable(pod, minReadySeconds, now)).length,
    observedGeneration: rs.metadata.generation ?? 0,
    ...(previous.conditions ? { conditions: previous.conditions } : {}),
  };
}

function sameStatus(current: StoredReplicaSet['status'], next: ReplicaSetStatus): boolean {
  const c = current ?? {};
  return (
    c.replicas === next.replicas &&
    (c.fullyLabeledReplicas ?? 0) === next.fullyLabeledReplicas &&
    (c.readyReplicas ?? 0) === next.readyReplicas &&
    (c.availableReplicas ?? 0) === next.availableReplicas &&
    c.observedGeneration === next.observedGeneration
  );
}

const phaseRank: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

/**
 * Kubernetes' order for scaling down: unscheduled before scheduled, pending before running,
 * not ready before ready, ready for less time first, more restarts first, newest first.
 */
function deletionOrder(a: KubeObject, b: KubeObject, now: Date): number {
  const scheduledA = podNodeName(a) ? 1 : 0;
  const scheduledB = podNodeName(b) ? 1 : 0;
  if (scheduledA !== scheduledB) return scheduledA - scheduledB;
  const phaseA = phaseRank[podPhase(a)] ?? 1;
  const phaseB = phaseRank[podPhase(b)] ?? 1;
  if (phaseA !== phaseB) return phaseA - phaseB;
  const readyA = isPodReady(a) ? 1 : 0;
  const readyB = isPodReady(b) ? 1 : 0;
  if (readyA !== readyB) return readyA - readyB;
  if (readyA && readyB) {
    const forA = readyForMs(a, now) ?? 0;
    const forB = readyForMs(b, now) ?? 0;
    if (forA !== forB) return forA - forB;
  }
  const restartsA = restartCount(a);
  const restartsB = restartCount(b);
  if (restartsA !== restartsB) return restartsB - restartsA;
  const createdA = a.metadata.creationTimestamp ?? '';
  const createdB = b.metadata.creationTimestamp ?? '';
  if (createdA !== createdB) return createdA < createdB ? 1 : -1;
  return (a.metadata.name ?? '') < (b.metadata.name ?? '') ? 1 : -1;
}

/**
 * The node lifecycle controller's decisions for one node at one instant (pure):
 * - a node whose Lease (and Ready heartbeat) is older than the grace period gets its conditions
 *   set to Unknown (`NodeStatusUnknown`, "Kubelet stopped posting node status.") and its pods'
 *   Ready condition set to False, so Services stop sending them traffic;
 * - taints follow the Ready condition: Unknown → `node.kubernetes.io/unreachable`, False →
 *   `node.kubernetes.io/not-ready` (NoSchedule and NoExecute), True → neither; `spec.unschedulable`
 *   (cordon) → `node.kubernetes.io/unschedulable:NoSchedule`;
 * - pods on a node with a NoExecute taint are evicted once their toleration of it runs out
 *   (graceful delete); on an unreachable node, whose agent cannot finish the deletion, they are
 *   removed once their grace period has passed.
 */
import type { KubeObject } from '../../../schemas/meta.ts';
import { type StoredNode, storedLease, storedNode, storedPod } from '../../../schemas/stored-objects.ts';
import { kubeTime } from '../../core/kube-time.ts';
import { notReadyTaintKey, unreachableTaintKey, unschedulableTaintKey } from '../../domain/pods/tolerations.ts';
import { type PodToleration, viewPod } from '../../domain/services/service-view.ts';

export interface NodeLifecycleOptions {
  /** Seconds without a Lease renewal before a node counts as unreachable. Default 40. */
  readonly nodeGraceSeconds?: number;
}

export const defaultNodeGraceSeconds = 40;

export type Taint = NonNullable<NonNullable<StoredNode['spec']>['taints']>[number];
type Condition = NonNullable<NonNullable<StoredNode['status']>['conditions']>[number];

export interface NodeLifecyclePlan {
  /** The node to write (conditions and taints changed), or undefined when it is right already. */
  readonly node?: KubeObject;
  /** True when this plan moved the node to Unknown (for an Event). */
  readonly becameUnreachable: boolean;
  readonly becameReady: boolean;
  /** Pods whose Ready condition must become False (new objects to write). */
  readonly markNotReady: readonly KubeObject[];
  /** Pods to evict now (graceful delete). */
  readonly evict: readonly KubeObject[];
  /** Pods marked for deletion on an unreachable node whose grace has run out: remove them. */
  readonly forceDelete: readonly KubeObject[];
  /** When the answer changes next by time alone. */
  readonly requeueAfterSeconds?: number;
}

const pressureConditions: Record<string, { reason: string; message: string }> = {
  MemoryPressure: { reason: 'KubeletHasSufficientMemory', message: 'kubelet has sufficient memory available' },
  DiskPressure: { reason: 'KubeletHasNoDiskPressure', message: 'kubelet has no disk pressure' },
  PIDPressure: { reason: 'KubeletHasSufficientPID', message: 'kubelet has sufficient PID available' },
};

function time(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const parsed = Date.parse(value);
  return Number.isNaN(parsed) ? undefined : parsed;
}

function conditionsOf(node: KubeObject): readonly Condition[] {
  return storedNode(node).status?.conditions ?? [];
}

function taintsOf(node: KubeObject): readonly Taint[] {
  return storedNode(node).spec?.taints ?? [];
}

/** The last sign of life: the Lease renewal, the Ready heartbeat, or the node's creation. */
export function lastHeartbeat(node: KubeObject, lease: KubeObject | undefined): number | undefined {
  const leaseSpec = lease ? storedLease(lease).spec : undefined;
  const ready = conditionsOf(node).find((c) => c.type === 'Ready');
  const candidates = [time(leaseSpec?.renewTime), time(leaseSpec?.acquireTime), time(ready?.lastHeartbeatTime), time(node.metadata.creationTimestamp)];
  const known = candidates.filter((t): t is number => t !== undefined);
  return known.length > 0 ? Math.max(...known) : undefined;
}

export function tolerates(toleration: PodToleration, taint: Taint): boolean {
  if (toleration.effect && toleration.effect !== taint.effect) return false;
  if ((toleration.operator ?? 'Equal') === 'Exists') return !toleration.key || toleration.key === taint.key;
  return toleration.key === taint.key && (toleration.value ?? '') === (taint.value ?? '');
}

/**
 * How long a pod stays on a node with this NoExecute taint: undefined = for ever, 0 = not at all.
 * Every pod carries tolerations for the unreachable and not-ready taints (admission adds them,
 * `--eviction-seconds` long, to pods from the API and from controllers alike).
 */
export function tolerationSecondsFor(tolerations: readonly PodToleration[], taint: Taint): number | undefined {
  const matching = tolerations.filter((t) => tolerates(t, taint));
  if (matching.length === 0) return 0;
  const bounded = matching.map((t) => t.tolerationSeconds).filter((s): s is number => typeof s === 'number');
  return bounded.length === 0 ? undefined : Math.max(0, Math.min(...bounded));
}

export function planNodeLifecycle(
  node: KubeObject,
  lease: KubeObject | undefined,
  pods: readonly KubeObject[],
  now: Date,
  options: NodeLifecycleOptions = {},
): NodeLifecyclePlan {
  const graceMs = (options.nodeGraceSeconds ?? defaultNodeGraceSeconds) * 1000;
  const nowMs = now.getTime();
  const heartbeat = lastHeartbeat(node, lease);
  const stale = heartbeat === undefined || nowMs - heartbeat > graceMs;

  const conditions = conditionsOf(node);
  const ready = conditions.find((c) => c.type === 'Ready');
  let nextConditions = conditions;
  let becameUnreachable = false;
  let becameReady = false;
  if (stale && ready?.status !== 'Unknown') {
    becameUnreachable = true;
    const neverPosted = ready === undefined;
    const message = neverPosted ? 'Kubelet never posted node status.' : 'Kubelet stopped posting node status.';
    const types = new Set(['Ready', ...conditions.map((c) => c.type)]);
    nextConditions = [...types].map((type) => {
      const existing = conditions.find((c) => c.type === type);
      return {
        ...existing,
        type,
        status: 'Unknown',
        reason: 'NodeStatusUnknown',
        message,
        lastHeartbeatTime: existing?.lastHeartbeatTime ?? kubeTime(heartbeat ?? nowMs),
        lastTransitionTime: kubeTime(nowMs),
      };
    });
  } else if (!stale && ready?.status === 'Unknown' && ready.reason === 'NodeStatusUnknown') {
    // The agent renews its Lease again: it is back, whatever it has not re-posted yet.
    becameReady = true;
    nextConditions = conditions.map((c) => {
      if (c.reason !== 'NodeStatusUnknown') return c;
      const healthy = c.type === 'Ready' ? { reason: 'KubeletReady', message: 'kubelet is posting ready status', status: 'True' } : pressureConditions[c.type];
      if (!healthy) return c;
      return {
        ...c,
        status: 'status' in healthy ? healthy.status : 'False',
        reason: healthy.reason,
        message: healthy.message,
        lastHeartbeatTime: kubeTime(heartbeat ?? nowMs),
        lastTransitionTime: kubeTime(nowMs),
      };
    });
  }

  const readyStatus = nextConditions.find((c) => c.type === 'Ready')?.status ?? 'Unknown';
  const unschedulable = storedNode(node).spec?.unschedulable === true;
  const taints = taintsOf(node);
  const wanted: Taint[] = [];
  if (readyStatus === 'Unknown') wanted.push({ key: unreachableTaintKey, effect: 'NoSchedule' }, { key: unreachableTaintKey, effect: 'NoExecute' });
  if (readyStatus === 'False') wanted.push({ key: notReadyTaintKey, effect: 'NoSchedule' }, { key: notReadyTaintKey, effect: 'NoExecute' });
  if (unschedulable) wanted.push({ key: unschedulableTaintKey, effect: 'NoSchedule' });
  const managedKeys = new Set([unreachableTaintKey, notReadyTaintKey, unschedulableTaintKey]);
  const same = (a: Taint, b: Taint) => a.key === b.key && a.effect === b.effect;
  const nextTaints = [
    ...taints.filter((t) => !managedKeys.has(t.key) || wanted.some((w) => same(w, t))),
    ...wanted.filter((w) => !taints.some((t) => same(w, t))).map((w) => ({ ...w, timeAdded: kubeTime(nowMs) })),
  ];

  const conditionsChanged = nextConditions !== conditions;
  const taintsChanged = nextTaints.length !== taints.length || nextTaints.some((t, i) => taints[i] !== t);
  let nextNode: KubeObject | undefined;
  if (conditionsChanged || taintsChanged) {
    const { taints: _taints, ...spec } = storedNode(node).spec ?? {};
    nextNode = {
      ...node,
      spec: nextTaints.length > 0 ? { ...spec, taints: nextTaints } : spec,
      status: { ...storedNode(node).status, conditions: nextConditions },
    };
  }

  const nodeName = node.metadata.name ?? '';
  const unreachable = readyStatus === 'Unknown';
  const noExecute = nextTaints.filter((t) => t.effect === 'NoExecute');
  const markNotReady: KubeObject[] = [];
  const evict: KubeObject[] = [];
  const forceDelete: KubeObject[] = [];
  let nextCheckMs: number | undefined = stale || heartbeat === undefined ? undefined : heartbeat + graceMs + 1000 - nowMs;
  const soonest = (ms: number) => {
    nextCheckMs = nextCheckMs === undefined ? ms : Math.min(nextCheckMs, ms);
  };

  for (const podObject of pods) {
    const pod = viewPod(podObject);
    if (pod.nodeName !== nodeName || pod.phase === 'Succeeded' || pod.phase === 'Failed') continue;
    if (pod.terminating) {
      if (!unreachable) continue;
      const due = time(podObject.metadata.deletionTimestamp) ?? nowMs;
      if (due <= nowMs) forceDelete.push(podObject);
      else soonest(due - nowMs);
      continue;
    }
    if (unreachable && pod.ready) markNotReady.push(withPodNotReady(podObject, nowMs));
    let evictAt: number | undefined;
    for (const taint of noExecute) {
      const seconds = tolerationSecondsFor(pod.tolerations, taint);
      if (seconds === undefined) continue;
      const at = (time(taint.timeAdded) ?? nowMs) + seconds * 1000;
      evictAt = evictAt === undefined ? at : Math.min(evictAt, at);
    }
    if (evictAt === undefined) continue;
    if (evictAt <= nowMs) evict.push(podObject);
    else soonest(evictAt - nowMs);
  }

  return {
    ...(nextNode ? { node: nextNode } : {}),
    becameUnreachable,
    becameReady,
    markNotReady,
    evict,
    forceDelete,
    ...(nextCheckMs !== undefined ? { requeueAfterSeconds: Math.max(1, Math.ceil(nextCheckMs / 1000)) } : {}),
  };
}

function withPodNotReady(pod: KubeObject, nowMs: number): KubeObject {
  const status = storedPod(pod).status ?? {};
  return {
    ...pod,
    status: {
      ...status,
      conditions: (status.conditions ?? []).map((c) =>
        c.type === 'Ready' && c.status === 'True' ? { ...c, status: 'False', lastTransitionTime: kubeTime(nowMs) } : c,
      ),
    },
  };
}

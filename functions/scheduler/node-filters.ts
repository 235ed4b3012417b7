/**
 * The scheduler's filters, each a pure question about one pod and one node: the first one that
 * fails gives the node's reason(s), worded as kube-scheduler words them.
 */
import type { KubeObject } from '../../schemas/meta.ts';
import { type StoredPod, storedNode, storedPod } from '../../schemas/stored-objects.ts';
import { nodeTaints, type Taint, tolerates } from '../domain/scheduling/node-matching.ts';

export {
  type NodeSelectorRequirement,
  type NodeSelectorTerm,
  nodeSelectorTerm,
  nodeTaints,
  type Taint,
  type Toleration,
  termMatches,
  tolerates,
} from '../domain/scheduling/node-matching.ts';

import { parseMilliCpu, parseQuantity } from '../core/resource-quantity.ts';
import { notReadyTaintKey, unreachableTaintKey } from '../domain/pods/tolerations.ts';
import type { Resources } from './pod-requests.ts';

type PodSpec = NonNullable<StoredPod['spec']>;

export function schedulingSpec(pod: KubeObject): PodSpec {
  return storedPod(pod).spec ?? {};
}

export function isNodeReady(node: KubeObject): boolean {
  return (storedNode(node).status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

export function isNodeUnschedulable(node: KubeObject): boolean {
  return storedNode(node).spec?.unschedulable === true;
}

export function isTolerated(pod: KubeObject, taint: Taint): boolean {
  return (schedulingSpec(pod).tolerations ?? []).some((t) => tolerates(t, taint));
}

/** The taints a pod must tolerate on this node: its own, plus the ones Kubernetes adds for not-ready and cordoned nodes. */
export function effectiveTaints(node: KubeObject): Taint[] {
  const taints = nodeTaints(node);
  if (!isNodeReady(node) && !taints.some((t) => t.key === notReadyTaintKey || t.key === unreachableTaintKey)) {
    taints.push({ key: notReadyTaintKey, effect: 'NoSchedule' });
  }
  return taints;
}

export function allocatable(node: KubeObject): Resources {
  const status = storedNode(node).status ?? {};
  const pick = (name: string) => status.allocatable?.[name] ?? status.capacity?.[name];
  return {
    milliCpu: parseMilliCpu(pick('cpu')) ?? 0,
    memory: parseQuantity(pick('memory')) ?? 0,
    pods: parseQuantity(pick('pods')) ?? 110,
  };
}

export function taintText(taint: Taint): string {
  return `{${taint.key}: ${taint.value ?? ''}}`;
}

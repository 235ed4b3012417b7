/**
 * The scheduler's decision for a batch of pending pods, as a pure function of those pods, the
 * nodes and the pods already bound: a node for each pod that fits somewhere, and for each pod
 * that fits nowhere the reason, worded like kube-scheduler (`0/3 nodes are available: 3
 * Insufficient cpu.`). Pods are placed one after another, each seeing the ones placed before it.
 */
import type { KubeObject } from '../store/store.ts';
import {
  allocatable,
  effectiveTaints,
  isNodeUnschedulable,
  isTolerated,
  matchesNodeSelectorAndAffinity,
  schedulingSpec,
  taintText,
  termMatches,
} from './node-filters.ts';
import { hostPorts, nonZeroRequests, podRequests, type Resources } from './pod-requests.ts';

export interface Binding {
  readonly pod: KubeObject;
  readonly nodeName: string;
}

export interface Unschedulable {
  readonly pod: KubeObject;
  readonly message: string;
}

export interface SchedulePlan {
  readonly bindings: readonly Binding[];
  readonly unschedulable: readonly Unschedulable[];
}

interface NodeState {
  readonly node: KubeObject;
  readonly name: string;
  readonly allocatable: Resources;
  requested: Resources;
  /** Requests as scoring counts them (pods asking for nothing still weigh something). */
  scored: Resources;
  readonly ports: Set<string>;
  /** Pods per controller uid, for spreading. */
  readonly owners: Map<string, number>;
}

const add = (a: Resources, b: Resources): Resources => ({ milliCpu: a.milliCpu + b.milliCpu, memory: a.memory + b.memory, pods: a.pods + b.pods });

function controllerUid(pod: KubeObject): string | undefined {
  return pod.metadata.ownerReferences?.find((ref) => ref.controller)?.uid;
}

export function isPendingPod(pod: KubeObject): boolean {
  const spec = (pod.spec ?? {}) as { nodeName?: unknown; schedulerName?: unknown };
  const phase = (pod.status as { phase?: unknown } | undefined)?.phase;
  const ours = spec.schedulerName === undefined || spec.schedulerName === '' || spec.schedulerName === 'default-scheduler';
  return ours && !spec.nodeName && !pod.metadata.deletionTimestamp && phase !== 'Succeeded' && phase !== 'Failed';
}

/** Bound and not finished: holds resources on its node (terminating pods too, until gone). */
export function holdsNode(pod: KubeObject): string | undefined {
  const nodeName = (pod.spec as { nodeName?: unknown } | undefined)?.nodeName;
  const phase = (pod.status as { phase?: unknown } | undefined)?.phase;
  return typeof nodeName === 'string' && nodeName !== '' && phase !== 'Succeeded' && phase !== 'Failed' ? nodeName : undefined;
}

function schedulingOrder(a: KubeObject, b: KubeObject): number {
  const priority = (pod: KubeObject) => ((pod.spec as { priority?: unknown } | undefined)?.priority as number | undefined) ?? 0;
  if (priority(a) !== priority(b)) return priority(b) - priority(a);
  const ca = a.metadata.creationTimestamp ?? '';
  const cb = b.metadata.creationTimestamp ?? '';
  if (ca !== cb) return ca < cb ? -1 : 1;
  const na = `${a.metadata.namespace}/${a.metadata.name}`;
  const nb = `${b.metadata.namespace}/${b.metadata.name}`;
  return na < nb ? -1 : na > nb ? 1 : 0;
}

export function planSchedule(pendingPods: readonly KubeObject[], nodes: readonly KubeObject[], boundPods: readonly KubeObject[]): SchedulePlan {
  const states = new Map<string, NodeState>();
  for (const node of [...nodes].sort((a, b) => ((a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1))) {
    const name = node.metadata.name ?? '';
    states.set(name, {
      node,
      name,
      allocatable: allocatable(node),
      requested: { milliCpu: 0, memory: 0, pods: 0 },
      scored: { milliCpu: 0, memory: 0, pods: 0 },
      ports: new Set(),
      owners: new Map(),
    });
  }
  const place = (state: NodeState, pod: KubeObject) => {
    state.requested = add(state.requested, podRequests(pod));
    state.scored = add(state.scored, nonZeroRequests(pod));
    for (const port of hostPorts(pod)) state.ports.add(port);
    const owner = controllerUid(pod);
    if (owner) state.owners.set(owner, (state.owners.get(owner) ?? 0) + 1);
  };
  for (const pod of boundPods) {
    const nodeName = holdsNode(pod);
    const state = nodeName ? states.get(nodeName) : undefined;
    if (state) place(state, pod);
  }

  const bindings: Binding[] = [];
  const unschedulable: Unschedulable[] = [];
  for (const pod of [...pendingPods].filter(isPendingPod).sort(schedulingOrder)) {
    const reasons = new Map<string, number>();
    const feasible: NodeState[] = [];
    for (const state of states.values()) {
      const failed = filterNode(pod, state);
      if (failed.length === 0) feasible.push(state);
      for (const reason of failed) reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    }
    const best = pickBest(pod, feasible);
    if (best) {
      place(best, pod);
      bindings.push({ pod, nodeName: best.name });
    } else {
      unschedulable.push({ pod, message: fitError(states.size, reasons) });
    }
  }
  return { bindings, unschedulable };
}

/** The reasons a node cannot take the pod; empty when it can. */
function filterNode(pod: KubeObject, state: NodeState): string[] {
  const { node } = state;
  const unschedulableTaint = { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' };
  if (isNodeUnschedulable(node) && !isTolerated(pod, unschedulableTaint)) return ['node(s) were unschedulable'];
  const untolerated = effectiveTaints(node).find((t) => (t.effect === 'NoSchedule' || t.effect === 'NoExecute') && !isTolerated(pod, t));
  if (untolerated) return [`node(s) had untolerated taint ${taintText(untolerated)}`];
  if (!matchesNodeSelectorAndAffinity(pod, node)) return ["node(s) didn't match Pod's node affinity/selector"];
  if (hostPorts(pod).some((port) => state.ports.has(port))) return ["node(s) didn't have free ports for the requested pod ports"];
  const wants = podRequests(pod);
  const reasons: string[] = [];
  if (state.requested.pods + 1 > state.allocatable.pods) reasons.push('Too many pods');
  if (wants.milliCpu > 0 && state.requested.milliCpu + wants.milliCpu > state.allocatable.milliCpu) reasons.push('Insufficient cpu');
  if (wants.memory > 0 && state.requested.memory + wants.memory > state.allocatable.memory) reasons.push('Insufficient memory');
  return reasons;
}

/** Highest total score wins; ties go to the first node by name, so plans are deterministic. */
function pickBest(pod: KubeObject, feasible: readonly NodeState[]): NodeState | undefined {
  if (feasible.length === 0) return undefined;
  const owner = controllerUid(pod);
  const wants = nonZeroRequests(pod);
  const spec = schedulingSpec(pod);
  const preferred = spec.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
  const sameOwner = (s: NodeState) => (owner ? (s.owners.get(owner) ?? 0) : 0);
  const maxSameOwner = Math.max(0, ...feasible.map(sameOwner));
  const affinityOf = (s: NodeState) => preferred.reduce((sum, p) => sum + (p.preference && termMatches(p.preference, s.node) ? (p.weight ?? 0) : 0), 0);
  const maxAffinity = Math.max(0, ...feasible.map(affinityOf));
  const softTaints = (s: NodeState) => effectiveTaints(s.node).filter((t) => t.effect === 'PreferNoSchedule' && !isTolerated(pod, t)).length;
  const maxSoftTaints = Math.max(0, ...feasible.map(softTaints));

  let best: NodeState | undefined;
  let bestScore = Number.NEGATIVE_INFINITY;
  for (const state of feasible) {
    const free = (capacity: number, used: number) => (capacity <= 0 ? 0 : Math.max(0, (capacity - used) / capacity));
    const leastAllocated =
      ((free(state.allocatable.milliCpu, state.scored.milliCpu + wants.milliCpu) + free(state.allocatable.memory, state.scored.memory + wants.memory)) / 2) * 100;
    const spread = maxSameOwner === 0 ? 100 : ((maxSameOwner - sameOwner(state)) / maxSameOwner) * 100;
    const affinity = maxAffinity === 0 ? 0 : (affinityOf(state) / maxAffinity) * 100;
    const taintScore = maxSoftTaints === 0 ? 100 : ((maxSoftTaints - softTaints(state)) / maxSoftTaints) * 100;
    const score = leastAllocated + 2 * spread + 2 * affinity + taintScore;
    if (score > bestScore + 1e-9) {
      best = state;
      bestScore = score;
    }
  }
  return best;
}

export function fitError(nodeCount: number, reasons: ReadonlyMap<string, number>): string {
  if (nodeCount === 0) return '0/0 nodes are available: no nodes available to schedule pods.';
  const parts = [...reasons.entries()].map(([reason, count]) => `${count} ${reason}`).sort();
  return `0/${nodeCount} nodes are available: ${parts.join(', ')}.`;
}

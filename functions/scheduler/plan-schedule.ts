/**
 * The scheduler's decision for pending pods, as a pure function of those pods, the nodes and
 * the pods already bound: a node for each pod that fits somewhere, and for each pod that fits
 * nowhere the reason, worded like kube-scheduler (`0/3 nodes are available: 3 Insufficient
 * cpu.`). Pods are placed one after another, each seeing the ones placed before it.
 *
 * A planner keeps its view of every node between calls, so a pass can plan a slice of pods,
 * write their bindings, and go on with the next slice from where it was. What a pod asks for
 * and what a node offers are read once; a node's use is updated as pods land on it. As
 * kube-scheduler does (`percentageOfNodesToScore`), a pod is scored on a sample of the feasible
 * nodes once the cluster is large, and each search starts where the last one ended.
 */
import type { KubeObject } from '../../schemas/meta.ts';
import { storedPod } from '../../schemas/stored-objects.ts';
import {
  allocatable,
  effectiveTaints,
  isNodeUnschedulable,
  type NodeSelectorTerm,
  nodeSelectorTerm,
  schedulingSpec,
  type Taint,
  type Toleration,
  taintText,
  termMatches,
  tolerates,
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

/** A claim of a WaitForFirstConsumer class given the node its first pod was placed on. */
export interface ClaimSelection {
  readonly namespace: string;
  readonly name: string;
  readonly nodeName: string;
}

export interface SchedulePlan {
  readonly bindings: readonly Binding[];
  readonly unschedulable: readonly Unschedulable[];
  /** Claims to annotate `volume.kubernetes.io/selected-node` (before their pods' bindings are written). */
  readonly claimSelections?: readonly ClaimSelection[];
}

/**
 * Where a pod's PersistentVolumeClaim lets it run, as kube-scheduler's VolumeBinding plugin
 * sees it: bound (to a volume whose node affinity, if any, is `terms`), waiting for its first
 * consumer (the node chosen for it, once chosen), or a reason no node will do.
 */
export type ClaimPlacement =
  | { readonly kind: 'bound'; readonly terms?: readonly NodeSelectorTerm[] }
  | { readonly kind: 'waitForFirstConsumer'; readonly selectedNode?: string }
  | { readonly kind: 'unavailable'; readonly reason: string };

/** The claims the scheduler knows, by namespace and name. */
export type ClaimLookup = (namespace: string, name: string) => ClaimPlacement;

export const volumeNodeAffinityConflict = 'node(s) had volume node affinity conflict';

export interface Planner {
  /** Plans these pods in scheduling order; each sees every placement made before it, in this call or an earlier one. */
  plan(pendingPods: readonly KubeObject[]): SchedulePlan;
}

/** A node as the planner sees it: what cannot change during a pass read once, its use kept current. */
interface NodeState {
  readonly node: KubeObject;
  readonly name: string;
  /** Position in name order: ties go to the first node by name, so plans are deterministic. */
  readonly order: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly unschedulable: boolean;
  /** NoSchedule and NoExecute taints, the not-ready one included. */
  readonly hardTaints: readonly Taint[];
  readonly softTaints: readonly Taint[];
  readonly allocatable: Resources;
  requestedCpu: number;
  requestedMemory: number;
  requestedPods: number;
  /** Requests as scoring counts them (pods asking for nothing still weigh something). */
  scoredCpu: number;
  scoredMemory: number;
  readonly ports: Set<string>;
  /** Pods per controller uid, for spreading. */
  readonly owners: Map<string, number>;
}

/** A pod as the planner sees it, read once. */
interface PodNeeds {
  readonly pod: KubeObject;
  readonly requests: Resources;
  readonly scored: Resources;
  readonly ports: readonly string[];
  readonly owner: string | undefined;
  readonly tolerations: readonly Toleration[];
  readonly nodeSelector: readonly (readonly [string, string])[];
  readonly requiredTerms: readonly NodeSelectorTerm[] | undefined;
  readonly preferred: readonly { readonly weight: number; readonly term: NodeSelectorTerm }[];
  /** Its claims: each volume's node affinity to satisfy, and the first-consumer claims this pod places. */
  readonly volumeTerms: readonly (readonly NodeSelectorTerm[])[];
  readonly claimNodes: readonly string[];
  readonly firstConsumerOf: readonly string[];
  /** Why no node will do whatever their state (a claim missing, unbound, being deleted). */
  readonly volumeRefusal: string | undefined;
}

const unschedulableTaint: Taint = { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' };

/** Below this many nodes every node is scored; kube-scheduler's minFeasibleNodesToFind. */
const minNodesToScore = 100;
const minPercentageToScore = 5;

/** How many feasible nodes a pod's search stops at: kube-scheduler's adaptive percentageOfNodesToScore. */
export function feasibleNodesToFind(nodeCount: number): number {
  if (nodeCount < minNodesToScore) return nodeCount;
  const percentage = Math.max(minPercentageToScore, 50 - Math.trunc(nodeCount / 125));
  return Math.max(minNodesToScore, Math.trunc((nodeCount * percentage) / 100));
}

function controllerUid(pod: KubeObject): string | undefined {
  return pod.metadata.ownerReferences?.find((ref) => ref.controller)?.uid;
}

export function isPendingPod(pod: KubeObject): boolean {
  const { spec = {}, status } = storedPod(pod);
  const phase = status?.phase;
  const ours = spec.schedulerName === undefined || spec.schedulerName === '' || spec.schedulerName === 'default-scheduler';
  return ours && !spec.nodeName && !pod.metadata.deletionTimestamp && phase !== 'Succeeded' && phase !== 'Failed';
}

/** Bound and not finished: holds resources on its node (terminating pods too, until gone). */
export function holdsNode(pod: KubeObject): string | undefined {
  const { spec, status } = storedPod(pod);
  const nodeName = spec?.nodeName;
  const phase = status?.phase;
  return nodeName && phase !== 'Succeeded' && phase !== 'Failed' ? nodeName : undefined;
}

function priorityOf(pod: KubeObject): number {
  return storedPod(pod).spec?.priority ?? 0;
}

function schedulingOrder(a: KubeObject, b: KubeObject): number {
  const pa = priorityOf(a);
  const pb = priorityOf(b);
  if (pa !== pb) return pb - pa;
  const ca = a.metadata.creationTimestamp ?? '';
  const cb = b.metadata.creationTimestamp ?? '';
  if (ca !== cb) return ca < cb ? -1 : 1;
  const na = `${a.metadata.namespace}/${a.metadata.name}`;
  const nb = `${b.metadata.namespace}/${b.metadata.name}`;
  return na < nb ? -1 : na > nb ? 1 : 0;
}

/** The pending pods among these, in the order the scheduler places them (priority, then age, then name). */
export function schedulingQueue(pods: readonly KubeObject[]): KubeObject[] {
  return pods.filter(isPendingPod).sort(schedulingOrder);
}

function nodeState(node: KubeObject, order: number): NodeState {
  const taints = effectiveTaints(node);
  return {
    node,
    name: node.metadata.name ?? '',
    order,
    labels: node.metadata.labels ?? {},
    unschedulable: isNodeUnschedulable(node),
    hardTaints: taints.filter((t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute'),
    softTaints: taints.filter((t) => t.effect === 'PreferNoSchedule'),
    allocatable: allocatable(node),
    requestedCpu: 0,
    requestedMemory: 0,
    requestedPods: 0,
    scoredCpu: 0,
    scoredMemory: 0,
    ports: new Set(),
    owners: new Map(),
  };
}

/** The claims a pod's volumes name. */
function claimNames(pod: KubeObject): string[] {
  const volumes = (pod.spec as { volumes?: { persistentVolumeClaim?: { claimName?: string } }[] } | undefined)?.volumes ?? [];
  return volumes.flatMap((volume) => (volume.persistentVolumeClaim?.claimName ? [volume.persistentVolumeClaim.claimName] : []));
}

function podNeeds(pod: KubeObject, claims: ClaimLookup | undefined, selected: ReadonlyMap<string, string>): PodNeeds {
  const spec = schedulingSpec(pod);
  const nodeAffinity = spec.affinity?.nodeAffinity;
  const namespace = pod.metadata.namespace ?? 'default';
  const volumeTerms: (readonly NodeSelectorTerm[])[] = [];
  const claimNodes: string[] = [];
  const firstConsumerOf: string[] = [];
  let volumeRefusal: string | undefined;
  for (const name of claims ? claimNames(pod) : []) {
    const placement = claims?.(namespace, name);
    if (!placement) continue;
    if (placement.kind === 'unavailable') {
      volumeRefusal ??= placement.reason;
    } else if (placement.kind === 'bound') {
      if (placement.terms) volumeTerms.push(placement.terms);
    } else {
      const node = placement.selectedNode ?? selected.get(`${namespace}/${name}`);
      if (node) claimNodes.push(node);
      else firstConsumerOf.push(`${namespace}/${name}`);
    }
  }
  return {
    volumeTerms,
    claimNodes,
    firstConsumerOf,
    volumeRefusal,
    pod,
    requests: podRequests(pod),
    scored: nonZeroRequests(pod),
    ports: hostPorts(pod),
    owner: controllerUid(pod),
    tolerations: spec.tolerations ?? [],
    nodeSelector: Object.entries(spec.nodeSelector ?? {}),
    requiredTerms: nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms.map(nodeSelectorTerm),
    preferred: (nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((p) => ({ weight: p.weight, term: nodeSelectorTerm(p.preference) })),
  };
}

function place(state: NodeState, needs: Pick<PodNeeds, 'requests' | 'scored' | 'ports' | 'owner'>): void {
  state.requestedCpu += needs.requests.milliCpu;
  state.requestedMemory += needs.requests.memory;
  state.requestedPods += needs.requests.pods;
  state.scoredCpu += needs.scored.milliCpu;
  state.scoredMemory += needs.scored.memory;
  for (const port of needs.ports) state.ports.add(port);
  if (needs.owner) state.owners.set(needs.owner, (state.owners.get(needs.owner) ?? 0) + 1);
}

const isTolerated = (needs: PodNeeds, taint: Taint): boolean => needs.tolerations.some((t) => tolerates(t, taint));

/** The reasons a node cannot take the pod; empty when it can. The first filter that fails decides. */
function filterNode(needs: PodNeeds, state: NodeState): readonly string[] {
  if (state.unschedulable && !isTolerated(needs, unschedulableTaint)) return ['node(s) were unschedulable'];
  for (const taint of state.hardTaints) {
    if (!isTolerated(needs, taint)) return [`node(s) had untolerated taint ${taintText(taint)}`];
  }
  for (const [key, value] of needs.nodeSelector) {
    if (state.labels[key] !== value) return ["node(s) didn't match Pod's node affinity/selector"];
  }
  if (needs.requiredTerms !== undefined && !needs.requiredTerms.some((term) => termMatches(term, state.node))) {
    return ["node(s) didn't match Pod's node affinity/selector"];
  }
  for (const port of needs.ports) {
    if (state.ports.has(port)) return ["node(s) didn't have free ports for the requested pod ports"];
  }
  const { requests } = needs;
  const tooManyPods = state.requestedPods + 1 > state.allocatable.pods;
  const noCpu = requests.milliCpu > 0 && state.requestedCpu + requests.milliCpu > state.allocatable.milliCpu;
  const noMemory = requests.memory > 0 && state.requestedMemory + requests.memory > state.allocatable.memory;
  if (!tooManyPods && !noCpu && !noMemory) {
    // VolumeBinding: every bound volume's node affinity, and the node a first-consumer claim was given.
    const volumesFit =
      needs.volumeTerms.every((terms) => terms.some((term) => termMatches(term, state.node))) && needs.claimNodes.every((node) => node === state.name);
    return volumesFit ? noReasons : [volumeNodeAffinityConflict];
  }
  const reasons: string[] = [];
  if (tooManyPods) reasons.push('Too many pods');
  if (noCpu) reasons.push('Insufficient cpu');
  if (noMemory) reasons.push('Insufficient memory');
  return reasons;
}

const noReasons: readonly string[] = [];

/** Highest total score wins; ties go to the first node by name. */
function pickBest(needs: PodNeeds, feasible: readonly NodeState[]): NodeState | undefined {
  if (feasible.length === 0) return undefined;
  const { owner, scored: wants, preferred } = needs;
  const sameOwner = (s: NodeState) => (owner ? (s.owners.get(owner) ?? 0) : 0);
  const affinityOf = (s: NodeState) => preferred.reduce((sum, p) => sum + (termMatches(p.term, s.node) ? p.weight : 0), 0);
  const softTaints = (s: NodeState) => s.softTaints.reduce((count, t) => count + (isTolerated(needs, t) ? 0 : 1), 0);
  let maxSameOwner = 0;
  let maxAffinity = 0;
  let maxSoftTaints = 0;
  const owned = owner ? feasible.map(sameOwner) : undefined;
  const affinities = preferred.length > 0 ? feasible.map(affinityOf) : undefined;
  const soft = feasible.map(softTaints);
  for (let i = 0; i < feasible.length; i++) {
    maxSameOwner = Math.max(maxSameOwner, owned?.[i] ?? 0);
    maxAffinity = Math.max(maxAffinity, affinities?.[i] ?? 0);
    maxSoftTaints = Math.max(maxSoftTaints, soft[i] ?? 0);
  }

  const free = (capacity: number, used: number) => (capacity <= 0 ? 0 : Math.max(0, (capacity - used) / capacity));
  let best: NodeState | undefined;
  let bestScore = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < feasible.length; i++) {
    const state = feasible[i] as NodeState;
    const leastAllocated =
      ((free(state.allocatable.milliCpu, state.scoredCpu + wants.milliCpu) + free(state.allocatable.memory, state.scoredMemory + wants.memory)) / 2) * 100;
    const spread = maxSameOwner === 0 ? 100 : ((maxSameOwner - (owned?.[i] ?? 0)) / maxSameOwner) * 100;
    const affinity = maxAffinity === 0 ? 0 : ((affinities?.[i] ?? 0) / maxAffinity) * 100;
    const taintScore = maxSoftTaints === 0 ? 100 : ((maxSoftTaints - (soft[i] ?? 0)) / maxSoftTaints) * 100;
    const score = leastAllocated + 2 * spread + 2 * affinity + taintScore;
    if (score > bestScore + 1e-9 || (best && Math.abs(score - bestScore) <= 1e-9 && state.order < best.order)) {
      best = state;
      bestScore = Math.max(score, bestScore);
    }
  }
  return best;
}

export function createPlanner(nodes: readonly KubeObject[], boundPods: readonly KubeObject[], claims?: ClaimLookup): Planner {
  /** First-consumer claims given a node earlier in this planner's life, `namespace/name` → node. */
  const selected = new Map<string, string>();
  const states = [...nodes].sort((a, b) => ((a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1)).map((node, order) => nodeState(node, order));
  const byName = new Map(states.map((state) => [state.name, state]));
  for (const pod of boundPods) {
    const nodeName = holdsNode(pod);
    const state = nodeName ? byName.get(nodeName) : undefined;
    if (state) place(state, { requests: podRequests(pod), scored: nonZeroRequests(pod), ports: hostPorts(pod), owner: controllerUid(pod) });
  }
  const toFind = feasibleNodesToFind(states.length);
  let nextStart = 0;

  function planOne(needs: PodNeeds): NodeState | Map<string, number> {
    const feasible: NodeState[] = [];
    const reasons = new Map<string, number>();
    let processed = 0;
    for (; processed < states.length && feasible.length < toFind; processed++) {
      const state = states[(nextStart + processed) % states.length] as NodeState;
      const failed = filterNode(needs, state);
      if (failed.length === 0) feasible.push(state);
      for (const reason of failed) reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    }
    if (states.length > 0) nextStart = (nextStart + processed) % states.length;
    return pickBest(needs, feasible) ?? reasons;
  }

  return {
    plan(pendingPods) {
      const bindings: Binding[] = [];
      const unschedulable: Unschedulable[] = [];
      const claimSelections: ClaimSelection[] = [];
      for (const pod of schedulingQueue(pendingPods)) {
        const needs = podNeeds(pod, claims, selected);
        if (needs.volumeRefusal !== undefined) {
          unschedulable.push({
            pod,
            message: states.length === 0 ? fitError(0, new Map()) : `0/${states.length} nodes are available: ${needs.volumeRefusal}.`,
          });
          continue;
        }
        const outcome = planOne(needs);
        if (outcome instanceof Map) {
          unschedulable.push({ pod, message: fitError(states.length, outcome) });
        } else {
          place(outcome, needs);
          bindings.push({ pod, nodeName: outcome.name });
          for (const key of needs.firstConsumerOf) {
            if (selected.has(key)) continue;
            selected.set(key, outcome.name);
            const [namespace = '', name = ''] = key.split('/');
            claimSelections.push({ namespace, name, nodeName: outcome.name });
          }
        }
      }
      return { bindings, unschedulable, ...(claimSelections.length > 0 ? { claimSelections } : {}) };
    },
  };
}

/** Plans every pending pod at once. */
export function planSchedule(
  pendingPods: readonly KubeObject[],
  nodes: readonly KubeObject[],
  boundPods: readonly KubeObject[],
  claims?: ClaimLookup,
): SchedulePlan {
  return createPlanner(nodes, boundPods, claims).plan(pendingPods);
}

export function fitError(nodeCount: number, reasons: ReadonlyMap<string, number>): string {
  if (nodeCount === 0) return '0/0 nodes are available: no nodes available to schedule pods.';
  const parts = [...reasons.entries()].map(([reason, count]) => `${count} ${reason}`).sort();
  return `0/${nodeCount} nodes are available: ${parts.join(', ')}.`;
}

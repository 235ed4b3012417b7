/**
 * The scheduler's filters, each a pure question about one pod and one node: the first one that
 * fails gives the node's reason(s), worded as kube-scheduler words them.
 */
import type { KubeObject } from '../../schemas/meta.ts';
import { parseMilliCpu, parseQuantity } from '../core/resource-quantity.ts';
import { notReadyTaintKey, unreachableTaintKey } from '../domain/pods/tolerations.ts';
import type { Resources } from './pod-requests.ts';

export interface Taint {
  readonly key: string;
  readonly value?: string;
  readonly effect: string;
}

export interface Toleration {
  readonly key?: string;
  readonly operator?: string;
  readonly value?: string;
  readonly effect?: string;
}

export interface NodeSelectorRequirement {
  readonly key: string;
  readonly operator: string;
  readonly values?: readonly string[];
}

export interface NodeSelectorTerm {
  readonly matchExpressions?: readonly NodeSelectorRequirement[];
  readonly matchFields?: readonly NodeSelectorRequirement[];
}

interface PodSchedulingSpec {
  readonly nodeSelector?: Record<string, string>;
  readonly tolerations?: readonly Toleration[];
  readonly affinity?: {
    readonly nodeAffinity?: {
      readonly requiredDuringSchedulingIgnoredDuringExecution?: { readonly nodeSelectorTerms?: readonly NodeSelectorTerm[] };
      readonly preferredDuringSchedulingIgnoredDuringExecution?: readonly { readonly weight?: number; readonly preference?: NodeSelectorTerm }[];
    };
  };
}

export function schedulingSpec(pod: KubeObject): PodSchedulingSpec {
  return (pod.spec ?? {}) as PodSchedulingSpec;
}

export function nodeTaints(node: KubeObject): Taint[] {
  const taints = (node.spec as { taints?: unknown } | undefined)?.taints;
  return Array.isArray(taints) ? (taints as Taint[]).filter((t) => t && typeof t.key === 'string') : [];
}

export function isNodeReady(node: KubeObject): boolean {
  const conditions = (node.status as { conditions?: unknown } | undefined)?.conditions;
  return Array.isArray(conditions) && conditions.some((c: { type?: string; status?: string }) => c?.type === 'Ready' && c.status === 'True');
}

export function isNodeUnschedulable(node: KubeObject): boolean {
  return (node.spec as { unschedulable?: unknown } | undefined)?.unschedulable === true;
}

export function tolerates(toleration: Toleration, taint: Taint): boolean {
  if (toleration.effect && toleration.effect !== taint.effect) return false;
  if (toleration.operator === 'Exists') return !toleration.key || toleration.key === taint.key;
  return toleration.key === taint.key && (toleration.value ?? '') === (taint.value ?? '');
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

function requirementMatches(requirement: NodeSelectorRequirement, value: string | undefined): boolean {
  const values = requirement.values ?? [];
  switch (requirement.operator) {
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotIn':
      return value === undefined || !values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
    case 'Lt': {
      const have = Number(value);
      const want = Number(values[0]);
      if (value === undefined || !Number.isInteger(have) || !Number.isInteger(want)) return false;
      return requirement.operator === 'Gt' ? have > want : have < want;
    }
    default:
      return false;
  }
}

/** A term matches when all of its requirements do; an empty term matches no node. */
export function termMatches(term: NodeSelectorTerm, node: KubeObject): boolean {
  const expressions = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (expressions.length === 0 && fields.length === 0) return false;
  const labels = node.metadata.labels ?? {};
  return (
    expressions.every((r) => requirementMatches(r, labels[r.key])) &&
    fields.every((r) => r.key === 'metadata.name' && requirementMatches(r, node.metadata.name))
  );
}

export function matchesNodeSelectorAndAffinity(pod: KubeObject, node: KubeObject): boolean {
  const spec = schedulingSpec(pod);
  const labels = node.metadata.labels ?? {};
  if (!Object.entries(spec.nodeSelector ?? {}).every(([k, v]) => labels[k] === v)) return false;
  const terms = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (terms === undefined) return true;
  return terms.some((term) => termMatches(term, node));
}

export function allocatable(node: KubeObject): Resources {
  const status = (node.status ?? {}) as { allocatable?: Record<string, unknown>; capacity?: Record<string, unknown> };
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

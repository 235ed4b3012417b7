/**
 * Whether a node fits a pod's placement rules: taints against tolerations, node selector terms.
 * Shared by the scheduler and the DaemonSet controller (which decides which nodes should run a
 * daemon pod by the same rules).
 */
import { z } from 'zod';
import type { KubeObject } from '../../../schemas/meta.ts';
import { type StoredNode, type StoredPod, storedNode } from '../../../schemas/stored-objects.ts';

type PodSpec = NonNullable<StoredPod['spec']>;
export type Taint = NonNullable<NonNullable<StoredNode['spec']>['taints']>[number];
export type Toleration = NonNullable<PodSpec['tolerations']>[number];

/**
 * The Pod schema keeps node selector requirements opaque, so the scheduler reads them itself,
 * once per pod. A malformed requirement matches no node, as an unknown operator does.
 */
const nodeSelectorRequirementSchema = z.object({ key: z.string(), operator: z.string(), values: z.array(z.string()).optional() });
export type NodeSelectorRequirement = z.infer<typeof nodeSelectorRequirementSchema>;

export interface NodeSelectorTerm {
  readonly matchExpressions: readonly NodeSelectorRequirement[];
  readonly matchFields: readonly NodeSelectorRequirement[];
}

const matchesNothing: NodeSelectorRequirement = { key: '', operator: '' };

function requirementsOf(values: readonly unknown[] | undefined): NodeSelectorRequirement[] {
  return (values ?? []).map((value) => {
    const parsed = nodeSelectorRequirementSchema.safeParse(value);
    return parsed.success ? parsed.data : matchesNothing;
  });
}

/** A node selector term of a pod's affinity, its requirements read. */
export function nodeSelectorTerm(term: { readonly matchExpressions?: readonly unknown[]; readonly matchFields?: readonly unknown[] }): NodeSelectorTerm {
  return { matchExpressions: requirementsOf(term.matchExpressions), matchFields: requirementsOf(term.matchFields) };
}

export function nodeTaints(node: KubeObject): Taint[] {
  return [...(storedNode(node).spec?.taints ?? [])];
}

export function tolerates(toleration: Toleration, taint: Taint): boolean {
  if (toleration.effect && toleration.effect !== taint.effect) return false;
  if (toleration.operator === 'Exists') return !toleration.key || toleration.key === taint.key;
  return toleration.key === taint.key && (toleration.value ?? '') === (taint.value ?? '');
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
  const expressions = term.matchExpressions;
  const fields = term.matchFields;
  if (expressions.length === 0 && fields.length === 0) return false;
  const labels = node.metadata.labels ?? {};
  return (
    expressions.every((r) => requirementMatches(r, labels[r.key])) &&
    fields.every((r) => r.key === 'metadata.name' && requirementMatches(r, node.metadata.name))
  );
}

/**
 * ClusterRole aggregation: a ClusterRole with an `aggregationRule` holds the rules of every other
 * ClusterRole its selectors match (by name order, each rule once), as Kubernetes'
 * clusterrole-aggregation controller writes them. `admin`, `edit` and `view` are made this way.
 */
import { selectorMatches } from '../../../../schemas/meta.ts';
import type { ClusterRole, PolicyRule } from '../../../../schemas/rbac.ts';
import { sameJson } from '../../../../schemas/structural-equality.ts';

export function aggregatedRules(role: ClusterRole, clusterRoles: readonly ClusterRole[]): PolicyRule[] | undefined {
  const selectors = role.aggregationRule?.clusterRoleSelectors;
  if (!selectors || selectors.length === 0) return undefined;
  const sorted = [...clusterRoles].sort((a, b) => ((a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1));
  const rules: PolicyRule[] = [];
  for (const selector of selectors) {
    for (const candidate of sorted) {
      if (candidate.metadata.name === role.metadata.name) continue;
      if (!selectorMatches(selector, candidate.metadata.labels ?? {})) continue;
      for (const rule of candidate.rules ?? []) if (!rules.some((known) => sameJson(known, rule))) rules.push(rule);
    }
  }
  return rules;
}

/**
 * Every aggregated ClusterRole whose rules are out of date, with its new rules, computed until
 * nothing changes (an aggregated role may itself be aggregated, as `view` is into `edit`).
 */
export function planAggregation(clusterRoles: readonly ClusterRole[]): ClusterRole[] {
  let current = [...clusterRoles];
  const changed = new Map<string, ClusterRole>();
  for (let round = 0; round < 10; round++) {
    let any = false;
    current = current.map((role) => {
      const rules = aggregatedRules(role, current);
      if (rules === undefined || sameJson(rules, role.rules ?? [])) return role;
      any = true;
      const updated = { ...role, rules };
      changed.set(role.metadata.name ?? '', updated);
      return updated;
    });
    if (!any) break;
  }
  return [...changed.values()];
}

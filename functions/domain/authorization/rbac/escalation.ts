/**
 * RBAC's escalation rule: a user may only grant (in a role, or by binding a role) permissions
 * they hold themselves. `covers` is Kubernetes' coverage check — each requested rule broken down
 * to one verb on one resource of one group (one name, one path) must be allowed by some owned
 * rule — and `escalationMessage` its error, word for word.
 */
import type { PolicyRule } from '../../../../schemas/rbac.ts';
import type { UserInfo } from '../user-info.ts';
import { ALL } from './rule-matching.ts';

/** One verb on one group/resource (and one name), or one verb on one path. */
export function breakdownRule(rule: PolicyRule): PolicyRule[] {
  const parts: PolicyRule[] = [];
  for (const group of rule.apiGroups ?? []) {
    for (const resource of rule.resources ?? []) {
      for (const verb of rule.verbs) {
        const names = rule.resourceNames ?? [];
        if (names.length > 0) {
          for (const name of names) parts.push({ apiGroups: [group], resources: [resource], verbs: [verb], resourceNames: [name] });
        } else parts.push({ apiGroups: [group], resources: [resource], verbs: [verb] });
      }
    }
  }
  for (const url of rule.nonResourceURLs ?? []) for (const verb of rule.verbs) parts.push({ nonResourceURLs: [url], verbs: [verb] });
  return parts;
}

const hasAll = (set: readonly string[], wanted: readonly string[]) => wanted.every((item) => set.includes(item));

function resourcesCover(owned: readonly string[], wanted: readonly string[]): boolean {
  if (owned.includes(ALL) || hasAll(owned, wanted)) return true;
  return wanted.every((resource) => {
    if (owned.includes(resource)) return true;
    const slash = resource.indexOf('/');
    return slash >= 0 && owned.includes(`*/${resource.slice(slash + 1)}`);
  });
}

function urlCovers(owned: string, wanted: string): boolean {
  return owned === wanted || (owned.endsWith('*') && wanted.startsWith(owned.replace(/\*+$/, '')));
}

export function ruleCovers(owner: PolicyRule, wanted: PolicyRule): boolean {
  const verbs = owner.verbs.includes(ALL) || hasAll(owner.verbs, wanted.verbs);
  const groups = (owner.apiGroups ?? []).includes(ALL) || hasAll(owner.apiGroups ?? [], wanted.apiGroups ?? []);
  const resources = resourcesCover(owner.resources ?? [], wanted.resources ?? []);
  const urls = (wanted.nonResourceURLs ?? []).every((url) => (owner.nonResourceURLs ?? []).some((ownedURL) => urlCovers(ownedURL, url)));
  const ownerNames = owner.resourceNames ?? [];
  const wantedNames = wanted.resourceNames ?? [];
  const names = wantedNames.length === 0 ? ownerNames.length === 0 : ownerNames.length === 0 || hasAll(ownerNames, wantedNames);
  return verbs && groups && resources && names && urls;
}

/** Whether `owned` allows everything `requested` does; the pieces it does not, when not. */
export function covers(owned: readonly PolicyRule[], requested: readonly PolicyRule[]): { readonly covered: boolean; readonly missing: PolicyRule[] } {
  const missing: PolicyRule[] = [];
  for (const rule of requested) {
    for (const piece of breakdownRule(rule)) {
      if (!owned.some((owner) => ruleCovers(owner, piece))) missing.push(piece);
    }
  }
  return { covered: missing.length === 0, missing };
}

/** Merges broken-down resource rules that differ only in their verb (Kubernetes' CompactRules). */
export function compactRules(rules: readonly PolicyRule[]): PolicyRule[] {
  const merged = new Map<string, PolicyRule>();
  const others: PolicyRule[] = [];
  for (const rule of rules) {
    const simple =
      (rule.apiGroups ?? []).length === 1 &&
      (rule.resources ?? []).length === 1 &&
      (rule.resourceNames ?? []).length === 0 &&
      (rule.nonResourceURLs ?? []).length === 0;
    if (!simple) {
      others.push(rule);
      continue;
    }
    const key = `${rule.apiGroups?.[0]}\u0000${rule.resources?.[0]}`;
    const existing = merged.get(key);
    if (existing) {
      const verbs = [...existing.verbs];
      for (const verb of rule.verbs) if (!verbs.includes(verb)) verbs.push(verb);
      merged.set(key, { ...existing, verbs });
    } else merged.set(key, { ...rule, verbs: [...rule.verbs] });
  }
  return [...merged.values(), ...others];
}

/** Go's `%q` of a string slice: `["get" "list"]`. */
function quotedList(values: readonly string[]): string {
  return `[${values.map((value) => JSON.stringify(value)).join(' ')}]`;
}

/** `{APIGroups:["apps"], Resources:["deployments"], Verbs:["get" "list"]}`, as Kubernetes prints a rule. */
export function compactString(rule: PolicyRule): string {
  const parts: string[] = [];
  if ((rule.apiGroups ?? []).length > 0) parts.push(`APIGroups:${quotedList(rule.apiGroups ?? [])}`);
  if ((rule.resources ?? []).length > 0) parts.push(`Resources:${quotedList(rule.resources ?? [])}`);
  if ((rule.nonResourceURLs ?? []).length > 0) parts.push(`NonResourceURLs:${quotedList(rule.nonResourceURLs ?? [])}`);
  if ((rule.resourceNames ?? []).length > 0) parts.push(`ResourceNames:${quotedList(rule.resourceNames ?? [])}`);
  if (rule.verbs.length > 0) parts.push(`Verbs:${quotedList(rule.verbs)}`);
  return `{${parts.join(', ')}}`;
}

/** The error kube-apiserver gives a user who grants what they do not hold. */
export function escalationMessage(user: UserInfo, missing: readonly PolicyRule[], resolutionErrors: readonly string[] = []): string {
  const descriptions = [...new Set(compactRules(missing).map(compactString))].sort();
  const message = `user "${user.username}" (groups=${quotedList(user.groups)}) is attempting to grant RBAC permissions not currently held:\n${descriptions.join('\n')}`;
  return resolutionErrors.length > 0 ? `${message}; resolution errors: [${resolutionErrors.join(' ')}]` : message;
}

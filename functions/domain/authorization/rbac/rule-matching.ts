/**
 * Whether one PolicyRule allows a request, and whether one binding subject is a user: RBAC's
 * matching rules, exactly as Kubernetes applies them (a star for all verbs, groups and resources;
 * star-slash-log for the log subresource of every resource; a path ending in a star for every
 * path under it; an empty `resourceNames` for every name).
 */
import type { PolicyRule, Subject } from '../../../../schemas/rbac.ts';
import type { AuthorizationAttributes } from '../authorizer.ts';
import { parseServiceAccountUsername, type UserInfo } from '../user-info.ts';

export const ALL = '*';

export function verbMatches(rule: Pick<PolicyRule, 'verbs'>, verb: string): boolean {
  return rule.verbs.some((ruleVerb) => ruleVerb === ALL || ruleVerb === verb);
}

export function apiGroupMatches(rule: Pick<PolicyRule, 'apiGroups'>, group: string): boolean {
  return (rule.apiGroups ?? []).some((ruleGroup) => ruleGroup === ALL || ruleGroup === group);
}

/** `combined` is `resource` or `resource/subresource`. */
export function resourceMatches(rule: Pick<PolicyRule, 'resources'>, combined: string, subresource: string): boolean {
  return (rule.resources ?? []).some(
    (ruleResource) => ruleResource === ALL || ruleResource === combined || (subresource !== '' && ruleResource === `*/${subresource}`),
  );
}

export function resourceNameMatches(rule: Pick<PolicyRule, 'resourceNames'>, name: string): boolean {
  const names = rule.resourceNames ?? [];
  return names.length === 0 || names.includes(name);
}

export function nonResourceURLMatches(rule: Pick<PolicyRule, 'nonResourceURLs'>, path: string): boolean {
  return (rule.nonResourceURLs ?? []).some(
    (ruleURL) => ruleURL === ALL || ruleURL === path || (ruleURL.endsWith('*') && path.startsWith(ruleURL.replace(/\*+$/, ''))),
  );
}

export function ruleAllows(attributes: AuthorizationAttributes, rule: PolicyRule): boolean {
  if (!verbMatches(rule, attributes.verb)) return false;
  if (!attributes.resourceRequest) return nonResourceURLMatches(rule, attributes.path);
  const combined = attributes.subresource ? `${attributes.resource}/${attributes.subresource}` : attributes.resource;
  return apiGroupMatches(rule, attributes.apiGroup) && resourceMatches(rule, combined, attributes.subresource) && resourceNameMatches(rule, attributes.name);
}

/**
 * Whether a binding's subject is this user. A ServiceAccount subject without a namespace means
 * the binding's own namespace (RoleBindings only).
 */
export function subjectMatches(user: UserInfo, subject: Pick<Subject, 'kind' | 'name' | 'namespace'>, bindingNamespace: string): boolean {
  switch (subject.kind) {
    case 'User':
      return user.username === subject.name;
    case 'Group':
      return user.groups.includes(subject.name);
    case 'ServiceAccount': {
      const namespace = subject.namespace || bindingNamespace;
      if (!namespace) return false;
      const account = parseServiceAccountUsername(user.username);
      return account !== undefined && account.namespace === namespace && account.name === subject.name;
    }
    default:
      return false;
  }
}

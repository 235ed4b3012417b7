/**
 * The RBAC authorizer: a request is allowed when a ClusterRoleBinding, or a RoleBinding in the
 * request's namespace, grants a role to the user (by name, group or ServiceAccount) with a rule
 * that allows it. Otherwise it has no opinion, with the bindings whose roles were missing as the
 * reason, word for word as kube-apiserver says it.
 */
import type { PolicyRule } from '../../../../schemas/rbac.ts';
import type { AuthorizationAttributes, Authorizer, NonResourceRule, ResourceRule, UserRules } from '../authorizer.ts';
import { allow, noOpinion } from '../authorizer.ts';
import type { UserInfo } from '../user-info.ts';
import type { PolicySource, RbacPolicy } from './policy.ts';
import { ruleAllows, subjectMatches } from './rule-matching.ts';

/** Where a rule came from, for the allow reason. */
interface RuleSource {
  readonly binding: string;
  readonly role: string;
  readonly subject: string;
}

/**
 * Visits every rule the policy grants `user` in `namespace` (cluster-wide ones included); stops
 * when the visitor returns true. Returns the errors met (roles that do not exist).
 */
export function visitRules(
  policy: RbacPolicy,
  user: UserInfo,
  namespace: string,
  visit: (rule: PolicyRule, source: RuleSource) => boolean,
): { readonly stopped: boolean; readonly errors: readonly string[] } {
  const errors: string[] = [];
  for (const binding of policy.clusterRoleBindings) {
    const subject = (binding.subjects ?? []).find((candidate) => subjectMatches(user, candidate, ''));
    if (!subject) continue;
    const role = binding.roleRef.kind === 'ClusterRole' ? policy.clusterRole(binding.roleRef.name) : undefined;
    if (!role) {
      errors.push(`clusterrole.rbac.authorization.k8s.io "${binding.roleRef.name}" not found`);
      continue;
    }
    const source = {
      binding: `ClusterRoleBinding "${binding.metadata.name}"`,
      role: `ClusterRole "${binding.roleRef.name}"`,
      subject: `${subject.kind} "${subject.name}"`,
    };
    for (const rule of role.rules ?? []) if (visit(rule, source)) return { stopped: true, errors };
  }
  if (namespace) {
    for (const binding of policy.roleBindingsIn(namespace)) {
      const subject = (binding.subjects ?? []).find((candidate) => subjectMatches(user, candidate, namespace));
      if (!subject) continue;
      const isClusterRole = binding.roleRef.kind === 'ClusterRole';
      const role = isClusterRole ? policy.clusterRole(binding.roleRef.name) : policy.role(namespace, binding.roleRef.name);
      if (!role) {
        errors.push(`${isClusterRole ? 'clusterrole' : 'role'}.rbac.authorization.k8s.io "${binding.roleRef.name}" not found`);
        continue;
      }
      const source = {
        binding: `RoleBinding "${binding.metadata.name}/${namespace}"`,
        role: `${binding.roleRef.kind} "${binding.roleRef.name}"`,
        subject: `${subject.kind} "${subject.name}"`,
      };
      for (const rule of role.rules ?? []) if (visit(rule, source)) return { stopped: true, errors };
    }
  }
  return { stopped: false, errors };
}

/** Errors as Go's aggregate error prints them: one alone, several in brackets. */
function aggregate(errors: readonly string[]): string {
  return errors.length === 1 ? (errors[0] ?? '') : `[${errors.join(', ')}]`;
}

/** Every rule `user` holds in `namespace`, for escalation checks and SelfSubjectRulesReview. */
export function rulesOf(policy: RbacPolicy, user: UserInfo, namespace: string): { readonly rules: readonly PolicyRule[]; readonly errors: readonly string[] } {
  const rules: PolicyRule[] = [];
  const { errors } = visitRules(policy, user, namespace, (rule) => {
    rules.push(rule);
    return false;
  });
  return { rules, errors };
}

export function toUserRules(rules: readonly PolicyRule[], errors: readonly string[]): UserRules {
  const resourceRules: ResourceRule[] = [];
  const nonResourceRules: NonResourceRule[] = [];
  for (const rule of rules) {
    if ((rule.nonResourceURLs ?? []).length > 0) {
      nonResourceRules.push({ verbs: rule.verbs, nonResourceURLs: rule.nonResourceURLs ?? [] });
    } else {
      resourceRules.push({
        verbs: rule.verbs,
        apiGroups: rule.apiGroups ?? [],
        resources: rule.resources ?? [],
        ...((rule.resourceNames ?? []).length > 0 ? { resourceNames: rule.resourceNames ?? [] } : {}),
      });
    }
  }
  return { resourceRules, nonResourceRules, incomplete: false, ...(errors.length > 0 ? { evaluationError: aggregate(errors) } : {}) };
}

export interface RbacAuthorizer extends Authorizer {
  /** The policy source, so writers of RBAC objects can invalidate it. */
  readonly policy: PolicySource;
}

export function rbacAuthorizer(policy: PolicySource): RbacAuthorizer {
  return {
    policy,
    async authorize(attributes: AuthorizationAttributes) {
      const snapshot = await policy.snapshot();
      let allowedBy: RuleSource | undefined;
      const { errors } = visitRules(snapshot, attributes.user, attributes.namespace, (rule, source) => {
        if (!ruleAllows(attributes, rule)) return false;
        allowedBy = source;
        return true;
      });
      if (allowedBy) return allow(`RBAC: allowed by ${allowedBy.binding} of ${allowedBy.role} to ${allowedBy.subject}`);
      return noOpinion(errors.length > 0 ? `RBAC: ${aggregate(errors)}` : '');
    },
    async rulesFor(user, namespace) {
      const { rules, errors } = rulesOf(await policy.snapshot(), user, namespace);
      return toUserRules(rules, errors);
    },
    invalidate() {
      policy.invalidate();
    },
  };
}

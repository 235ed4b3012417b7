/**
 * `rbac.authorization.k8s.io/v1`: Role, ClusterRole (with aggregation), RoleBinding and
 * ClusterRoleBinding, with Kubernetes' defaults (subjects' and roleRef's API group) and
 * validation (`pkg/apis/rbac/validation`), word for word where kubectl prints it.
 */
import { z } from 'zod';
import { child, type FieldCause, index, invalid, notSupported, required } from './field-errors.ts';
import { type AnyKindRules, anyKind } from './kind-rules.ts';
import { apiVersionField, kindField, labelSelectorSchema, objectMetaSchema, validateLabelSelector } from './meta.ts';
import { checkName, isDns1123Subdomain, isPathSegmentName } from './name-rules.ts';

const rbacV1 = 'io.k8s.api.rbac.v1';
export const RBAC_GROUP = 'rbac.authorization.k8s.io';

export const policyRuleSchema = z
  .object({
    verbs: z.array(z.string()).default(() => []),
    apiGroups: z.array(z.string()).optional(),
    resources: z.array(z.string()).optional(),
    resourceNames: z.array(z.string()).optional(),
    nonResourceURLs: z.array(z.string()).optional(),
  })
  .meta({
    id: `${rbacV1}.PolicyRule`,
    description: "Verbs allowed on resources of API groups (optionally only the named objects), or on non-resource URL paths. '*' means all.",
  });
export type PolicyRule = z.infer<typeof policyRuleSchema>;

export const aggregationRuleSchema = z
  .object({ clusterRoleSelectors: z.array(labelSelectorSchema).optional() })
  .meta({ id: `${rbacV1}.AggregationRule`, description: 'Selects the ClusterRoles whose rules this ClusterRole is made of.' });

export const subjectSchema = z
  .object({
    kind: z.string().default(''),
    apiGroup: z.string().optional(),
    name: z.string().default(''),
    namespace: z.string().optional(),
  })
  .meta({ id: `${rbacV1}.Subject`, description: 'A User, Group or ServiceAccount a binding grants its role to.' });
export type Subject = z.infer<typeof subjectSchema>;

export const roleRefSchema = z
  .object({
    apiGroup: z.string().default(''),
    kind: z.string().default(''),
    name: z.string().default(''),
  })
  .meta({ id: `${rbacV1}.RoleRef`, description: 'The Role or ClusterRole a binding grants. Immutable.' });
export type RoleRef = z.infer<typeof roleRefSchema>;

export const roleSchema = z
  .object({
    apiVersion: apiVersionField,
    kind: kindField,
    metadata: objectMetaSchema.default(() => ({})),
    rules: z.array(policyRuleSchema).optional(),
  })
  .meta({ id: `${rbacV1}.Role`, description: 'A namespaced set of PolicyRules, granted by RoleBindings in its namespace.' });
export type Role = z.infer<typeof roleSchema>;

export const clusterRoleSchema = z
  .object({
    apiVersion: apiVersionField,
    kind: kindField,
    metadata: objectMetaSchema.default(() => ({})),
    rules: z.array(policyRuleSchema).optional(),
    aggregationRule: aggregationRuleSchema.optional(),
  })
  .meta({
    id: `${rbacV1}.ClusterRole`,
    description: 'A cluster-wide set of PolicyRules, granted by RoleBindings (in one namespace) or ClusterRoleBindings (everywhere).',
  });
export type ClusterRole = z.infer<typeof clusterRoleSchema>;

export const roleBindingSchema = z
  .object({
    apiVersion: apiVersionField,
    kind: kindField,
    metadata: objectMetaSchema.default(() => ({})),
    subjects: z.array(subjectSchema).optional(),
    roleRef: roleRefSchema.default(() => ({ apiGroup: '', kind: '', name: '' })),
  })
  .meta({ id: `${rbacV1}.RoleBinding`, description: 'Grants a Role or ClusterRole to subjects within the binding’s namespace.' });
export type RoleBinding = z.infer<typeof roleBindingSchema>;

export const clusterRoleBindingSchema = z
  .object({
    apiVersion: apiVersionField,
    kind: kindField,
    metadata: objectMetaSchema.default(() => ({})),
    subjects: z.array(subjectSchema).optional(),
    roleRef: roleRefSchema.default(() => ({ apiGroup: '', kind: '', name: '' })),
  })
  .meta({ id: `${rbacV1}.ClusterRoleBinding`, description: 'Grants a ClusterRole to subjects in every namespace and at the cluster scope.' });
export type ClusterRoleBinding = z.infer<typeof clusterRoleBindingSchema>;

// ---- defaults ---------------------------------------------------------------------------------

/** `SetDefaults_Subject` and the roleRef's group: Users and Groups are in the RBAC group. */
function defaultBinding<T extends RoleBinding | ClusterRoleBinding>(binding: T): T {
  return {
    ...binding,
    roleRef: { ...binding.roleRef, apiGroup: binding.roleRef.apiGroup || RBAC_GROUP },
    ...(binding.subjects
      ? {
          subjects: binding.subjects.map((subject) =>
            subject.apiGroup === undefined || subject.apiGroup === ''
              ? subject.kind === 'User' || subject.kind === 'Group'
                ? { ...subject, apiGroup: RBAC_GROUP }
                : subject.kind === 'ServiceAccount'
                  ? { ...subject, apiGroup: '' }
                  : subject
              : subject,
          ),
        }
      : {}),
  };
}

// ---- validation -------------------------------------------------------------------------------

function validatePolicyRule(rule: PolicyRule, namespaced: boolean, field: string): FieldCause[] {
  const causes: FieldCause[] = [];
  if (rule.verbs.length === 0) causes.push(required(child(field, 'verbs'), 'verbs must contain at least one value'));
  const nonResourceURLs = rule.nonResourceURLs ?? [];
  if (nonResourceURLs.length > 0) {
    if (namespaced) causes.push(invalid(child(field, 'nonResourceURLs'), nonResourceURLs, 'namespaced rules cannot apply to non-resource URLs'));
    if ((rule.apiGroups ?? []).length > 0 || (rule.resources ?? []).length > 0 || (rule.resourceNames ?? []).length > 0) {
      causes.push(invalid(child(field, 'nonResourceURLs'), nonResourceURLs, 'rules cannot apply to both regular resources and non-resource URLs'));
    }
    return causes;
  }
  if ((rule.apiGroups ?? []).length === 0) causes.push(required(child(field, 'apiGroups'), 'resource rules must supply at least one api group'));
  if ((rule.resources ?? []).length === 0) causes.push(required(child(field, 'resources'), 'resource rules must supply at least one resource'));
  return causes;
}

function validateRules(rules: readonly PolicyRule[] | undefined, namespaced: boolean): FieldCause[] {
  return (rules ?? []).flatMap((rule, i) => validatePolicyRule(rule, namespaced, index('rules', i)));
}

function validateSubject(subject: Subject, namespaced: boolean, field: string): FieldCause[] {
  const causes: FieldCause[] = [];
  if (subject.name === '') causes.push(required(child(field, 'name')));
  switch (subject.kind) {
    case 'ServiceAccount':
      if (subject.name !== '') causes.push(...checkName(child(field, 'name'), subject.name, isDns1123Subdomain));
      if (subject.apiGroup) causes.push(notSupported(child(field, 'apiGroup'), subject.apiGroup, ['']));
      if (!namespaced && !subject.namespace) causes.push(required(child(field, 'namespace')));
      break;
    case 'User':
    case 'Group':
      if (subject.apiGroup !== RBAC_GROUP) causes.push(notSupported(child(field, 'apiGroup'), subject.apiGroup ?? '', [RBAC_GROUP]));
      break;
    default:
      causes.push(notSupported(child(field, 'kind'), subject.kind, ['ServiceAccount', 'User', 'Group']));
  }
  return causes;
}

function validateBinding(binding: RoleBinding | ClusterRoleBinding, namespaced: boolean): FieldCause[] {
  const causes: FieldCause[] = [];
  const { roleRef } = binding;
  if (roleRef.apiGroup !== RBAC_GROUP) causes.push(notSupported('roleRef.apiGroup', roleRef.apiGroup, [RBAC_GROUP]));
  const kinds = namespaced ? ['Role', 'ClusterRole'] : ['ClusterRole'];
  if (!kinds.includes(roleRef.kind)) causes.push(notSupported('roleRef.kind', roleRef.kind, kinds));
  if (roleRef.name === '') causes.push(required('roleRef.name'));
  else causes.push(...checkName('roleRef.name', roleRef.name, isPathSegmentName));
  (binding.subjects ?? []).forEach((subject, i) => {
    causes.push(...validateSubject(subject, namespaced, index('subjects', i)));
  });
  return causes;
}

function validateRoleRefUnchanged(binding: RoleBinding | ClusterRoleBinding, old: RoleBinding | ClusterRoleBinding): FieldCause[] {
  const same = binding.roleRef.apiGroup === old.roleRef.apiGroup && binding.roleRef.kind === old.roleRef.kind && binding.roleRef.name === old.roleRef.name;
  return same ? [] : [invalid('roleRef', binding.roleRef, 'cannot change roleRef')];
}

function validateAggregation(role: ClusterRole): FieldCause[] {
  if (!role.aggregationRule) return [];
  const selectors = role.aggregationRule.clusterRoleSelectors ?? [];
  if (selectors.length === 0) {
    return [required('aggregationRule.clusterRoleSelectors', 'at least one clusterRoleSelector required if aggregationRule is non-nil')];
  }
  return selectors.flatMap((selector, i) => validateLabelSelector(selector, index('aggregationRule.clusterRoleSelectors', i)));
}

export const roleRules: AnyKindRules = anyKind<Role>({ schema: roleSchema, nameRule: isPathSegmentName, validate: (role) => validateRules(role.rules, true) });

export const clusterRoleRules: AnyKindRules = anyKind<ClusterRole>({
  schema: clusterRoleSchema,
  nameRule: isPathSegmentName,
  validate: (role) => [...validateRules(role.rules, false), ...validateAggregation(role)],
});

export const roleBindingRules: AnyKindRules = anyKind<RoleBinding>({
  schema: roleBindingSchema,
  nameRule: isPathSegmentName,
  defaults: defaultBinding,
  validate: (binding) => validateBinding(binding, true),
  validateUpdate: validateRoleRefUnchanged,
});

export const clusterRoleBindingRules: AnyKindRules = anyKind<ClusterRoleBinding>({
  schema: clusterRoleBindingSchema,
  nameRule: isPathSegmentName,
  defaults: defaultBinding,
  validate: (binding) => validateBinding(binding, false),
  validateUpdate: validateRoleRefUnchanged,
});

/**
 * RBAC's escalation prevention, as kube-apiserver's RBAC storage enforces it: a user may write a
 * Role or ClusterRole only with rules they hold themselves (in the role's namespace, or
 * cluster-wide), unless they may `escalate` it; may write a binding only to a role whose rules
 * they hold, unless they may `bind` it. An aggregation rule can gather anything, so setting one
 * needs every permission. Members of `system:masters` may do all of it.
 */
import type { KubeObject } from '../../../schemas/meta.ts';
import { type PolicyRule, RBAC_GROUP } from '../../../schemas/rbac.ts';
import { types } from '../../../schemas/registry.ts';
import { sameJson } from '../../../schemas/structural-equality.ts';
import { ForbiddenError, isApiError, NotFoundError } from '../../core/errors.ts';
import { type Authorizer, resourceAttributes } from '../../domain/authorization/authorizer.ts';
import { covers, escalationMessage } from '../../domain/authorization/rbac/escalation.ts';
import { SYSTEM_MASTERS, type UserInfo } from '../../domain/authorization/user-info.ts';
import type { ObjectStore } from '../../store/store.ts';
import type { AdmissionAttributes, AdmissionPlugin } from './request-admission.ts';

const fullAuthority: readonly PolicyRule[] = [
  { verbs: ['*'], apiGroups: ['*'], resources: ['*'] },
  { verbs: ['*'], nonResourceURLs: ['*'] },
];

/** An update that only touches what the garbage collector needs (owners, finalizers) is no grant. */
function onlyGarbageCollectionFields(object: KubeObject, old: KubeObject | undefined): boolean {
  if (!old) return false;
  const strip = (o: KubeObject) => {
    const { ownerReferences: _owners, finalizers: _finalizers, resourceVersion: _rv, managedFields: _managed, ...metadata } = o.metadata;
    return { ...o, metadata };
  };
  return sameJson(strip(object), strip(old));
}

async function ownedRules(authorizer: Authorizer, user: UserInfo, namespace: string): Promise<{ rules: PolicyRule[]; errors: string[] }> {
  const held = await authorizer.rulesFor(user, namespace);
  const rules: PolicyRule[] = [
    ...held.resourceRules.map((rule) => ({
      verbs: [...rule.verbs],
      apiGroups: [...rule.apiGroups],
      resources: [...rule.resources],
      ...(rule.resourceNames ? { resourceNames: [...rule.resourceNames] } : {}),
    })),
    ...held.nonResourceRules.map((rule) => ({ verbs: [...rule.verbs], nonResourceURLs: [...rule.nonResourceURLs] })),
  ];
  return { rules, errors: held.evaluationError ? [held.evaluationError] : [] };
}

function forbidden(resource: string, name: string, message: string): ForbiddenError {
  return new ForbiddenError(`${resource}.${RBAC_GROUP} "${name}" is forbidden: ${message}`, { name, group: RBAC_GROUP, kind: resource });
}

async function allowedTo(authorizer: Authorizer, user: UserInfo, verb: string, resource: string, namespace: string, name: string): Promise<boolean> {
  const decision = await authorizer.authorize(resourceAttributes(user, { verb, resource, apiGroup: RBAC_GROUP, namespace, name }));
  return decision.verdict === 'allow';
}

async function checkRole(authorizer: Authorizer, attributes: AdmissionAttributes, object: KubeObject): Promise<void> {
  const resource = attributes.type.plural;
  const namespace = attributes.type.namespaced ? (attributes.namespace ?? '') : '';
  if (await allowedTo(authorizer, attributes.user, 'escalate', resource, namespace, attributes.name)) return;
  const owned = await ownedRules(authorizer, attributes.user, namespace);
  if (object.aggregationRule !== undefined && object.aggregationRule !== null && !covers(owned.rules, fullAuthority).covered) {
    throw forbidden(resource, attributes.name, 'must have cluster-admin privileges to use the aggregationRule');
  }
  const { covered, missing } = covers(owned.rules, (object.rules as PolicyRule[] | undefined) ?? []);
  if (!covered) throw forbidden(resource, attributes.name, escalationMessage(attributes.user, missing, owned.errors));
}

async function roleRules(store: ObjectStore, roleRef: { kind: string; name: string }, namespace: string): Promise<PolicyRule[]> {
  const isClusterRole = roleRef.kind === 'ClusterRole';
  try {
    const role = await store.get(isClusterRole ? types.clusterroles : types.roles, isClusterRole ? undefined : namespace, roleRef.name);
    return (role.rules as PolicyRule[] | undefined) ?? [];
  } catch (error) {
    if (isApiError(error, 404)) {
      throw new NotFoundError({ resource: isClusterRole ? 'clusterroles' : 'roles', group: RBAC_GROUP, name: roleRef.name });
    }
    throw error;
  }
}

async function checkBinding(authorizer: Authorizer, store: ObjectStore, attributes: AdmissionAttributes, object: KubeObject): Promise<void> {
  const resource = attributes.type.plural;
  const namespace = attributes.type.namespaced ? (attributes.namespace ?? '') : '';
  const roleRef = (object.roleRef ?? {}) as { kind: string; name: string };
  const roleResource = roleRef.kind === 'Role' ? 'roles' : 'clusterroles';
  if (await allowedTo(authorizer, attributes.user, 'bind', roleResource, namespace, roleRef.name)) return;
  const granted = await roleRules(store, roleRef, namespace);
  const owned = await ownedRules(authorizer, attributes.user, namespace);
  const { covered, missing } = covers(owned.rules, granted);
  if (!covered) throw forbidden(resource, attributes.name, escalationMessage(attributes.user, missing, owned.errors));
}

const roleTypes = new Set([types.roles.id, types.clusterroles.id]);
const bindingTypes = new Set([types.rolebindings.id, types.clusterrolebindings.id]);

export function rbacEscalationPlugin(authorizer: Authorizer): AdmissionPlugin {
  return {
    name: 'RBACEscalationPrevention',
    async validate(attributes, store) {
      const { type, object, operation, user } = attributes;
      if (!object || (operation !== 'CREATE' && operation !== 'UPDATE')) return;
      if (!roleTypes.has(type.id) && !bindingTypes.has(type.id)) return;
      if (user.groups.includes(SYSTEM_MASTERS)) return;
      if (operation === 'UPDATE' && onlyGarbageCollectionFields(object, attributes.oldObject)) return;
      if (roleTypes.has(type.id)) await checkRole(authorizer, attributes, object);
      else await checkBinding(authorizer, store, attributes, object);
    },
  };
}

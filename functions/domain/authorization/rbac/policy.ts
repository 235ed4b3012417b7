/**
 * The RBAC objects an authorization decision reads — every ClusterRoleBinding, the RoleBindings
 * of one namespace, and the roles they name — as one snapshot, and where snapshots come from:
 * `policyOf` builds one from objects (tests, the bootstrap policy); `storePolicySource` keeps one
 * from the store, refreshed when it may be stale.
 */
import type { KubeObject } from '../../../../schemas/meta.ts';
import type { ClusterRole, ClusterRoleBinding, Role, RoleBinding } from '../../../../schemas/rbac.ts';
import { type ResourceType, types } from '../../../../schemas/registry.ts';
import { listComplete } from '../../../store/list-all.ts';
import type { ObjectStore } from '../../../store/store.ts';

export interface RbacPolicy {
  readonly clusterRoleBindings: readonly ClusterRoleBinding[];
  roleBindingsIn(namespace: string): readonly RoleBinding[];
  clusterRole(name: string): ClusterRole | undefined;
  role(namespace: string, name: string): Role | undefined;
  readonly clusterRoles: readonly ClusterRole[];
}

export interface PolicySource {
  /** The policy as of now, or at most the source's staleness bound ago. */
  snapshot(): Promise<RbacPolicy>;
  /** Forget what is cached: the next snapshot reads afresh (called after this process writes RBAC objects). */
  invalidate(): void;
}

export interface PolicyObjects {
  readonly roles?: readonly Role[];
  readonly clusterRoles?: readonly ClusterRole[];
  readonly roleBindings?: readonly RoleBinding[];
  readonly clusterRoleBindings?: readonly ClusterRoleBinding[];
}

export function policyOf(objects: PolicyObjects): RbacPolicy {
  const roles = new Map((objects.roles ?? []).map((role) => [`${role.metadata.namespace}/${role.metadata.name}`, role]));
  const clusterRoles = new Map((objects.clusterRoles ?? []).map((role) => [role.metadata.name ?? '', role]));
  const bindingsByNamespace = new Map<string, RoleBinding[]>();
  for (const binding of objects.roleBindings ?? []) {
    const namespace = binding.metadata.namespace ?? '';
    bindingsByNamespace.set(namespace, [...(bindingsByNamespace.get(namespace) ?? []), binding]);
  }
  return {
    clusterRoleBindings: objects.clusterRoleBindings ?? [],
    roleBindingsIn: (namespace) => bindingsByNamespace.get(namespace) ?? [],
    clusterRole: (name) => clusterRoles.get(name),
    role: (namespace, name) => roles.get(`${namespace}/${name}`),
    clusterRoles: objects.clusterRoles ?? [],
  };
}

/** A fixed policy: for tests and for callers that already hold the objects. */
export function staticPolicySource(objects: PolicyObjects): PolicySource {
  const policy = policyOf(objects);
  return { snapshot: async () => policy, invalidate() {} };
}

const rbacTypes = [types.roles, types.clusterroles, types.rolebindings, types.clusterrolebindings] as const;

interface CachedType {
  readonly items: readonly KubeObject[];
  readonly revision: string;
}

/**
 * The RBAC objects of the store, cached in the process. A snapshot older than `maxAgeMs` asks the
 * store for each RBAC type's current revision (one small read per type) and relists only the
 * types that changed; `invalidate` makes the next snapshot do that at once. Kubernetes' own
 * authorizer reads from an informer cache with the same kind of short lag.
 */
export function storePolicySource(store: ObjectStore, options: { maxAgeMs?: number; now?: () => number } = {}): PolicySource {
  const maxAgeMs = options.maxAgeMs ?? 2000;
  const now = options.now ?? Date.now;
  const cached = new Map<string, CachedType>();
  let policy: RbacPolicy | undefined;
  let checkedAt = Number.NEGATIVE_INFINITY;
  let refreshing: { readonly generation: number; readonly policy: Promise<RbacPolicy> } | undefined;
  let generation = 0;

  async function refreshType(type: ResourceType): Promise<boolean> {
    const known = cached.get(type.id);
    if (known && (await store.currentRevision(type)) === known.revision) return false;
    const list = await listComplete(store, type);
    cached.set(type.id, { items: list.items, revision: list.resourceVersion });
    return true;
  }

  async function refresh(): Promise<RbacPolicy> {
    const started = now();
    const startedGeneration = generation;
    const changed = await Promise.all(rbacTypes.map(refreshType));
    if (!policy || changed.some(Boolean)) {
      const items = (type: ResourceType) => (cached.get(type.id)?.items ?? []) as never[];
      policy = policyOf({
        roles: items(types.roles),
        clusterRoles: items(types.clusterroles),
        roleBindings: items(types.rolebindings),
        clusterRoleBindings: items(types.clusterrolebindings),
      });
    }
    // An invalidation during the refresh may have come after the reads: keep it stale.
    if (generation === startedGeneration) checkedAt = started;
    return policy;
  }

  return {
    async snapshot() {
      if (policy && now() - checkedAt < maxAgeMs) return policy;
      // Share a refresh in flight, unless it began before the last invalidation.
      if (refreshing && refreshing.generation === generation) return refreshing.policy;
      const previous = refreshing?.policy.catch(() => undefined);
      const mine = { generation, policy: (previous ?? Promise.resolve()).then(refresh) };
      refreshing = mine;
      mine.policy
        .finally(() => {
          if (refreshing === mine) refreshing = undefined;
        })
        .catch(() => {});
      return mine.policy;
    },
    invalidate() {
      generation++;
      checkedAt = Number.NEGATIVE_INFINITY;
    },
  };
}

/**
 * What the shared node credential may do until each agent has its own identity: the rules of
 * the `system:node` and `system:node-proxier` roles, for members of `system:nodes` (Kubernetes
 * granted exactly this before it had the node authorizer), plus deleting a Node, which Skiff's
 * agents do for themselves when their instance leaves the Auto Scaling group (ADR 133).
 */
import type { ClusterRole } from '../../../schemas/rbac.ts';
import { bootstrapClusterRoles } from './rbac/bootstrap-policy.ts';
import { staticPolicySource } from './rbac/policy.ts';
import { rbacAuthorizer } from './rbac/rbac-authorizer.ts';
import { NODES_GROUP } from './user-info.ts';

const nodeRoles: ClusterRole[] = [
  ...bootstrapClusterRoles.filter((role) => role.metadata.name === 'system:node' || role.metadata.name === 'system:node-proxier'),
  { metadata: { name: 'skiff:node-drain' }, rules: [{ verbs: ['delete'], apiGroups: [''], resources: ['nodes'] }] },
];

export const interimNodeAuthorizer = rbacAuthorizer(
  staticPolicySource({
    clusterRoles: nodeRoles,
    clusterRoleBindings: nodeRoles.map((role) => ({
      metadata: { name: `interim:${role.metadata.name}` },
      subjects: [{ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: NODES_GROUP }],
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role.metadata.name ?? '' },
    })),
  }),
);

/**
 * The RBAC authorizer as a table: who (user, groups), what (verb, resource, subresource, name,
 * namespace, group, path), and the answer, over one policy that uses every rule form.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type AuthorizationAttributes,
  pathAttributes,
  resourceAttributes,
  superuserAuthorizer,
  unionAuthorizer,
} from '../../../../../functions/domain/authorization/authorizer.ts';
import { planAggregation } from '../../../../../functions/domain/authorization/rbac/aggregation.ts';
import { bootstrapClusterRoleBindings, bootstrapClusterRoles } from '../../../../../functions/domain/authorization/rbac/bootstrap-policy.ts';
import { staticPolicySource } from '../../../../../functions/domain/authorization/rbac/policy.ts';
import { rbacAuthorizer } from '../../../../../functions/domain/authorization/rbac/rbac-authorizer.ts';
import type { UserInfo } from '../../../../../functions/domain/authorization/user-info.ts';
import type { ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding } from '../../../../../schemas/rbac.ts';

const rbac = 'rbac.authorization.k8s.io';

function role(namespace: string, name: string, rules: PolicyRule[]): Role {
  return { metadata: { namespace, name }, rules };
}
function clusterRole(name: string, rules: PolicyRule[], labels: Record<string, string> = {}, aggregateFrom?: Record<string, string>): ClusterRole {
  return {
    metadata: { name, labels },
    rules,
    ...(aggregateFrom ? { aggregationRule: { clusterRoleSelectors: [{ matchLabels: aggregateFrom }] } } : {}),
  };
}
type SubjectSpec = { kind: 'User' | 'Group' | 'ServiceAccount'; name: string; namespace?: string };
function subjectsOf(subjects: SubjectSpec[]) {
  return subjects.map((s) => ({ ...s, apiGroup: s.kind === 'ServiceAccount' ? '' : rbac }));
}
function roleBinding(namespace: string, name: string, roleRef: { kind: 'Role' | 'ClusterRole'; name: string }, subjects: SubjectSpec[]): RoleBinding {
  return { metadata: { namespace, name }, subjects: subjectsOf(subjects), roleRef: { apiGroup: rbac, ...roleRef } };
}
function clusterRoleBinding(name: string, roleName: string, subjects: SubjectSpec[]): ClusterRoleBinding {
  return { metadata: { name }, subjects: subjectsOf(subjects), roleRef: { apiGroup: rbac, kind: 'ClusterRole', name: roleName } };
}

/** The roles with their aggregated rules filled in, as the aggregation controller leaves them. */
function aggregated(roles: readonly ClusterRole[]): ClusterRole[] {
  const changed = planAggregation(roles);
  return roles.map((role) => changed.find((c) => c.metadata.name === role.metadata.name) ?? role);
}

// Aggregation: `viewer` is made of every ClusterRole labelled team-view=true.
const clusterRoles = aggregated([
  clusterRole('viewer', [], {}, { 'team-view': 'true' }),
  clusterRole('view-pods', [{ verbs: ['get', 'list', 'watch'], apiGroups: [''], resources: ['pods', 'pods/log'] }], { 'team-view': 'true' }),
  clusterRole('view-apps', [{ verbs: ['get'], apiGroups: ['apps'], resources: ['deployments'] }], { 'team-view': 'true' }),
  clusterRole('scaler', [{ verbs: ['update', 'patch'], apiGroups: ['apps'], resources: ['*/scale'] }]),
  clusterRole('everything-in-apps', [{ verbs: ['*'], apiGroups: ['apps'], resources: ['*'] }]),
  clusterRole('health', [{ verbs: ['get'], nonResourceURLs: ['/healthz', '/healthz/*', '/logs'] }]),
  clusterRole('one-secret', [{ verbs: ['get'], apiGroups: [''], resources: ['secrets'], resourceNames: ['db'] }]),
  clusterRole('any-group-configmaps', [{ verbs: ['list'], apiGroups: ['*'], resources: ['configmaps'] }]),
]);

const policy = staticPolicySource({
  clusterRoles,
  roles: [role('team-a', 'pod-deleter', [{ verbs: ['delete'], apiGroups: [''], resources: ['pods'] }])],
  roleBindings: [
    roleBinding('team-a', 'alice-viewer', { kind: 'ClusterRole', name: 'viewer' }, [{ kind: 'User', name: 'alice' }]),
    roleBinding('team-a', 'ops-delete', { kind: 'Role', name: 'pod-deleter' }, [{ kind: 'Group', name: 'ops' }]),
    roleBinding('team-a', 'builder-scale', { kind: 'ClusterRole', name: 'scaler' }, [{ kind: 'ServiceAccount', name: 'builder' }]),
    roleBinding('team-a', 'secret-reader', { kind: 'ClusterRole', name: 'one-secret' }, [{ kind: 'User', name: 'carol' }]),
    roleBinding('team-a', 'dangling', { kind: 'Role', name: 'gone' }, [{ kind: 'User', name: 'dave' }]),
    roleBinding('team-b', 'other-builder', { kind: 'ClusterRole', name: 'scaler' }, [{ kind: 'ServiceAccount', name: 'builder', namespace: 'team-a' }]),
  ],
  clusterRoleBindings: [
    clusterRoleBinding('health', 'health', [{ kind: 'Group', name: 'system:authenticated' }]),
    clusterRoleBinding('apps-admins', 'everything-in-apps', [{ kind: 'User', name: 'erin' }]),
    clusterRoleBinding('cm-listers', 'any-group-configmaps', [{ kind: 'Group', name: 'auditors' }]),
  ],
});

const authorizer = unionAuthorizer([superuserAuthorizer, rbacAuthorizer(policy)]);

function user(username: string, ...groups: string[]): UserInfo {
  return { username, groups: [...groups, 'system:authenticated'] };
}
const alice = user('alice');
const bob = user('bob', 'ops');
const builder = user('system:serviceaccount:team-a:builder', 'system:serviceaccounts', 'system:serviceaccounts:team-a');
const otherBuilder = user('system:serviceaccount:team-c:builder');
const root = user('root', 'system:masters');

type Row = [string, UserInfo, AuthorizationAttributes, boolean];
const r = (u: UserInfo, verb: string, resource: string, extra: Partial<AuthorizationAttributes> = {}) => resourceAttributes(u, { verb, resource, ...extra });

const table: Row[] = [
  ['a RoleBinding to an aggregated ClusterRole grants its parts', alice, r(alice, 'list', 'pods', { namespace: 'team-a' }), true],
  ['... including rules from every aggregated role', alice, r(alice, 'get', 'deployments', { namespace: 'team-a', apiGroup: 'apps', name: 'web' }), true],
  ['... a subresource named in a rule', alice, r(alice, 'get', 'pods', { namespace: 'team-a', name: 'web', subresource: 'log' }), true],
  ['... not a subresource it does not name', alice, r(alice, 'get', 'pods', { namespace: 'team-a', name: 'web', subresource: 'exec' }), false],
  ['... not a verb it does not have', alice, r(alice, 'delete', 'pods', { namespace: 'team-a', name: 'web' }), false],
  ['... not in another namespace', alice, r(alice, 'list', 'pods', { namespace: 'team-b' }), false],
  ['... not across all namespaces', alice, r(alice, 'list', 'pods'), false],
  ['... not the same resource in another group', alice, r(alice, 'get', 'deployments', { namespace: 'team-a', apiGroup: 'extensions' }), false],
  ['a group subject grants to members', bob, r(bob, 'delete', 'pods', { namespace: 'team-a', name: 'web' }), true],
  ['... and not to others', alice, r(alice, 'delete', 'pods', { namespace: 'team-a', name: 'web' }), false],
  [
    'a ServiceAccount subject without a namespace means the binding’s',
    builder,
    r(builder, 'patch', 'deployments', { namespace: 'team-a', apiGroup: 'apps', name: 'web', subresource: 'scale' }),
    true,
  ],
  [
    '... */scale matches the scale subresource of every resource',
    builder,
    r(builder, 'update', 'replicasets', { namespace: 'team-a', apiGroup: 'apps', name: 'x', subresource: 'scale' }),
    true,
  ],
  ['... but not the resource itself', builder, r(builder, 'update', 'deployments', { namespace: 'team-a', apiGroup: 'apps', name: 'web' }), false],
  [
    '... with a namespace it can grant in another namespace',
    builder,
    r(builder, 'patch', 'deployments', { namespace: 'team-b', apiGroup: 'apps', name: 'web', subresource: 'scale' }),
    true,
  ],
  [
    '... and only to that account',
    otherBuilder,
    r(otherBuilder, 'patch', 'deployments', { namespace: 'team-b', apiGroup: 'apps', name: 'web', subresource: 'scale' }),
    false,
  ],
  ['resourceNames allow the named object', user('carol'), r(user('carol'), 'get', 'secrets', { namespace: 'team-a', name: 'db' }), true],
  ['resourceNames refuse another object', user('carol'), r(user('carol'), 'get', 'secrets', { namespace: 'team-a', name: 'api-key' }), false],
  ['resourceNames refuse a list (no name)', user('carol'), r(user('carol'), 'list', 'secrets', { namespace: 'team-a' }), false],
  [
    'verbs * and resources * allow everything in the group, cluster-wide',
    user('erin'),
    r(user('erin'), 'deletecollection', 'statefulsets', { namespace: 'team-z', apiGroup: 'apps' }),
    true,
  ],
  [
    '... and subresources',
    user('erin'),
    r(user('erin'), 'update', 'deployments', { namespace: 'team-z', apiGroup: 'apps', name: 'w', subresource: 'status' }),
    true,
  ],
  ['... but not another group', user('erin'), r(user('erin'), 'get', 'pods', { namespace: 'team-z', name: 'p' }), false],
  [
    'apiGroups * matches every group',
    user('frank', 'auditors'),
    r(user('frank', 'auditors'), 'list', 'configmaps', { apiGroup: 'anything.example.com' }),
    true,
  ],
  ['a nonResourceURL matches exactly', alice, pathAttributes(alice, 'get', '/logs'), true],
  ['a nonResourceURL ending in * matches below it', alice, pathAttributes(alice, 'get', '/healthz/etcd'), true],
  ['... not a sibling path', alice, pathAttributes(alice, 'get', '/logsX'), false],
  ['... nor another verb', alice, pathAttributes(alice, 'post', '/healthz'), false],
  ['a binding to a missing role grants nothing', user('dave'), r(user('dave'), 'get', 'pods', { namespace: 'team-a' }), false],
  ['system:masters may do anything', root, r(root, 'delete', 'nodes', { name: 'n1' }), true],
  ['a user with no binding may do nothing', user('nobody'), r(user('nobody'), 'get', 'pods', { namespace: 'team-a' }), false],
];

describe('the RBAC authorizer', () => {
  for (const [description, , attributes, allowed] of table) {
    it(`${allowed ? 'allows' : 'refuses'}: ${description}`, async () => {
      const decision = await authorizer.authorize(attributes);
      assert.equal(
        decision.verdict === 'allow',
        allowed,
        `${attributes.user.username} ${attributes.verb} ${attributes.resource || attributes.path}: ${decision.reason}`,
      );
      if (!allowed) assert.notEqual(decision.verdict, 'allow');
    });
  }

  it('says which binding allowed a request', async () => {
    const decision = await authorizer.authorize(r(alice, 'list', 'pods', { namespace: 'team-a' }));
    assert.equal(decision.reason, 'RBAC: allowed by RoleBinding "alice-viewer/team-a" of ClusterRole "viewer" to User "alice"');
  });

  it('names a missing role in the reason, as kube-apiserver does', async () => {
    const decision = await authorizer.authorize(r(user('dave'), 'get', 'pods', { namespace: 'team-a' }));
    assert.equal(decision.verdict, 'no-opinion');
    assert.equal(decision.reason, 'RBAC: role.rbac.authorization.k8s.io "gone" not found');
  });

  it('lists the rules a user holds in a namespace, cluster-wide ones included', async () => {
    const rules = await authorizer.rulesFor(alice, 'team-a');
    assert.deepEqual(rules.nonResourceRules, [{ verbs: ['get'], nonResourceURLs: ['/healthz', '/healthz/*', '/logs'] }]);
    assert.deepEqual(
      rules.resourceRules.map((rule) => `${rule.apiGroups.join(',')}:${rule.resources.join(',')}:${rule.verbs.join(',')}`),
      ['apps:deployments:get', ':pods,pods/log:get,list,watch'],
    );
    assert.equal(rules.incomplete, false);
  });
});

describe('the bootstrap policy', () => {
  const roles = aggregated(bootstrapClusterRoles);
  const bootstrap = unionAuthorizer([
    superuserAuthorizer,
    rbacAuthorizer(staticPolicySource({ clusterRoles: roles, clusterRoleBindings: bootstrapClusterRoleBindings })),
  ]);
  const bound = (name: string) =>
    rbacAuthorizer(
      staticPolicySource({ clusterRoles: roles, roleBindings: [roleBinding('team-a', 'b', { kind: 'ClusterRole', name }, [{ kind: 'User', name: 'u' }])] }),
    );
  const u = user('u');
  const anonymous: UserInfo = { username: 'system:anonymous', groups: ['system:unauthenticated'] };

  const cases: [string, () => ReturnType<typeof bound> | typeof bootstrap, AuthorizationAttributes, boolean][] = [
    ['everyone authenticated may discover the API', () => bootstrap, pathAttributes(u, 'get', '/apis/apps/v1'), true],
    ['anonymous may read /version and /healthz', () => bootstrap, pathAttributes(anonymous, 'get', '/version'), true],
    ['anonymous may not discover the API', () => bootstrap, pathAttributes(anonymous, 'get', '/api'), false],
    ['everyone authenticated may ask can-i', () => bootstrap, r(u, 'create', 'selfsubjectaccessreviews', { apiGroup: 'authorization.k8s.io' }), true],
    ['view reads pods', () => bound('view'), r(u, 'list', 'pods', { namespace: 'team-a' }), true],
    ['view does not read secrets', () => bound('view'), r(u, 'get', 'secrets', { namespace: 'team-a', name: 's' }), false],
    ['view does not delete', () => bound('view'), r(u, 'delete', 'pods', { namespace: 'team-a', name: 'p' }), false],
    ['edit (aggregating view) reads pods and deletes them', () => bound('edit'), r(u, 'delete', 'pods', { namespace: 'team-a', name: 'p' }), true],
    ['edit reads secrets', () => bound('edit'), r(u, 'get', 'secrets', { namespace: 'team-a', name: 's' }), true],
    ['edit may not write roles', () => bound('edit'), r(u, 'create', 'roles', { namespace: 'team-a', apiGroup: rbac }), false],
    ['admin writes roles and rolebindings', () => bound('admin'), r(u, 'create', 'rolebindings', { namespace: 'team-a', apiGroup: rbac }), true],
    ['admin (aggregating edit and view) lists deployments', () => bound('admin'), r(u, 'list', 'deployments', { namespace: 'team-a', apiGroup: 'apps' }), true],
    [
      'admin may create tokens for service accounts',
      () => bound('admin'),
      r(u, 'create', 'serviceaccounts', { namespace: 'team-a', name: 'sa', subresource: 'token' }),
      true,
    ],
    ['admin in a namespace may not read nodes', () => bound('admin'), r(u, 'get', 'nodes', { name: 'n1' }), false],
    // Sessions into pods: `create` for kubectl's SPDY POST, `get` for its WebSocket GET, in edit and admin as in Kubernetes.
    ...(['exec', 'attach', 'portforward'] as const).flatMap((subresource) =>
      (['create', 'get'] as const).flatMap((verb): [string, () => ReturnType<typeof bound>, AuthorizationAttributes, boolean][] => [
        [`edit may ${verb} pods/${subresource}`, () => bound('edit'), r(u, verb, 'pods', { namespace: 'team-a', name: 'p', subresource }), true],
        [`admin may ${verb} pods/${subresource}`, () => bound('admin'), r(u, verb, 'pods', { namespace: 'team-a', name: 'p', subresource }), true],
        [`view may not ${verb} pods/${subresource}`, () => bound('view'), r(u, verb, 'pods', { namespace: 'team-a', name: 'p', subresource }), false],
      ]),
    ),
    [
      'a node may not exec into pods through RBAC',
      () => bootstrap,
      r({ username: 'system:node:n1', groups: ['system:nodes', 'system:authenticated'] }, 'create', 'pods', {
        namespace: 'team-a',
        name: 'p',
        subresource: 'exec',
      }),
      false,
    ],
  ];
  for (const [description, authorizerOf, attributes, allowed] of cases) {
    it(`${allowed ? 'allows' : 'refuses'}: ${description}`, async () => {
      assert.equal((await authorizerOf().authorize(attributes)).verdict === 'allow', allowed);
    });
  }
});

/**
 * The RBAC policy in the store (DynamoDB Local): the bootstrap roles and bindings created and
 * reconciled without losing a user's edits, aggregation kept up to date, and the authorizer's
 * cache seeing writes at once after an invalidation and within its bound otherwise.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { resourceAttributes } from '../../../functions/domain/authorization/authorizer.ts';
import { AUTOUPDATE_ANNOTATION } from '../../../functions/domain/authorization/rbac/bootstrap-policy.ts';
import { storePolicySource } from '../../../functions/domain/authorization/rbac/policy.ts';
import { rbacAuthorizer } from '../../../functions/domain/authorization/rbac/rbac-authorizer.ts';
import { applyAggregation, reconcileBootstrapPolicy } from '../../../functions/domain/authorization/rbac/reconcile-policy.ts';
import { createDynamoDbStore, type DynamoDbStore } from '../../../functions/store/dynamodb-store.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import type { PolicyRule } from '../../../schemas/rbac.ts';
import { types } from '../../../schemas/registry.ts';
import { type TestDynamoDb, useDynamoDb } from '../../support/dynamodb.ts';

let db: TestDynamoDb;
let store: DynamoDbStore;

before(async () => {
  db = await useDynamoDb();
  store = createDynamoDbStore({ client: db.client, tables: db.tables, pollIntervalMs: 50 });
});

after(async () => {
  store.close();
  await db.cleanup();
});

const rulesOf = async (name: string) => ((await store.get(types.clusterroles, undefined, name)).rules ?? []) as PolicyRule[];

describe('the bootstrap policy in the store', () => {
  it('creates the default roles and bindings, with admin, edit and view aggregated', async () => {
    await reconcileBootstrapPolicy(store);
    const binding = await store.get(types.clusterrolebindings, undefined, 'cluster-admin');
    assert.deepEqual(binding.subjects, [{ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'system:masters' }]);
    const view = await rulesOf('view');
    const edit = await rulesOf('edit');
    const admin = await rulesOf('admin');
    assert.ok(view.some((rule) => rule.resources?.includes('pods') && rule.verbs.includes('list')));
    assert.ok(!view.some((rule) => rule.resources?.includes('secrets')));
    assert.ok(
      view.every((rule) => edit.some((e) => JSON.stringify(e) === JSON.stringify(rule))),
      'edit holds every rule of view',
    );
    assert.ok(admin.some((rule) => rule.resources?.includes('rolebindings')));
    assert.ok(
      edit.every((rule) => admin.some((a) => JSON.stringify(a) === JSON.stringify(rule))),
      'admin holds every rule of edit',
    );
  });

  it('changes nothing when run again', async () => {
    const before = await store.get(types.clusterroles, undefined, 'edit');
    await reconcileBootstrapPolicy(store);
    const after = await store.get(types.clusterroles, undefined, 'edit');
    assert.equal(after.metadata.resourceVersion, before.metadata.resourceVersion);
  });

  it("puts back a removed rule and subject, keeping the user's additions", async () => {
    const basic = await store.get(types.clusterroles, undefined, 'system:basic-user');
    const extra: PolicyRule = { verbs: ['get'], apiGroups: [''], resources: ['configmaps'] };
    await store.update(types.clusterroles, { ...basic, rules: [extra], metadata: { ...basic.metadata, labels: { team: 'mine' } } });
    const binding = await store.get(types.clusterrolebindings, undefined, 'system:discovery');
    await store.update(types.clusterrolebindings, { ...binding, subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'carol' }] });

    await reconcileBootstrapPolicy(store);

    const rules = await rulesOf('system:basic-user');
    assert.deepEqual(rules[0], extra);
    assert.ok(rules.some((rule) => rule.resources?.includes('selfsubjectaccessreviews')));
    const labels = (await store.get(types.clusterroles, undefined, 'system:basic-user')).metadata.labels;
    assert.equal(labels?.team, 'mine');
    assert.equal(labels?.['kubernetes.io/bootstrapping'], 'rbac-defaults');
    const subjects = (await store.get(types.clusterrolebindings, undefined, 'system:discovery')).subjects as { name: string }[];
    assert.deepEqual(
      subjects.map((s) => s.name),
      ['carol', 'system:authenticated'],
    );
  });

  it('leaves a role alone when its autoupdate annotation is "false"', async () => {
    const monitoring = await store.get(types.clusterroles, undefined, 'system:monitoring');
    const annotations = { ...monitoring.metadata.annotations, [AUTOUPDATE_ANNOTATION]: 'false' };
    await store.update(types.clusterroles, { ...monitoring, rules: [], metadata: { ...monitoring.metadata, annotations } });
    await reconcileBootstrapPolicy(store);
    assert.deepEqual(await rulesOf('system:monitoring'), []);
  });

  it('aggregates a new labelled ClusterRole into edit and admin', async () => {
    const widgets: KubeObject = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'widgets-edit', labels: { 'rbac.authorization.k8s.io/aggregate-to-edit': 'true' } },
      rules: [{ verbs: ['*'], apiGroups: ['example.com'], resources: ['widgets'] }],
    };
    await store.create(types.clusterroles, widgets);
    assert.ok((await applyAggregation(store)) >= 2);
    for (const name of ['edit', 'admin'])
      assert.ok(
        (await rulesOf(name)).some((rule) => rule.resources?.includes('widgets')),
        name,
      );
    assert.ok(!(await rulesOf('view')).some((rule) => rule.resources?.includes('widgets')));
  });
});

describe("the authorizer's view of the store", () => {
  const alice = { username: 'alice', groups: ['system:authenticated'] };
  const listPods = resourceAttributes(alice, { verb: 'list', resource: 'pods', namespace: 'cache-test' });
  const binding: KubeObject = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'alice-view', namespace: 'cache-test' },
    subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'alice' }],
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
  };

  it('sees a new binding right after an invalidation', async () => {
    const policy = storePolicySource(store, { maxAgeMs: 60_000 });
    const authorizer = rbacAuthorizer(policy);
    assert.equal((await authorizer.authorize(listPods)).verdict, 'no-opinion');
    await store.create(types.rolebindings, binding);
    assert.equal((await authorizer.authorize(listPods)).verdict, 'no-opinion', 'still cached');
    authorizer.invalidate?.();
    assert.equal((await authorizer.authorize(listPods)).verdict, 'allow');
  });

  it('sees a deleted binding once its snapshot is older than the bound', async () => {
    let clock = 0;
    const authorizer = rbacAuthorizer(storePolicySource(store, { maxAgeMs: 1000, now: () => clock }));
    assert.equal((await authorizer.authorize(listPods)).verdict, 'allow');
    await store.delete(types.rolebindings, 'cache-test', 'alice-view');
    clock = 999;
    assert.equal((await authorizer.authorize(listPods)).verdict, 'allow', 'within the bound');
    clock = 1000;
    assert.equal((await authorizer.authorize(listPods)).verdict, 'no-opinion');
  });
});

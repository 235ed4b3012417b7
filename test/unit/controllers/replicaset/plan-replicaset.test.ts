import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planReplicaSet } from '../../../../functions/controllers/replicaset/plan-replicaset.ts';
import { now, pod, replicaSet } from '../../fixtures.ts';

describe('planReplicaSet', () => {
  const rs3 = replicaSet('web-abc', 3);

  const scaling = [
    { name: 'creates 3 pods when 3 are desired and none exist', rs: rs3, pods: [], create: 3, remove: [] as string[] },
    { name: 'creates 2 pods when 3 are desired and 1 is running', rs: rs3, pods: [pod('a', { owner: rs3, node: 'n1', ready: true })], create: 2, remove: [] },
    {
      name: 'does nothing when exactly the desired pods are active',
      rs: rs3,
      pods: ['a', 'b', 'c'].map((n) => pod(n, { owner: rs3, node: 'n1', ready: true })),
      create: 0,
      remove: [],
    },
    {
      name: 'replaces a pod that is being deleted',
      rs: rs3,
      pods: [
        pod('a', { owner: rs3, node: 'n1', ready: true }),
        pod('b', { owner: rs3, node: 'n1', ready: true }),
        pod('c', { owner: rs3, node: 'n1', deleting: true }),
      ],
      create: 1,
      remove: [],
    },
    {
      name: 'replaces a failed pod',
      rs: rs3,
      pods: [
        pod('a', { owner: rs3, node: 'n1', ready: true }),
        pod('b', { owner: rs3, node: 'n1', ready: true }),
        pod('c', { owner: rs3, node: 'n1', phase: 'Failed' }),
      ],
      create: 1,
      remove: [],
    },
    {
      name: 'ignores pods another controller owns',
      rs: rs3,
      pods: [pod('x', { owner: replicaSet('other', 1), node: 'n1', ready: true }), pod('y', { node: 'n1', ready: true })],
      create: 3,
      remove: [],
    },
    {
      name: 'deletes the unscheduled pod first when scaling down',
      rs: replicaSet('web-abc', 2),
      pods: [pod('a', { owner: rs3, node: 'n1', ready: true }), pod('b', { owner: rs3 }), pod('c', { owner: rs3, node: 'n1', ready: true })],
      create: 0,
      remove: ['b'],
    },
    {
      name: 'deletes not-ready pods before ready ones',
      rs: replicaSet('web-abc', 1),
      pods: [
        pod('a', { owner: rs3, node: 'n1', ready: true }),
        pod('b', { owner: rs3, node: 'n1', ready: false }),
        pod('c', { owner: rs3, node: 'n1', ready: true }),
      ],
      create: 0,
      remove: ['b', 'c'],
    },
    {
      name: 'deletes the newest of equally ready pods',
      rs: replicaSet('web-abc', 1),
      pods: [
        pod('old', { owner: rs3, node: 'n1', ready: true, readySecondsAgo: 60, createdSecondsAgo: 300 }),
        pod('new', { owner: rs3, node: 'n1', ready: true, readySecondsAgo: 60, createdSecondsAgo: 100 }),
      ],
      create: 0,
      remove: ['new'],
    },
    {
      name: 'deletes the pod ready for the shortest time',
      rs: replicaSet('web-abc', 1),
      pods: [
        pod('long', { owner: rs3, node: 'n1', ready: true, readySecondsAgo: 500 }),
        pod('short', { owner: rs3, node: 'n1', ready: true, readySecondsAgo: 5 }),
      ],
      create: 0,
      remove: ['short'],
    },
    { name: 'creates nothing for a ReplicaSet being deleted', rs: replicaSet('web-abc', 3, { deleting: true }), pods: [], create: 0, remove: [] },
  ];

  for (const c of scaling) {
    it(c.name, () => {
      const plan = planReplicaSet(c.rs, c.pods, now);
      assert.equal(plan.create.length, c.create);
      assert.deepEqual(
        plan.delete.map((p) => p.metadata.name),
        c.remove,
      );
    });
  }

  it('builds pods from the template with generateName, labels and a controller reference', () => {
    const [created] = planReplicaSet(rs3, [], now).create;
    assert.ok(created);
    assert.equal(created.metadata.generateName, 'web-abc-');
    assert.equal(created.metadata.namespace, 'default');
    assert.deepEqual(created.metadata.labels, { app: 'web' });
    assert.deepEqual(created.metadata.ownerReferences, [
      { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-abc', uid: 'uid-web-abc', controller: true, blockOwnerDeletion: true },
    ]);
    assert.deepEqual(created.spec, { containers: [{ name: 'web', image: 'nginx' }] });
  });

  const statuses = [
    {
      name: 'counts ready and available pods',
      rs: rs3,
      pods: [pod('a', { owner: rs3, node: 'n1', ready: true }), pod('b', { owner: rs3, node: 'n1', ready: true }), pod('c', { owner: rs3, node: 'n1' })],
      status: { replicas: 3, fullyLabeledReplicas: 3, readyReplicas: 2, availableReplicas: 2, observedGeneration: 1 },
      requeue: undefined,
    },
    {
      name: 'counts a ready pod as available only after minReadySeconds',
      rs: replicaSet('web-abc', 2, { minReadySeconds: 30 }),
      pods: [pod('a', { owner: rs3, node: 'n1', ready: true, readySecondsAgo: 60 }), pod('b', { owner: rs3, node: 'n1', ready: true, readySecondsAgo: 10 })],
      status: { replicas: 2, fullyLabeledReplicas: 2, readyReplicas: 2, availableReplicas: 1, observedGeneration: 1 },
      requeue: 20,
    },
    {
      name: 'never counts the pods it is deleting',
      rs: replicaSet('web-abc', 1),
      pods: [pod('a', { owner: rs3, node: 'n1', ready: true, readySecondsAgo: 100 }), pod('b', { owner: rs3, node: 'n1', ready: true, readySecondsAgo: 10 })],
      status: { replicas: 1, fullyLabeledReplicas: 1, readyReplicas: 1, availableReplicas: 1, observedGeneration: 1 },
      requeue: undefined,
    },
    {
      name: 'counts pods missing template labels as not fully labeled',
      rs: rs3,
      pods: [pod('a', { owner: rs3, node: 'n1', ready: true, labels: {} })],
      status: { replicas: 1, fullyLabeledReplicas: 0, readyReplicas: 1, availableReplicas: 1, observedGeneration: 1 },
      requeue: undefined,
    },
  ];
  for (const c of statuses) {
    it(c.name, () => {
      const plan = planReplicaSet(c.rs, c.pods, now);
      assert.deepEqual(plan.status, c.status);
      assert.equal(plan.requeueAfterSeconds, c.requeue);
    });
  }

  it('leaves an up-to-date status alone', () => {
    const rs = replicaSet('web-abc', 1, { status: { replicas: 1, fullyLabeledReplicas: 1, readyReplicas: 1, availableReplicas: 1, observedGeneration: 1 } });
    const plan = planReplicaSet(rs, [pod('a', { owner: rs, node: 'n1', ready: true })], now);
    assert.equal(plan.status, undefined);
  });
});

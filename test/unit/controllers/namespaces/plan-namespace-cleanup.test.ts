import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planNamespaceCleanup } from '../../../../functions/controllers/namespaces/plan-namespace-cleanup.ts';
import type { KubeObject } from '../../../../schemas/meta.ts';
import { types } from '../../../../schemas/registry.ts';
import { pod, replicaSet, secondsAgo } from '../../fixtures.ts';

const terminating: KubeObject = {
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name: 'default', deletionTimestamp: secondsAgo(1) },
  status: { phase: 'Terminating' },
};
const active: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' }, status: { phase: 'Active' } };
const event: KubeObject = { apiVersion: 'v1', kind: 'Event', metadata: { name: 'e1', namespace: 'default' } };

describe('planNamespaceCleanup', () => {
  it('does nothing for a namespace that is not being deleted', () => {
    assert.deepEqual(planNamespaceCleanup(active, [{ type: types.pods, object: pod('a') }]), { delete: [], waitingFor: 0, removeNamespace: false });
  });

  it('deletes owners before pods, each only while it is the object that was read', () => {
    const plan = planNamespaceCleanup(terminating, [
      { type: types.pods, object: pod('bound', { node: 'n1' }) },
      { type: types.pods, object: pod('unbound') },
      { type: types.replicasets, object: replicaSet('web-1', 1) },
    ]);
    // How each kind goes (a bound pod gracefully, an unbound one at once) is its strategy's part, not the plan's.
    assert.deepEqual(
      plan.delete.map((d) => [d.object.metadata.name, d.options]),
      [
        ['web-1', { preconditions: { uid: replicaSet('web-1', 1).metadata.uid } }],
        ['bound', { preconditions: { uid: 'uid-bound' } }],
        ['unbound', { preconditions: { uid: 'uid-unbound' } }],
      ],
    );
    assert.equal(plan.removeNamespace, false);
  });

  it('waits for objects already terminating', () => {
    const plan = planNamespaceCleanup(terminating, [{ type: types.pods, object: pod('going', { node: 'n1', deleting: true }) }]);
    assert.deepEqual(plan, { delete: [], waitingFor: 1, removeNamespace: false });
  });

  it('removes the namespace when only events are left', () => {
    assert.deepEqual(planNamespaceCleanup(terminating, [{ type: types.events, object: event }]), { delete: [], waitingFor: 0, removeNamespace: true });
  });
});

/** Which pods a ReplicaSet or ReplicationController claims: its own, orphans to adopt, pods to release. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withControllerRefTo, withoutReferenceTo } from '../../../../functions/controller-runtime/owner-references.ts';
import { claimPods } from '../../../../functions/controllers/replicaset/claim-pods.ts';
import type { KubeObject } from '../../../../schemas/meta.ts';

const replicaSet = (deleting = false): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  metadata: { name: 'web', namespace: 'apps', uid: 'rs-uid', ...(deleting ? { deletionTimestamp: '2026-11-29T10:00:00Z' } : {}) },
  spec: { selector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['debug'] }] } },
});

const controller = (uid: string, kind = 'ReplicaSet') => ({ apiVersion: 'apps/v1', kind, name: 'x', uid, controller: true, blockOwnerDeletion: true });

function pod(name: string, labels: Record<string, string>, options: { owner?: string; otherRef?: boolean; deleting?: boolean } = {}): KubeObject {
  const refs = [
    ...(options.otherRef ? [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'c', uid: 'cm-uid' }] : []),
    ...(options.owner ? [controller(options.owner)] : []),
  ];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'apps',
      labels,
      ...(refs.length > 0 ? { ownerReferences: refs } : {}),
      ...(options.deleting ? { deletionTimestamp: '2026-11-29T10:00:00Z' } : {}),
    },
  };
}

const names = (pods: readonly KubeObject[]) => pods.map((p) => p.metadata.name);

describe('claimPods', () => {
  const pods = [
    pod('mine', { app: 'web' }, { owner: 'rs-uid' }),
    pod('relabelled', { app: 'web', tier: 'debug' }, { owner: 'rs-uid' }),
    pod('orphan', { app: 'web' }),
    pod('orphan-with-other-ref', { app: 'web' }, { otherRef: true }),
    pod('orphan-going', { app: 'web' }, { deleting: true }),
    pod('orphan-elsewhere', { app: 'db' }),
    pod('another-controllers', { app: 'web' }, { owner: 'other-uid' }),
    pod('mine-going', { app: 'web' }, { owner: 'rs-uid', deleting: true }),
  ];

  it('keeps its matching pods, adopts matching orphans not being deleted, releases its pods the selector left', () => {
    const claims = claimPods(replicaSet(), pods);
    assert.deepEqual(names(claims.owned), ['mine', 'mine-going']);
    assert.deepEqual(names(claims.adopt), ['orphan', 'orphan-with-other-ref']);
    assert.deepEqual(names(claims.release), ['relabelled']);
  });

  it('neither adopts nor releases while the ReplicaSet is being deleted', () => {
    const claims = claimPods(replicaSet(true), pods);
    assert.deepEqual(names(claims.owned), ['mine', 'mine-going']);
    assert.deepEqual([claims.adopt, claims.release], [[], []]);
  });

  it("matches a ReplicationController's plain label map", () => {
    const rc: KubeObject = {
      apiVersion: 'v1',
      kind: 'ReplicationController',
      metadata: { name: 'legacy', namespace: 'apps', uid: 'rc-uid' },
      spec: { selector: { app: 'legacy' } },
    };
    const claims = claimPods(rc, [
      pod('orphan', { app: 'legacy', extra: 'x' }),
      pod('other', { app: 'web' }),
      pod('left', { app: 'web' }, { owner: 'rc-uid' }),
    ]);
    assert.deepEqual([names(claims.owned), names(claims.adopt), names(claims.release)], [[], ['orphan'], ['left']]);
  });

  it('adds a controller reference on adoption and removes only its own on release', () => {
    const rs = replicaSet();
    const adopted = withControllerRefTo(pod('orphan-with-other-ref', { app: 'web' }, { otherRef: true }), rs);
    assert.deepEqual(
      adopted.metadata.ownerReferences?.map((ref) => [ref.kind, ref.uid, ref.controller === true]),
      [
        ['ConfigMap', 'cm-uid', false],
        ['ReplicaSet', 'rs-uid', true],
      ],
    );
    assert.deepEqual(withoutReferenceTo(adopted, 'rs-uid').metadata.ownerReferences, [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'c', uid: 'cm-uid' }]);
    assert.equal('ownerReferences' in withoutReferenceTo(pod('p', {}, { owner: 'rs-uid' }), 'rs-uid').metadata, false);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planGarbageCollection } from '../../../../functions/controllers/garbage-collector/plan-garbage-collection.ts';
import type { KubeObject } from '../../../../schemas/meta.ts';
import { ownerRef, pod, replicaSet, secondsAgo } from '../../fixtures.ts';

const owner = replicaSet('web-1', 2);
const marked = (finalizers: string[]): KubeObject => ({ ...owner, metadata: { ...owner.metadata, deletionTimestamp: secondsAgo(1), finalizers } });
const other = replicaSet('other', 1);

describe('planGarbageCollection', () => {
  it('leaves the dependents of a live owner alone', () => {
    const plan = planGarbageCollection('uid-web-1', owner, [pod('a', { owner })]);
    assert.deepEqual(plan, { delete: [], release: [] });
  });

  it('deletes the dependents of an owner that is gone (Background)', () => {
    const plan = planGarbageCollection('uid-web-1', undefined, [pod('a', { owner }), pod('b', { owner }), pod('c', { owner: other })]);
    assert.deepEqual(
      plan.delete.map((d) => [d.object.metadata.name, d.foreground]),
      [
        ['a', false],
        ['b', false],
      ],
    );
  });

  it('treats a same-named owner with another uid as gone', () => {
    const reborn = { ...owner, metadata: { ...owner.metadata, uid: 'uid-new' } };
    assert.equal(planGarbageCollection('uid-web-1', reborn, [pod('a', { owner })]).delete.length, 1);
  });

  it('only drops the reference when another owner remains', () => {
    const shared = {
      ...pod('a', { owner }),
      metadata: { ...pod('a').metadata, ownerReferences: [ownerRef(owner), { ...ownerRef(other), controller: false }] },
    };
    const plan = planGarbageCollection('uid-web-1', undefined, [shared]);
    assert.equal(plan.delete.length, 0);
    assert.deepEqual(
      plan.release[0]?.metadata.ownerReferences?.map((r) => r.uid),
      ['uid-other'],
    );
  });

  it('orphans dependents and then removes the orphan finalizer', () => {
    const plan = planGarbageCollection('uid-web-1', marked(['orphan']), [pod('a', { owner })]);
    assert.equal(plan.delete.length, 0);
    assert.equal(plan.release[0]?.metadata.ownerReferences, undefined);
    assert.deepEqual(plan.owner?.metadata.finalizers, []);
  });

  it('deletes dependents in foreground and keeps the finalizer while they exist', () => {
    const plan = planGarbageCollection('uid-web-1', marked(['foregroundDeletion']), [pod('a', { owner }), pod('b', { owner, deleting: true })]);
    assert.deepEqual(
      plan.delete.map((d) => [d.object.metadata.name, d.foreground]),
      [['a', true]],
    );
    assert.equal(plan.owner, undefined);
  });

  it('removes the foregroundDeletion finalizer once no dependent is left', () => {
    const plan = planGarbageCollection('uid-web-1', marked(['foregroundDeletion']), []);
    assert.deepEqual(plan.owner?.metadata.finalizers, []);
  });
});

/** The garbage collector's apply step against the memory store: dependents of deleted owners go, or are orphaned, as asked. */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { garbageCollector } from '../../../../functions/controllers/garbage-collector/garbage-collector.ts';
import { isApiError } from '../../../../functions/core/errors.ts';
import type { KubeObject } from '../../../../schemas/meta.ts';
import { types } from '../../../../schemas/registry.ts';
import { type MemoryCluster, memoryCluster } from '../../../support/memory-cluster.ts';

function replicaSet(): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: 'web', namespace: 'apps' },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx' }] } },
    },
  };
}

function podOf(owner: KubeObject, name: string, nodeName?: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'apps',
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: owner.metadata.uid ?? '', controller: true, blockOwnerDeletion: true }],
    },
    spec: { ...(nodeName ? { nodeName } : {}), containers: [{ name: 'web', image: 'nginx' }] },
  };
}

const ownerKey = (owner: KubeObject) => ({ typeId: types.replicasets.id, namespace: 'apps', name: 'web', uid: owner.metadata.uid ?? '' });

let world: MemoryCluster;
beforeEach(async () => {
  world = await memoryCluster();
  await world.namespace('apps');
});
afterEach(() => world.close());

describe('garbageCollector.reconcile', () => {
  it("deletes a gone owner's dependents, each as its kind is deleted (a bound pod gracefully)", async () => {
    const owner = await world.admission.create(types.replicasets, replicaSet());
    await world.admission.create(types.pods, podOf(owner, 'bound', 'n1'));
    await world.admission.create(types.pods, podOf(owner, 'unbound'));
    await world.raw.delete(types.replicasets, 'apps', 'web');
    await garbageCollector.reconcile(ownerKey(owner), world.controllerContext());
    assert.deepEqual(
      (await world.raw.list(types.pods, { namespace: 'apps' })).items.map((p) => [p.metadata.name, p.metadata.deletionGracePeriodSeconds]),
      [['bound', 30]],
    );
  });

  it('orphans the dependents of an owner deleted with the orphan finalizer, then lets the owner go', async () => {
    const owner = await world.admission.create(types.replicasets, replicaSet());
    await world.admission.create(types.pods, podOf(owner, 'kept'));
    await world.admission.delete(types.replicasets, owner, { addFinalizers: ['orphan'] });
    await garbageCollector.reconcile(ownerKey(owner), world.controllerContext());
    const kept = await world.raw.get(types.pods, 'apps', 'kept');
    assert.equal(kept.metadata.ownerReferences, undefined);
    assert.deepEqual((kept.spec as { tolerations?: unknown[] }).tolerations?.length, 2, 'an update of the pod itself keeps its default tolerations');
    await assert.rejects(world.raw.get(types.replicasets, 'apps', 'web'), (e) => isApiError(e, 404));
  });

  it('keeps an owner deleted in the foreground until its blocking dependents are gone', async () => {
    const owner = await world.admission.create(types.replicasets, replicaSet());
    await world.admission.create(types.pods, podOf(owner, 'unbound'));
    await world.admission.delete(types.replicasets, owner, { addFinalizers: ['foregroundDeletion'] });
    await garbageCollector.reconcile(ownerKey(owner), world.controllerContext());
    assert.equal((await world.raw.list(types.pods, { namespace: 'apps' })).items.length, 0);
    assert.ok((await world.raw.get(types.replicasets, 'apps', 'web')).metadata.deletionTimestamp, 'waits for the next look');
    await garbageCollector.reconcile(ownerKey(owner), world.controllerContext());
    await assert.rejects(world.raw.get(types.replicasets, 'apps', 'web'), (e) => isApiError(e, 404));
  });

  it('leaves the dependents of a live owner alone', async () => {
    const owner = await world.admission.create(types.replicasets, replicaSet());
    await world.admission.create(types.pods, podOf(owner, 'a'));
    world.resetCalls();
    await garbageCollector.reconcile(ownerKey(owner), world.controllerContext());
    assert.deepEqual([world.calls.get, world.calls.list, world.calls.update, world.calls.delete], [1, 0, 0, 0]);
  });
});

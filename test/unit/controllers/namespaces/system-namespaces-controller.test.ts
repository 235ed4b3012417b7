/** The system namespaces controller against the memory store: the four system namespaces are always there. */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { namespaceController } from '../../../../functions/controllers/namespaces/namespace-controller.ts';
import { systemNamespacesController } from '../../../../functions/controllers/namespaces/system-namespaces-controller.ts';
import { isApiError } from '../../../../functions/core/errors.ts';
import { types } from '../../../../schemas/registry.ts';
import { type MemoryCluster, memoryCluster } from '../../../support/memory-cluster.ts';

let world: MemoryCluster;
beforeEach(async () => {
  world = await memoryCluster();
});
afterEach(() => world.close());

const namespaceNames = async () => (await world.raw.list(types.namespaces)).items.map((n) => n.metadata.name).sort();
const change = (name: string, gone = false) => ({
  typeId: types.namespaces.id,
  name,
  ...(gone ? {} : { newObject: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } } }),
});

describe('systemNamespacesController', () => {
  it('looks at the system namespaces when one of them changes or goes, and at nothing for other namespaces or kinds', () => {
    const keys = [change('kube-node-lease', true), change('default'), change('apps'), { typeId: types.pods.id, namespace: 'default', name: 'p' }].map(
      (c) => systemNamespacesController.keysFor(c).length,
    );
    assert.deepEqual(keys, [1, 1, 0, 0]);
  });

  it('makes kube-node-lease again once its deletion has finished, Active and labelled as at start', async () => {
    await world.admission.delete(types.namespaces, await world.raw.get(types.namespaces, undefined, 'kube-node-lease'));
    const ctx = world.controllerContext();
    const [key] = systemNamespacesController.keysFor(change('kube-node-lease'));
    assert.ok(key);
    await systemNamespacesController.reconcile(key, ctx);
    const terminating = await world.raw.get(types.namespaces, undefined, 'kube-node-lease');
    assert.equal((terminating.status as { phase: string }).phase, 'Terminating', 'one being deleted is left to finish');

    await namespaceController.reconcile({ typeId: types.namespaces.id, name: 'kube-node-lease' }, ctx);
    await assert.rejects(world.raw.get(types.namespaces, undefined, 'kube-node-lease'), (e) => isApiError(e, 404));
    await systemNamespacesController.reconcile(key, ctx);
    const again = await world.raw.get(types.namespaces, undefined, 'kube-node-lease');
    assert.notEqual(again.metadata.uid, terminating.metadata.uid);
    assert.deepEqual([(again.status as { phase: string }).phase, again.metadata.labels?.['kubernetes.io/metadata.name']], ['Active', 'kube-node-lease']);
  });

  it('makes every missing one and leaves the others as they are', async () => {
    for (const name of ['default', 'kube-public']) await world.raw.delete(types.namespaces, undefined, name, { gracePeriodSeconds: 0 });
    const system = await world.raw.get(types.namespaces, undefined, 'kube-system');
    const [key] = systemNamespacesController.keysFor(change('kube-system'));
    assert.ok(key);
    await systemNamespacesController.reconcile(key, world.controllerContext());
    assert.deepEqual(await namespaceNames(), ['default', 'kube-node-lease', 'kube-public', 'kube-system']);
    assert.equal((await world.raw.get(types.namespaces, undefined, 'kube-system')).metadata.resourceVersion, system.metadata.resourceVersion);
  });
});

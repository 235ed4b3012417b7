/** The namespace controller's apply step against the memory store: a Terminating namespace is emptied, then removed. */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { namespaceController } from '../../../../functions/controllers/namespaces/namespace-controller.ts';
import { isApiError } from '../../../../functions/core/errors.ts';
import { ipAddressRecords } from '../../../../functions/domain/services/service-allocation.ts';
import type { KubeObject } from '../../../../schemas/meta.ts';
import { types } from '../../../../schemas/registry.ts';
import { type MemoryCluster, memoryCluster } from '../../../support/memory-cluster.ts';

const key = { typeId: types.namespaces.id, name: 'going' };
const pod = (name: string, nodeName?: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'going' },
  spec: { ...(nodeName ? { nodeName } : {}), containers: [{ name: 'web', image: 'nginx' }] },
});

let world: MemoryCluster;
beforeEach(async () => {
  world = await memoryCluster();
  await world.namespace('going');
});
afterEach(() => world.close());

async function terminate(): Promise<void> {
  await world.admission.delete(types.namespaces, await world.raw.get(types.namespaces, undefined, 'going'));
}

describe('namespaceController.reconcile', () => {
  it('leaves a namespace that is not being deleted alone', async () => {
    await world.admission.create(types.pods, pod('a'));
    assert.equal(await namespaceController.reconcile(key, world.controllerContext()), undefined);
    assert.equal((await world.raw.list(types.pods, { namespace: 'going' })).items.length, 1);
  });

  it('deletes everything in it the way each kind is deleted, and waits for what takes time', async () => {
    await world.admission.create(types.pods, pod('bound', 'n1'));
    await world.admission.create(types.pods, pod('unbound'));
    await world.admission.create(types.configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'going' } });
    await world.admission.create(types.services, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'going' },
      spec: { selector: { app: 'web' }, ports: [{ port: 80 }] },
    });
    await terminate();
    const result = await namespaceController.reconcile(key, world.controllerContext());
    assert.deepEqual(result, { requeueAfterSeconds: 5 }, 'the bound pod is still stopping');
    const left = (await world.raw.list(types.pods, { namespace: 'going' })).items;
    assert.deepEqual(
      left.map((p) => [p.metadata.name, p.metadata.deletionGracePeriodSeconds]),
      [['bound', 30]],
    );
    assert.equal((await world.raw.list(types.configmaps, { namespace: 'going' })).items.length, 0);
    assert.deepEqual((await world.raw.list(ipAddressRecords)).items, [], "the Service's ClusterIP is freed with it");
    assert.ok(await world.raw.get(types.namespaces, undefined, 'going'));
  });

  it('removes the namespace, with its events, once nothing else is left', async () => {
    await world.admission.create(types.pods, pod('bound', 'n1'));
    await world.admission.create(types.events, {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'e', namespace: 'going' },
      involvedObject: { kind: 'Pod', name: 'bound', namespace: 'going' },
      reason: 'Scheduled',
      message: 'm',
    });
    await terminate();
    await namespaceController.reconcile(key, world.controllerContext());
    // The node agent finishes the pod's graceful deletion.
    await world.raw.delete(types.pods, 'going', 'bound', { gracePeriodSeconds: 0 });
    assert.equal(await namespaceController.reconcile(key, world.controllerContext()), undefined);
    await assert.rejects(world.raw.get(types.namespaces, undefined, 'going'), (e) => isApiError(e, 404));
    assert.equal((await world.raw.list(types.events, { namespace: 'going' })).items.length, 0);
  });
});

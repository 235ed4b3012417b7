import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { localProvisioner, persistentVolumeController } from '../../../../functions/controllers/persistent-volume/persistent-volume-controller.ts';
import {
  podUsesClaim,
  pvcProtectionController,
  pvProtectionController,
} from '../../../../functions/controllers/volume-protection/volume-protection-controllers.ts';
import type { KubeObject } from '../../../../schemas/meta.ts';
import { types } from '../../../../schemas/registry.ts';
import { type MemoryCluster, memoryCluster } from '../../../support/memory-cluster.ts';

let world: MemoryCluster;
const removed: string[] = [];
const controller = persistentVolumeController({ pathFor: (name) => `/volumes/${name}`, remove: async (path) => void removed.push(path) });

beforeEach(async () => {
  world = await memoryCluster();
  await world.namespace('data');
  removed.length = 0;
  await world.admission.create(types.storageclasses, {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: 'standard', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
    provisioner: localProvisioner,
  } as never);
});
afterEach(() => world.close());

const claim = (name: string, extra: Record<string, unknown> = {}): KubeObject =>
  ({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace: 'data' },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, ...extra },
  }) as KubeObject;

async function reconcileClaim(name: string) {
  await controller.reconcile({ typeId: types.persistentvolumeclaims.id, namespace: 'data', name }, world.controllerContext());
}

describe('the PersistentVolume controller', () => {
  it('gives a claim without a class the default class, provisions a directory volume and binds both', async () => {
    const created = await world.admission.create(types.persistentvolumeclaims, claim('a'));
    assert.equal((created.spec as { storageClassName?: string }).storageClassName, 'standard');
    await reconcileClaim('a');
    const bound = await world.raw.get(types.persistentvolumeclaims, 'data', 'a');
    const volumeName = (bound.spec as { volumeName: string }).volumeName;
    assert.equal(volumeName, `pvc-${created.metadata.uid}`);
    assert.deepEqual(bound.status, { phase: 'Bound', accessModes: ['ReadWriteOnce'], capacity: { storage: '1Gi' } });
    const volume = await world.raw.get(types.persistentvolumes, undefined, volumeName);
    const spec = volume.spec as { local: { path: string }; claimRef: { name: string; uid: string }; persistentVolumeReclaimPolicy: string };
    assert.equal(spec.local.path, `/volumes/${volumeName}`);
    assert.equal(spec.claimRef.uid, created.metadata.uid);
    assert.equal(spec.persistentVolumeReclaimPolicy, 'Delete');
    assert.equal((volume.status as { phase: string }).phase, 'Bound');
  });

  it('binds a claim to an Available volume that fits before provisioning one', async () => {
    await world.admission.create(types.persistentvolumes, {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: 'small' },
      spec: { capacity: { storage: '500Mi' }, accessModes: ['ReadWriteOnce'], storageClassName: 'manual', hostPath: { path: '/srv/small' } },
    } as KubeObject);
    await world.admission.create(types.persistentvolumes, {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: 'big' },
      spec: { capacity: { storage: '5Gi' }, accessModes: ['ReadWriteOnce'], storageClassName: 'manual', hostPath: { path: '/srv/big' } },
    } as KubeObject);
    await world.admission.create(types.persistentvolumeclaims, claim('b', { storageClassName: 'manual' }));
    await reconcileClaim('b');
    assert.equal(((await world.raw.get(types.persistentvolumeclaims, 'data', 'b')).spec as { volumeName: string }).volumeName, 'big');
  });

  it('deletes a Delete volume and its directory when its claim goes, and keeps a Retain one as Released', async () => {
    const created = await world.admission.create(types.persistentvolumeclaims, claim('c'));
    await reconcileClaim('c');
    await world.raw.delete(types.persistentvolumeclaims, 'data', 'c');
    const name = `pvc-${created.metadata.uid}`;
    await controller.reconcile({ typeId: types.persistentvolumes.id, name }, world.controllerContext());
    assert.ok(
      (await world.raw.get(types.persistentvolumeclaims, 'data', 'c')).metadata.deletionTimestamp,
      'the claim is Terminating until its protection is lifted',
    );
    assert.equal(((await world.raw.get(types.persistentvolumes, undefined, name)).status as { phase: string }).phase, 'Bound');
    await pvcProtectionController.reconcile({ typeId: types.persistentvolumeclaims.id, namespace: 'data', name: 'c' }, world.controllerContext());
    await assert.rejects(world.raw.get(types.persistentvolumeclaims, 'data', 'c'));
    await controller.reconcile({ typeId: types.persistentvolumes.id, name }, world.controllerContext());
    const released = await world.raw.get(types.persistentvolumes, undefined, name);
    assert.ok(released.metadata.deletionTimestamp);
    assert.equal((released.status as { phase: string }).phase, 'Released');
    assert.deepEqual(released.metadata.finalizers, ['kubernetes.io/pv-protection']);
    await pvProtectionController.reconcile({ typeId: types.persistentvolumes.id, name }, world.controllerContext());
    await assert.rejects(world.raw.get(types.persistentvolumes, undefined, name));
    assert.deepEqual(removed, [`/volumes/${name}`]);

    await world.admission.create(types.persistentvolumes, {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: 'kept' },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
        storageClassName: 'manual',
        hostPath: { path: '/srv/kept' },
        persistentVolumeReclaimPolicy: 'Retain',
      },
    } as KubeObject);
    await world.admission.create(types.persistentvolumeclaims, claim('d', { storageClassName: 'manual' }));
    await reconcileClaim('d');
    await world.raw.delete(types.persistentvolumeclaims, 'data', 'd');
    await pvcProtectionController.reconcile({ typeId: types.persistentvolumeclaims.id, namespace: 'data', name: 'd' }, world.controllerContext());
    await controller.reconcile({ typeId: types.persistentvolumes.id, name: 'kept' }, world.controllerContext());
    assert.equal(((await world.raw.get(types.persistentvolumes, undefined, 'kept')).status as { phase: string }).phase, 'Released');
  });

  it('leaves a claim of a class nobody provisions Pending, with an event', async () => {
    await world.admission.create(types.persistentvolumeclaims, claim('e', { storageClassName: 'gp3' }));
    const ctx = world.controllerContext();
    await controller.reconcile({ typeId: types.persistentvolumeclaims.id, namespace: 'data', name: 'e' }, ctx);
    assert.equal(((await world.raw.get(types.persistentvolumeclaims, 'data', 'e')).status as { phase: string }).phase, 'Pending');
    assert.ok(ctx.recorded.some((e) => e.reason === 'FailedBinding' && e.message === 'storageclass.storage.k8s.io "gp3" not found'));
  });

  it('keeps a claim a running pod uses Terminating until the pod is gone, and frees an unused one at once', async () => {
    const created = await world.admission.create(types.persistentvolumeclaims, claim('used'));
    assert.deepEqual(created.metadata.finalizers, ['kubernetes.io/pvc-protection']);
    await reconcileClaim('used');
    const volumeName = `pvc-${created.metadata.uid}`;
    assert.deepEqual((await world.raw.get(types.persistentvolumes, undefined, volumeName)).metadata.finalizers, ['kubernetes.io/pv-protection']);
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'app', namespace: 'data' },
      spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'busybox' }], volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'used' } }] },
      status: { phase: 'Running' },
    } as KubeObject;
    await world.raw.create(types.pods, pod);
    const key = { typeId: types.persistentvolumeclaims.id, namespace: 'data', name: 'used' };
    assert.deepEqual(pvcProtectionController.keysFor({ typeId: types.pods.id, namespace: 'data', name: 'app', oldObject: pod }), [key]);
    await world.raw.delete(types.persistentvolumeclaims, 'data', 'used');
    await pvcProtectionController.reconcile(key, world.controllerContext());
    assert.ok((await world.raw.get(types.persistentvolumeclaims, 'data', 'used')).metadata.deletionTimestamp, 'in use: Terminating');
    // Its volume, asked to go too, stays while Bound.
    await world.raw.delete(types.persistentvolumes, undefined, volumeName);
    await pvProtectionController.reconcile({ typeId: types.persistentvolumes.id, name: volumeName }, world.controllerContext());
    assert.ok(await world.raw.get(types.persistentvolumes, undefined, volumeName));

    assert.equal(podUsesClaim({ ...pod, status: { phase: 'Succeeded' } } as KubeObject, 'used'), false);
    assert.equal(podUsesClaim({ ...pod, spec: { ...(pod.spec as object), nodeName: undefined } } as KubeObject, 'used'), false);
    await world.raw.delete(types.pods, 'data', 'app', { gracePeriodSeconds: 0 });
    await pvcProtectionController.reconcile(key, world.controllerContext());
    await assert.rejects(world.raw.get(types.persistentvolumeclaims, 'data', 'used'));
    await controller.reconcile({ typeId: types.persistentvolumes.id, name: volumeName }, world.controllerContext());
    await pvProtectionController.reconcile({ typeId: types.persistentvolumes.id, name: volumeName }, world.controllerContext());
    await assert.rejects(world.raw.get(types.persistentvolumes, undefined, volumeName));
  });

  it("waits for a WaitForFirstConsumer claim's first pod, then provisions its directory pinned to that pod's node", async () => {
    await world.admission.create(types.storageclasses, {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: 'local' },
      provisioner: localProvisioner,
      volumeBindingMode: 'WaitForFirstConsumer',
    } as never);
    await world.raw.create(types.nodes, {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'node-2', labels: { 'kubernetes.io/hostname': 'host-2' } },
    } as KubeObject);
    const created = await world.admission.create(types.persistentvolumeclaims, claim('late', { storageClassName: 'local' }));
    await reconcileClaim('late');
    const waiting = await world.raw.get(types.persistentvolumeclaims, 'data', 'late');
    assert.deepEqual(waiting.status, { phase: 'Pending' });
    assert.equal((waiting.spec as { volumeName?: string }).volumeName, undefined);

    await world.admission.update(
      types.persistentvolumeclaims,
      { ...waiting, metadata: { ...waiting.metadata, annotations: { ...waiting.metadata.annotations, 'volume.kubernetes.io/selected-node': 'node-2' } } },
      waiting,
    );
    await reconcileClaim('late');
    const volume = await world.raw.get(types.persistentvolumes, undefined, `pvc-${created.metadata.uid}`);
    assert.deepEqual((volume.spec as { nodeAffinity?: unknown }).nodeAffinity, {
      required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['host-2'] }] }] },
    });
    assert.equal(((await world.raw.get(types.persistentvolumeclaims, 'data', 'late')).status as { phase: string }).phase, 'Bound');
  });
});

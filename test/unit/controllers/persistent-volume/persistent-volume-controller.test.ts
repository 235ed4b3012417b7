import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { localProvisioner, persistentVolumeController } from '../../../../functions/controllers/persistent-volume/persistent-volume-controller.ts';
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
});

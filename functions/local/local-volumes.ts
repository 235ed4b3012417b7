/**
 * Local persistent volumes: a directory per volume, made by the node agent when a pod first
 * mounts it and removed when its volume is reclaimed, like local-path-provisioner. They live
 * beside the pods' directories, outside the data dir that pods must not reach (ADR 084), in one
 * folder per data dir. Every local node runs on this machine, so any node can mount any of them.
 * The cluster gets a default StorageClass, `standard`, served by this provisioner.
 */
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { types } from '../../schemas/registry.ts';
import { defaultStorageClassAnnotation } from '../../schemas/storage.ts';
import { type LocalVolumes, localProvisioner } from '../controllers/persistent-volume/persistent-volume-controller.ts';
import { AlreadyExistsError } from '../core/errors.ts';
import type { ObjectStore } from '../store/store.ts';

/** The folder of a data dir's volumes. */
export function localVolumesRoot(dataDir: string): string {
  return join(tmpdir(), `skiff-volumes-${createHash('sha256').update(resolve(dataDir)).digest('hex').slice(0, 16)}`);
}

export function localVolumes(dataDir: string): LocalVolumes {
  const root = localVolumesRoot(dataDir);
  return {
    pathFor: (volumeName) => join(root, volumeName),
    async remove(path) {
      const inside = relative(root, resolve(path));
      // Only ever a volume directory of this data dir, whatever a PersistentVolume says.
      if (inside === '' || inside.startsWith('..') || inside.includes('/')) return;
      await rm(join(root, inside), { recursive: true, force: true });
    },
  };
}

/** Creates the `standard` default StorageClass when the cluster has no StorageClass at all. */
export async function ensureDefaultStorageClass(store: ObjectStore): Promise<void> {
  const existing = await store.list(types.storageclasses, { limit: 1 });
  if (existing.items.length > 0) return;
  try {
    await store.create(types.storageclasses, {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: 'standard', annotations: { [defaultStorageClassAnnotation]: 'true' } },
      provisioner: localProvisioner,
      reclaimPolicy: 'Delete',
      // As local-path-provisioner's class: a claim's directory is made on the node of its first pod.
      volumeBindingMode: 'WaitForFirstConsumer',
    } as never);
  } catch (error) {
    if (!(error instanceof AlreadyExistsError)) throw error;
  }
}

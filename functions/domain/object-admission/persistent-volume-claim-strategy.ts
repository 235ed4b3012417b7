/**
 * PersistentVolumeClaims: kube-apiserver's DefaultStorageClass admission plugin. A new claim that
 * names no class gets the cluster's default StorageClass (the newest one annotated
 * `storageclass.kubernetes.io/is-default-class: "true"`), so the default provisioner serves it.
 * And StorageObjectInUseProtection: claims and volumes are made with their protection finalizer,
 * which the protection controllers remove (`functions/controllers/volume-protection/`).
 */
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import { defaultStorageClassAnnotation } from '../../../schemas/storage.ts';
import { listAll } from '../../store/list-all.ts';
import type { KindStrategy } from './kind-strategy.ts';

export async function defaultStorageClassName(store: Parameters<NonNullable<KindStrategy['prepareCreateFromStore']>>[0]): Promise<string | undefined> {
  const classes = await listAll(store, types.storageclasses);
  const defaults = classes
    .filter((sc) => sc.metadata.annotations?.[defaultStorageClassAnnotation] === 'true')
    .sort((a, b) => ((a.metadata.creationTimestamp ?? '') < (b.metadata.creationTimestamp ?? '') ? 1 : -1));
  return defaults[0]?.metadata.name;
}

/** The finalizer that keeps an object while it is in use (StorageObjectInUseProtection), added once. */
function withFinalizer(object: KubeObject, finalizer: string): KubeObject {
  const finalizers = object.metadata.finalizers ?? [];
  return finalizers.includes(finalizer) ? object : { ...object, metadata: { ...object.metadata, finalizers: [...finalizers, finalizer] } };
}

/** PersistentVolumes: StorageObjectInUseProtection gives each new one `kubernetes.io/pv-protection`. */
export const persistentVolumeStrategy: KindStrategy = {
  prepareForCreate: (volume) => withFinalizer(volume, 'kubernetes.io/pv-protection'),
};

export const persistentVolumeClaimStrategy: KindStrategy = {
  // StorageObjectInUseProtection: a claim a pod uses is not removed until the pod is gone.
  prepareForCreate: (claim) => withFinalizer(claim, 'kubernetes.io/pvc-protection'),
  async prepareCreateFromStore(store, _namespace, claims) {
    const unset = claims.filter((claim) => (claim.spec as { storageClassName?: string } | undefined)?.storageClassName === undefined);
    if (unset.length === 0) return [...claims];
    const name = await defaultStorageClassName(store);
    if (!name) return [...claims];
    return claims.map((claim): KubeObject => {
      const spec = (claim.spec ?? {}) as { storageClassName?: string };
      return spec.storageClassName === undefined ? ({ ...claim, spec: { ...spec, storageClassName: name } } as KubeObject) : claim;
    });
  },
};

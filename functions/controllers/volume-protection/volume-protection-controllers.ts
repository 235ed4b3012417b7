/**
 * kube-controller-manager's storage object in-use protection: every claim is created with the
 * `kubernetes.io/pvc-protection` finalizer and every volume with `kubernetes.io/pv-protection`
 * (admission, `persistent-volume-claim-strategy.ts`). Deleting a claim a pod still uses only
 * marks it (`kubectl get pvc` says Terminating); the PVC protection controller removes the
 * finalizer once no scheduled pod that has not finished names the claim. A volume marked for
 * deletion keeps its finalizer while it is Bound. Keys come from claims, volumes and pods (a pod
 * that finishes or goes frees its claims).
 */
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import type { Controller, ControllerContext, ReconcileKey } from '../../controller-runtime/controller.ts';
import { ConflictError, NotFoundError } from '../../core/errors.ts';
import { getIfExists, listAll } from '../../store/list-all.ts';

export const pvcProtectionFinalizer = 'kubernetes.io/pvc-protection';
export const pvProtectionFinalizer = 'kubernetes.io/pv-protection';

interface PodSpec {
  nodeName?: string;
  volumes?: { persistentVolumeClaim?: { claimName?: string } }[];
}

/** The claims a pod's volumes name. */
export function claimsOf(pod: KubeObject | undefined): string[] {
  const volumes = (pod?.spec as PodSpec | undefined)?.volumes ?? [];
  return volumes.flatMap((volume) => (volume.persistentVolumeClaim?.claimName ? [volume.persistentVolumeClaim.claimName] : []));
}

/**
 * Whether a pod holds a claim: it is scheduled (the kubelet sees only those, and will not start
 * a pod on a claim being deleted) and has not finished.
 */
export function podUsesClaim(pod: KubeObject, claimName: string): boolean {
  const phase = (pod.status as { phase?: string } | undefined)?.phase;
  if (!(pod.spec as PodSpec | undefined)?.nodeName || phase === 'Succeeded' || phase === 'Failed') return false;
  return claimsOf(pod).includes(claimName);
}

/** Removes `finalizer`; a conflict or a vanished object is left to the next pass. */
async function release(ctx: ControllerContext, type: typeof types.persistentvolumeclaims, object: KubeObject, finalizer: string): Promise<void> {
  const finalizers = (object.metadata.finalizers ?? []).filter((f) => f !== finalizer);
  const { finalizers: _old, ...metadata } = object.metadata;
  try {
    await ctx.admission.update(type, { ...object, metadata: finalizers.length > 0 ? { ...metadata, finalizers } : metadata }, object);
  } catch (error) {
    if (!(error instanceof NotFoundError) && !(error instanceof ConflictError)) throw error;
  }
}

export const pvcProtectionController: Controller = {
  name: 'pvc-protection-controller',
  resyncTypes: [types.persistentvolumeclaims],
  resyncChangesOnly: true,
  keysFor(change): ReconcileKey[] {
    if (change.typeId === types.persistentvolumeclaims.id) {
      return change.newObject?.metadata.deletionTimestamp ? [{ typeId: change.typeId, namespace: change.namespace, name: change.name }] : [];
    }
    if (change.typeId === types.pods.id && change.namespace) {
      // A pod that finished or went may have been the last user of its claims.
      const names = new Set([...claimsOf(change.oldObject), ...claimsOf(change.newObject)]);
      return [...names].map((name) => ({ typeId: types.persistentvolumeclaims.id, namespace: change.namespace, name }));
    }
    return [];
  },
  async reconcile(key, ctx) {
    const claim = await getIfExists(ctx.store, types.persistentvolumeclaims, key.namespace, key.name);
    if (!claim?.metadata.deletionTimestamp || !(claim.metadata.finalizers ?? []).includes(pvcProtectionFinalizer)) return undefined;
    const pods = await listAll(ctx.store, types.pods, { namespace: key.namespace ?? '' });
    if (pods.some((pod) => podUsesClaim(pod, key.name))) return undefined;
    await release(ctx, types.persistentvolumeclaims, claim, pvcProtectionFinalizer);
    return undefined;
  },
};

export const pvProtectionController: Controller = {
  name: 'pv-protection-controller',
  resyncTypes: [types.persistentvolumes],
  resyncChangesOnly: true,
  keysFor(change): ReconcileKey[] {
    return change.typeId === types.persistentvolumes.id && change.newObject?.metadata.deletionTimestamp ? [{ typeId: change.typeId, name: change.name }] : [];
  },
  async reconcile(key, ctx) {
    const volume = await getIfExists(ctx.store, types.persistentvolumes, undefined, key.name);
    if (!volume?.metadata.deletionTimestamp || !(volume.metadata.finalizers ?? []).includes(pvProtectionFinalizer)) return undefined;
    // A Bound volume is in use by its claim (Kubernetes' pv-protection keeps it until released).
    if ((volume.status as { phase?: string } | undefined)?.phase === 'Bound') return undefined;
    await release(ctx, types.persistentvolumes, volume, pvProtectionFinalizer);
    return undefined;
  },
};

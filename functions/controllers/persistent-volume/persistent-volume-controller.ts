/**
 * The PersistentVolume controller (kube-controller-manager's binder, with the default dynamic
 * provisioner built in): a Pending claim is bound to an Available volume that fits (class,
 * capacity, access modes), or, when its StorageClass names Skiff's local provisioner, to a new
 * volume: a directory per volume under the host's volumes directory, as local-path-provisioner
 * makes them. A volume whose claim is gone is Released, then deleted with its directory
 * (reclaim policy Delete) or kept (Retain). Keys come from claims and volumes.
 */
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import { selectedNodeAnnotation } from '../../../schemas/storage.ts';
import type { Controller, ControllerContext, ReconcileKey } from '../../controller-runtime/controller.ts';
import { AlreadyExistsError, NotFoundError } from '../../core/errors.ts';
import { kubeTime } from '../../core/kube-time.ts';
import { parseQuantity } from '../../core/resource-quantity.ts';
import { getIfExists, listAll } from '../../store/list-all.ts';

/** The provisioner name of Skiff's local directories. */
export const localProvisioner = 'skiff.io/local-directory';
const component = 'persistentvolume-controller';

/** Where the host keeps local volumes; absent where no local provisioner runs (AWS, for now). */
export interface LocalVolumes {
  /** The directory of a volume by name. */
  pathFor(volumeName: string): string;
  /** Deletes a volume's directory (reclaim policy Delete). */
  remove(path: string): Promise<void>;
}

interface ClaimSpec {
  accessModes?: string[];
  resources?: { requests?: { storage?: string } };
  volumeName?: string;
  storageClassName?: string;
  volumeMode?: string;
}
interface VolumeSpec {
  capacity?: { storage?: string };
  accessModes?: string[];
  claimRef?: { namespace?: string; name?: string; uid?: string; kind?: string; apiVersion?: string; resourceVersion?: string };
  persistentVolumeReclaimPolicy?: string;
  storageClassName?: string;
  local?: { path: string };
  hostPath?: { path: string };
}

const specOf = <T>(object: KubeObject) => (object.spec ?? {}) as T;
const phaseOf = (object: KubeObject) => (object.status as { phase?: string } | undefined)?.phase;

function bytes(value: string | undefined): number {
  return parseQuantity(value) ?? 0;
}

/** Whether `volume` can serve `claim`: same class, enough capacity, every access mode asked for. */
export function volumeFits(volume: KubeObject, claim: KubeObject): boolean {
  const v = specOf<VolumeSpec>(volume);
  const c = specOf<ClaimSpec>(claim);
  if ((v.storageClassName ?? '') !== (c.storageClassName ?? '')) return false;
  if (bytes(v.capacity?.storage) < bytes(c.resources?.requests?.storage)) return false;
  return (c.accessModes ?? []).every((mode) => (v.accessModes ?? []).includes(mode));
}

function claimRefTo(claim: KubeObject): VolumeSpec['claimRef'] {
  return {
    kind: 'PersistentVolumeClaim',
    apiVersion: 'v1',
    namespace: claim.metadata.namespace ?? '',
    name: claim.metadata.name ?? '',
    uid: claim.metadata.uid ?? '',
    ...(claim.metadata.resourceVersion ? { resourceVersion: claim.metadata.resourceVersion } : {}),
  };
}

async function setVolumePhase(ctx: ControllerContext, volume: KubeObject, phase: string): Promise<KubeObject> {
  if (phaseOf(volume) === phase) return volume;
  return ctx.admission.update(
    types.persistentvolumes,
    { ...volume, status: { ...((volume.status as object) ?? {}), phase, lastPhaseTransitionTime: kubeTime(ctx.now()) } },
    volume,
  );
}

async function bind(ctx: ControllerContext, claim: KubeObject, volume: KubeObject): Promise<void> {
  const vSpec = specOf<VolumeSpec>(volume);
  let bound = volume;
  if (vSpec.claimRef?.uid !== claim.metadata.uid) {
    bound = await ctx.admission.update(types.persistentvolumes, { ...volume, spec: { ...vSpec, claimRef: claimRefTo(claim) } } as KubeObject, volume);
  }
  bound = await setVolumePhase(ctx, bound, 'Bound');
  const cSpec = specOf<ClaimSpec>(claim);
  const annotations = { ...claim.metadata.annotations, 'pv.kubernetes.io/bind-completed': 'yes', 'pv.kubernetes.io/bound-by-controller': 'yes' };
  const status = {
    phase: 'Bound',
    accessModes: specOf<VolumeSpec>(bound).accessModes ?? [],
    capacity: { storage: specOf<VolumeSpec>(bound).capacity?.storage ?? '' },
  };
  await ctx.admission.update(
    types.persistentvolumeclaims,
    { ...claim, metadata: { ...claim.metadata, annotations }, spec: { ...cSpec, volumeName: bound.metadata.name }, status } as KubeObject,
    claim,
  );
}

/** `kubernetes.io/hostname In [<node's hostname label>]`, as local-path-provisioner writes it. */
async function hostnameAffinity(ctx: ControllerContext, nodeName: string): Promise<unknown> {
  const node = await getIfExists(ctx.store, types.nodes, undefined, nodeName);
  const hostname = node?.metadata.labels?.['kubernetes.io/hostname'] ?? nodeName;
  return { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [hostname] }] }] } };
}

async function reconcileClaim(ctx: ControllerContext, claim: KubeObject, local: LocalVolumes | undefined): Promise<void> {
  const spec = specOf<ClaimSpec>(claim);
  if (phaseOf(claim) === 'Bound' && spec.volumeName) return;
  const volumes = await listAll(ctx.store, types.persistentvolumes);
  const mine = volumes.find((v) => specOf<VolumeSpec>(v).claimRef?.uid === claim.metadata.uid);
  if (mine) return bind(ctx, claim, mine);
  const named = spec.volumeName ? volumes.find((v) => v.metadata.name === spec.volumeName) : undefined;
  const candidate =
    named && !specOf<VolumeSpec>(named).claimRef
      ? named
      : volumes
          .filter((v) => !specOf<VolumeSpec>(v).claimRef && phaseOf(v) !== 'Released' && volumeFits(v, claim))
          .sort((a, b) => bytes(specOf<VolumeSpec>(a).capacity?.storage) - bytes(specOf<VolumeSpec>(b).capacity?.storage))[0];
  if (candidate) return bind(ctx, claim, candidate);

  const className = spec.storageClassName;
  const storageClass = className ? await getIfExists(ctx.store, types.storageclasses, undefined, className) : undefined;
  // WaitForFirstConsumer: nothing is provisioned until the scheduler has placed the claim's first
  // pod and named its node on the claim; the volume is then made on that node.
  const selectedNode = claim.metadata.annotations?.[selectedNodeAnnotation];
  if ((storageClass as { volumeBindingMode?: string } | undefined)?.volumeBindingMode === 'WaitForFirstConsumer' && !selectedNode) {
    if (phaseOf(claim) !== 'Pending') await ctx.admission.update(types.persistentvolumeclaims, { ...claim, status: { phase: 'Pending' } }, claim);
    await ctx.events.record({
      involvedObject: claim,
      type: 'Normal',
      reason: 'WaitForFirstConsumer',
      message: 'waiting for first consumer to be created before binding',
      component,
    });
    return;
  }
  if (!storageClass || (storageClass as { provisioner?: string }).provisioner !== localProvisioner || !local) {
    if (phaseOf(claim) !== 'Pending') await ctx.admission.update(types.persistentvolumeclaims, { ...claim, status: { phase: 'Pending' } }, claim);
    const message = !className
      ? 'no persistent volumes available for this claim and no storage class is set'
      : !storageClass
        ? `storageclass.storage.k8s.io "${className}" not found`
        : `waiting for a volume to be created by the external provisioner "${(storageClass as { provisioner?: string }).provisioner ?? ''}"`;
    await ctx.events.record({
      involvedObject: claim,
      type: storageClass ? 'Normal' : 'Warning',
      reason: storageClass ? 'ExternalProvisioning' : 'FailedBinding',
      message,
      component,
    });
    return;
  }
  const name = `pvc-${claim.metadata.uid ?? ''}`;
  const volume: KubeObject = {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name, annotations: { 'pv.kubernetes.io/provisioned-by': localProvisioner } },
    spec: {
      capacity: { storage: spec.resources?.requests?.storage ?? '0' },
      accessModes: spec.accessModes ?? [],
      persistentVolumeReclaimPolicy: (storageClass as { reclaimPolicy?: string }).reclaimPolicy ?? 'Delete',
      storageClassName: className,
      volumeMode: spec.volumeMode ?? 'Filesystem',
      local: { path: local.pathFor(name) },
      // A local directory lives on one node: the one the claim's first pod was placed on, as
      // local-path-provisioner pins its volumes (Immediate claims reach every local node).
      ...(selectedNode ? { nodeAffinity: await hostnameAffinity(ctx, selectedNode) } : {}),
      claimRef: claimRefTo(claim),
    },
  };
  let created: KubeObject;
  try {
    created = await ctx.admission.create(types.persistentvolumes, volume);
    await ctx.events.record({
      involvedObject: claim,
      type: 'Normal',
      reason: 'ProvisioningSucceeded',
      message: `Successfully provisioned volume ${name}`,
      component,
    });
  } catch (error) {
    if (!(error instanceof AlreadyExistsError)) throw error;
    created = await ctx.store.get(types.persistentvolumes, undefined, name);
  }
  await bind(ctx, claim, created);
}

async function reconcileVolume(ctx: ControllerContext, volume: KubeObject, local: LocalVolumes | undefined): Promise<void> {
  const spec = specOf<VolumeSpec>(volume);
  const deleting = volume.metadata.deletionTimestamp !== undefined;
  if (!spec.claimRef?.name) {
    if (!deleting) await setVolumePhase(ctx, volume, 'Available');
    return;
  }
  const claim = await getIfExists(ctx.store, types.persistentvolumeclaims, spec.claimRef.namespace, spec.claimRef.name);
  if (claim && (!spec.claimRef.uid || claim.metadata.uid === spec.claimRef.uid)) return;
  // The claim is gone: the volume is released (which lets pv-protection free it), then
  // reclaimed as its policy says.
  const released = await setVolumePhase(ctx, volume, 'Released');
  if (spec.persistentVolumeReclaimPolicy !== 'Delete') return;
  const path = spec.local?.path;
  if (path && local && volume.metadata.annotations?.['pv.kubernetes.io/provisioned-by'] === localProvisioner) await local.remove(path);
  if (deleting) return;
  try {
    await ctx.admission.delete(types.persistentvolumes, released);
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error;
  }
}

export function persistentVolumeController(local?: LocalVolumes): Controller {
  return {
    name: component,
    resyncTypes: [types.persistentvolumeclaims, types.persistentvolumes],
    resyncChangesOnly: true,
    keysFor(change): ReconcileKey[] {
      if (change.typeId === types.persistentvolumeclaims.id) {
        const keys: ReconcileKey[] = [{ typeId: change.typeId, namespace: change.namespace, name: change.name }];
        // A deleted claim releases its volume.
        const volumeName = (change.oldObject?.spec as ClaimSpec | undefined)?.volumeName;
        if (!change.newObject && volumeName) keys.push({ typeId: types.persistentvolumes.id, name: volumeName });
        return keys;
      }
      if (change.typeId === types.persistentvolumes.id) return [{ typeId: change.typeId, name: change.name }];
      return [];
    },
    async reconcile(key, ctx) {
      if (key.typeId === types.persistentvolumes.id) {
        const volume = await getIfExists(ctx.store, types.persistentvolumes, undefined, key.name);
        if (volume) await reconcileVolume(ctx, volume, local);
        return;
      }
      const claim = await getIfExists(ctx.store, types.persistentvolumeclaims, key.namespace, key.name);
      if (claim && !claim.metadata.deletionTimestamp) await reconcileClaim(ctx, claim, local);
      return;
    },
  };
}

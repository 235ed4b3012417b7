/** `kubectl get pv`, `pvc` and `storageclass`: the columns kube-apiserver prints. */
import type { KubeObject } from '../../../schemas/meta.ts';
import { ageSince } from './human-duration.ts';
import { ageColumn, column, type KindPrinter, nameColumn, nameOf, wide } from './kind-printer.ts';
import { at, optionalText, strings, text } from './object-fields.ts';

const modeNames: Readonly<Record<string, string>> = { ReadWriteOnce: 'RWO', ReadOnlyMany: 'ROX', ReadWriteMany: 'RWX', ReadWriteOncePod: 'RWOP' };

/** Kubernetes' access mode text: the short names, each once, in its fixed order. */
export function accessModesText(modes: unknown): string {
  const given = new Set(strings(modes));
  return Object.entries(modeNames)
    .filter(([mode]) => given.has(mode))
    .map(([, short]) => short)
    .join(',');
}

function storageOf(resources: unknown): string {
  return optionalText(at(resources, 'storage')) ?? '';
}

export const persistentVolumePrinter: KindPrinter = {
  columns: [
    nameColumn,
    column('Capacity', "capacity is the description of the persistent volume's resources and capacity."),
    column('Access Modes', 'accessModes contains all ways the volume can be mounted.'),
    column('Reclaim Policy', 'persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim.'),
    column('Status', 'phase indicates if a volume is available, bound to a claim, or released by a claim.'),
    column('Claim', 'claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim.'),
    column('StorageClass', 'StorageClass of the pv'),
    column('VolumeAttributesClass', 'VolumeAttributesClass of the pv'),
    column('Reason', 'reason is a brief CamelCase string that describes any failure and is meant for machine parsing and tidy display in the CLI.'),
    ageColumn,
    wide('VolumeMode', 'volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state.'),
  ],
  print(pv, now) {
    const claim = at(pv, 'spec', 'claimRef');
    return {
      cells: [
        nameOf(pv),
        storageOf(at(pv, 'spec', 'capacity')),
        accessModesText(at(pv, 'spec', 'accessModes')),
        text(at(pv, 'spec', 'persistentVolumeReclaimPolicy')),
        pv.metadata.deletionTimestamp ? 'Terminating' : text(at(pv, 'status', 'phase')),
        claim ? `${text(at(claim, 'namespace'))}/${text(at(claim, 'name'))}` : '',
        text(at(pv, 'spec', 'storageClassName')),
        optionalText(at(pv, 'spec', 'volumeAttributesClassName')) ?? '<unset>',
        text(at(pv, 'status', 'reason')),
        ageSince(pv.metadata.creationTimestamp, now),
        text(at(pv, 'spec', 'volumeMode')) || '<unset>',
      ],
    };
  },
};

export const persistentVolumeClaimPrinter: KindPrinter = {
  columns: [
    nameColumn,
    column('Status', 'phase represents the current phase of PersistentVolumeClaim.'),
    column('Volume', 'volumeName is the binding reference to the PersistentVolume backing this claim.'),
    column('Capacity', 'capacity represents the actual resources of the underlying volume.'),
    column('Access Modes', 'accessModes contains the actual access modes the volume backing the PVC has.'),
    column('StorageClass', 'StorageClass of the pvc'),
    column('VolumeAttributesClass', 'VolumeAttributesClass of the pvc'),
    ageColumn,
    wide('VolumeMode', 'volumeMode defines what type of volume is required by the claim.'),
  ],
  print(claim, now) {
    const phase = claim.metadata.deletionTimestamp ? 'Terminating' : text(at(claim, 'status', 'phase'));
    const bound = text(at(claim, 'status', 'phase')) === 'Bound';
    return {
      cells: [
        nameOf(claim),
        phase,
        text(at(claim, 'spec', 'volumeName')),
        bound ? storageOf(at(claim, 'status', 'capacity')) : '',
        bound ? accessModesText(at(claim, 'status', 'accessModes')) : '',
        text(at(claim, 'spec', 'storageClassName')),
        optionalText(at(claim, 'spec', 'volumeAttributesClassName')) ?? '<unset>',
        ageSince(claim.metadata.creationTimestamp, now),
        text(at(claim, 'spec', 'volumeMode')) || '<unset>',
      ],
    };
  },
};

function isDefaultClass(sc: KubeObject): boolean {
  const annotations = sc.metadata.annotations ?? {};
  return annotations['storageclass.kubernetes.io/is-default-class'] === 'true' || annotations['storageclass.beta.kubernetes.io/is-default-class'] === 'true';
}

export const storageClassPrinter: KindPrinter = {
  columns: [
    nameColumn,
    column('Provisioner', 'provisioner indicates the type of the provisioner.'),
    column('ReclaimPolicy', 'reclaimPolicy controls the reclaimPolicy for dynamically provisioned PersistentVolumes of this storage class.'),
    column('VolumeBindingMode', 'volumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound.'),
    column('AllowVolumeExpansion', 'allowVolumeExpansion shows whether the storage class allow volume expand.'),
    ageColumn,
  ],
  print(sc, now) {
    return {
      cells: [
        isDefaultClass(sc) ? `${nameOf(sc)} (default)` : nameOf(sc),
        text(at(sc, 'provisioner')),
        text(at(sc, 'reclaimPolicy')) || 'Delete',
        text(at(sc, 'volumeBindingMode')) || 'Immediate',
        at(sc, 'allowVolumeExpansion') === true,
        ageSince(sc.metadata.creationTimestamp, now),
      ],
    };
  },
};

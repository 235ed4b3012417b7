/**
 * Storage kinds: `core/v1` PersistentVolume and PersistentVolumeClaim, `storage.k8s.io/v1`
 * StorageClass, with Kubernetes' defaults and validation messages.
 */
import { z } from 'zod';
import { child, type FieldCause, forbidden, index, notSupported, required } from './field-errors.ts';
import { type AnyKindRules, anyKind } from './kind-rules.ts';
import { apiVersionField, kindField, labelSelectorSchema, objectMetaSchema, quantity, stringMap, time } from './meta.ts';
import { isDns1123Subdomain } from './name-rules.ts';
import { objectReferenceSchema } from './object-reference.ts';
import { sameJson } from './structural-equality.ts';

const coreV1 = 'io.k8s.api.core.v1';
const storageV1 = 'io.k8s.api.storage.v1';

export const accessModes = ['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod'] as const;
export const defaultStorageClassAnnotation = 'storageclass.kubernetes.io/is-default-class';
/** The node the scheduler placed a WaitForFirstConsumer claim's first pod on; provisioners make the volume there. */
export const selectedNodeAnnotation = 'volume.kubernetes.io/selected-node';

const resourceList = z.record(z.string(), quantity);

export const persistentVolumeClaimSpecSchema = z
  .object({
    accessModes: z.array(z.string()).optional(),
    selector: labelSelectorSchema.optional(),
    resources: z
      .object({ limits: resourceList.optional(), requests: resourceList.optional() })
      .meta({ id: `${coreV1}.VolumeResourceRequirements` })
      .optional(),
    volumeName: z.string().optional(),
    storageClassName: z.string().optional(),
    volumeMode: z.enum(['Filesystem', 'Block']).default('Filesystem'),
    dataSource: z.looseObject({}).optional(),
    dataSourceRef: z.looseObject({}).optional(),
    volumeAttributesClassName: z.string().optional(),
  })
  .meta({ id: `${coreV1}.PersistentVolumeClaimSpec` });

export const persistentVolumeClaimSchema = z
  .object({
    apiVersion: apiVersionField,
    kind: kindField,
    metadata: objectMetaSchema.default(() => ({})),
    spec: persistentVolumeClaimSpecSchema.default(() => persistentVolumeClaimSpecSchema.parse({})),
    status: z
      .object({
        phase: z.string().optional(),
        accessModes: z.array(z.string()).optional(),
        capacity: resourceList.optional(),
        conditions: z.array(z.looseObject({})).optional(),
      })
      .meta({ id: `${coreV1}.PersistentVolumeClaimStatus` })
      .optional(),
  })
  .meta({ id: `${coreV1}.PersistentVolumeClaim`, description: "A user's request for and claim to a persistent volume." });
export type PersistentVolumeClaim = z.infer<typeof persistentVolumeClaimSchema>;

function validateAccessModes(modes: readonly string[] | undefined, field: string): FieldCause[] {
  if (!modes || modes.length === 0) return [required(field, 'at least 1 access mode is required')];
  return modes.flatMap((mode, i) => (accessModes.includes(mode as (typeof accessModes)[number]) ? [] : [notSupported(index(field, i), mode, accessModes)]));
}

/** `ValidatePersistentVolumeClaimSpec`: access modes and a storage request. */
export function validateClaimSpec(spec: PersistentVolumeClaim['spec'], field: string): FieldCause[] {
  const causes = validateAccessModes(spec.accessModes, child(field, 'accessModes'));
  if (spec.resources?.requests?.storage === undefined) causes.push(required(`${child(field, 'resources')}[storage]`));
  return causes;
}

export const persistentVolumeClaimRules: AnyKindRules = anyKind<PersistentVolumeClaim>({
  schema: persistentVolumeClaimSchema,
  nameRule: isDns1123Subdomain,
  validate: (claim) => validateClaimSpec(claim.spec, 'spec'),
  validateUpdate: (claim, old) => {
    // Binding sets volumeName (and a class left unset); a bound claim may grow its request.
    const comparable = (spec: PersistentVolumeClaim['spec']) => ({ ...spec, volumeName: undefined, resources: undefined, storageClassName: undefined });
    const classChanged = old.spec.storageClassName !== undefined && claim.spec.storageClassName !== old.spec.storageClassName;
    const nameChanged = old.spec.volumeName !== undefined && old.spec.volumeName !== '' && claim.spec.volumeName !== old.spec.volumeName;
    if (!sameJson(comparable(claim.spec), comparable(old.spec)) || classChanged || nameChanged) {
      return [forbidden('spec', 'spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims')];
    }
    return [];
  },
});

export const persistentVolumeSchema = z
  .object({
    apiVersion: apiVersionField,
    kind: kindField,
    metadata: objectMetaSchema.default(() => ({})),
    spec: z
      .object({
        capacity: resourceList.optional(),
        accessModes: z.array(z.string()).optional(),
        claimRef: objectReferenceSchema.optional(),
        persistentVolumeReclaimPolicy: z.enum(['Retain', 'Delete', 'Recycle']).default('Retain'),
        storageClassName: z.string().optional(),
        mountOptions: z.array(z.string()).optional(),
        volumeMode: z.enum(['Filesystem', 'Block']).default('Filesystem'),
        nodeAffinity: z.looseObject({}).optional(),
        hostPath: z.object({ path: z.string(), type: z.string().optional() }).optional(),
        local: z.object({ path: z.string(), fsType: z.string().optional() }).optional(),
        csi: z.looseObject({}).optional(),
        nfs: z.looseObject({}).optional(),
        awsElasticBlockStore: z.looseObject({}).optional(),
        volumeAttributesClassName: z.string().optional(),
      })
      .meta({ id: `${coreV1}.PersistentVolumeSpec` })
      .default(() => ({ persistentVolumeReclaimPolicy: 'Retain' as const, volumeMode: 'Filesystem' as const })),
    status: z
      .object({ phase: z.string().optional(), message: z.string().optional(), reason: z.string().optional(), lastPhaseTransitionTime: time.optional() })
      .meta({ id: `${coreV1}.PersistentVolumeStatus` })
      .optional(),
  })
  .meta({ id: `${coreV1}.PersistentVolume`, description: 'A piece of storage in the cluster, provisioned by an administrator or a StorageClass.' });
export type PersistentVolume = z.infer<typeof persistentVolumeSchema>;

export const persistentVolumeRules: AnyKindRules = anyKind<PersistentVolume>({
  schema: persistentVolumeSchema,
  nameRule: isDns1123Subdomain,
  validate: (pv) => {
    const causes = validateAccessModes(pv.spec.accessModes, 'spec.accessModes');
    if (pv.spec.capacity?.storage === undefined) causes.push(required('spec.capacity'));
    const sources = ['hostPath', 'local', 'csi', 'nfs', 'awsElasticBlockStore'].filter((s) => (pv.spec as Record<string, unknown>)[s] !== undefined);
    if (sources.length === 0) causes.push(required('spec', 'must specify a volume type'));
    if (sources.length > 1) causes.push(forbidden(`spec.${sources[1]}`, 'may not specify more than 1 volume type'));
    return causes;
  },
});

export const storageClassSchema = z
  .object({
    apiVersion: apiVersionField,
    kind: kindField,
    metadata: objectMetaSchema.default(() => ({})),
    provisioner: z.string().optional(),
    parameters: stringMap.optional(),
    reclaimPolicy: z.enum(['Retain', 'Delete']).default('Delete'),
    mountOptions: z.array(z.string()).optional(),
    allowVolumeExpansion: z.boolean().optional(),
    volumeBindingMode: z.enum(['Immediate', 'WaitForFirstConsumer']).default('Immediate'),
    allowedTopologies: z.array(z.looseObject({})).optional(),
  })
  .meta({ id: `${storageV1}.StorageClass`, description: 'How volumes of a class are provisioned.' });
export type StorageClass = z.infer<typeof storageClassSchema>;

export const storageClassRules: AnyKindRules = anyKind<StorageClass>({
  schema: storageClassSchema,
  nameRule: isDns1123Subdomain,
  validate: (sc) => (sc.provisioner ? [] : [required('provisioner')]),
  validateUpdate: (sc, old) => {
    const causes: FieldCause[] = [];
    if (sc.provisioner !== old.provisioner) causes.push(forbidden('provisioner', 'updates to provisioner are forbidden.'));
    if (!sameJson(sc.parameters, old.parameters)) causes.push(forbidden('parameters', 'updates to parameters are forbidden.'));
    if (sc.reclaimPolicy !== old.reclaimPolicy) causes.push(forbidden('reclaimPolicy', 'updates to reclaimPolicy are forbidden.'));
    if (sc.volumeBindingMode !== old.volumeBindingMode) causes.push(forbidden('volumeBindingMode', 'field is immutable'));
    return causes;
  },
});

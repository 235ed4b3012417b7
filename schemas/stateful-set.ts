/** `apps/v1` StatefulSet, with the apps/v1 defaults and validation. */
import { z } from 'zod';
import { child, type FieldCause, forbidden, index, nonNegative, supportedValue } from './field-errors.ts';
import { type AnyKindRules, anyKind } from './kind-rules.ts';
import { apiVersionField, int32, int64, intOrString, kindField, labelSelectorSchema, objectMetaSchema, time } from './meta.ts';
import { isDns1123Label } from './name-rules.ts';
import { defaultPodTemplate, podTemplateSpecSchema } from './pod-spec.ts';
import { persistentVolumeClaimSchema, validateClaimSpec } from './storage.ts';
import { sameJson } from './structural-equality.ts';
import { validateWorkloadSpec } from './workload-rules.ts';

const appsV1 = 'io.k8s.api.apps.v1';

export const statefulSetSpecSchema = z
  .object({
    replicas: int32.default(1),
    selector: labelSelectorSchema.optional(),
    template: podTemplateSpecSchema.optional(),
    volumeClaimTemplates: z
      .array(persistentVolumeClaimSchema)
      .optional()
      .describe('Claims each pod gets its own of, named <template>-<statefulset>-<ordinal>.'),
    serviceName: z.string().optional().describe('The headless Service that gives each pod its DNS name.'),
    podManagementPolicy: z.enum(['OrderedReady', 'Parallel']).default('OrderedReady'),
    updateStrategy: z
      .object({
        type: z.enum(['RollingUpdate', 'OnDelete']).default('RollingUpdate'),
        rollingUpdate: z.object({ partition: int32.optional(), maxUnavailable: intOrString.optional() }).optional(),
      })
      .meta({ id: `${appsV1}.StatefulSetUpdateStrategy` })
      .default(() => ({ type: 'RollingUpdate' as const })),
    revisionHistoryLimit: int32.default(10),
    minReadySeconds: int32.optional(),
    persistentVolumeClaimRetentionPolicy: z
      .object({ whenDeleted: z.enum(['Retain', 'Delete']).default('Retain'), whenScaled: z.enum(['Retain', 'Delete']).default('Retain') })
      .meta({ id: `${appsV1}.StatefulSetPersistentVolumeClaimRetentionPolicy` })
      .default(() => ({ whenDeleted: 'Retain' as const, whenScaled: 'Retain' as const })),
    ordinals: z.object({ start: int32.default(0) }).optional(),
  })
  .meta({ id: `${appsV1}.StatefulSetSpec`, description: 'The desired state of a StatefulSet.' });

export const statefulSetStatusSchema = z
  .object({
    observedGeneration: int64.optional(),
    replicas: int32.default(0),
    readyReplicas: int32.optional(),
    currentReplicas: int32.optional(),
    updatedReplicas: int32.optional(),
    currentRevision: z.string().optional(),
    updateRevision: z.string().optional(),
    collisionCount: int32.optional(),
    availableReplicas: int32.optional(),
    conditions: z
      .array(
        z.object({ type: z.string(), status: z.string(), lastTransitionTime: time.optional(), reason: z.string().optional(), message: z.string().optional() }),
      )
      .optional(),
  })
  .meta({ id: `${appsV1}.StatefulSetStatus` });

export const statefulSetSchema = z
  .object({
    apiVersion: apiVersionField,
    kind: kindField,
    metadata: objectMetaSchema.default(() => ({})),
    spec: statefulSetSpecSchema.default(() => statefulSetSpecSchema.parse({})),
    status: statefulSetStatusSchema.optional(),
  })
  .meta({ id: `${appsV1}.StatefulSet`, description: 'A StatefulSet runs pods with stable names and storage, in order.' });
export type StatefulSet = z.infer<typeof statefulSetSchema>;

function defaultStatefulSet(sts: StatefulSet): StatefulSet {
  const strategy = sts.spec.updateStrategy;
  const rollingUpdate =
    strategy.type === 'RollingUpdate' ? { ...strategy.rollingUpdate, partition: strategy.rollingUpdate?.partition ?? 0 } : strategy.rollingUpdate;
  return {
    ...sts,
    spec: {
      ...sts.spec,
      updateStrategy: { ...strategy, ...(rollingUpdate ? { rollingUpdate } : {}) },
      ...(sts.spec.template ? { template: defaultPodTemplate(sts.spec.template) } : {}),
      ...(sts.spec.volumeClaimTemplates
        ? {
            volumeClaimTemplates: sts.spec.volumeClaimTemplates.map((claim) => ({
              ...claim,
              apiVersion: 'v1',
              kind: 'PersistentVolumeClaim',
              status: { phase: 'Pending' },
            })),
          }
        : {}),
    },
  };
}

/** The template as its pods will be: each claim template is a volume of the pod. */
function withClaimVolumes(spec: StatefulSet['spec']): StatefulSet['spec'] {
  const claims = spec.volumeClaimTemplates ?? [];
  if (!spec.template || claims.length === 0) return spec;
  const podSpec = spec.template.spec;
  if (!podSpec) return spec;
  const names = new Set(claims.map((c) => c.metadata.name));
  const volumes = [
    ...(podSpec.volumes ?? []).filter((v) => !names.has(v.name)),
    ...claims.map((c) => ({ name: c.metadata.name ?? '', persistentVolumeClaim: { claimName: c.metadata.name ?? '' } })),
  ];
  return { ...spec, template: { ...spec.template, spec: { ...podSpec, volumes } } };
}

function validateStatefulSet(sts: StatefulSet): FieldCause[] {
  const causes = validateWorkloadSpec(withClaimVolumes(sts.spec), 'statefulset');
  causes.push(...nonNegative('spec.revisionHistoryLimit', sts.spec.revisionHistoryLimit));
  causes.push(...supportedValue('spec.podManagementPolicy', sts.spec.podManagementPolicy, ['OrderedReady', 'Parallel']));
  causes.push(...nonNegative('spec.updateStrategy.rollingUpdate.partition', sts.spec.updateStrategy.rollingUpdate?.partition));
  if (sts.spec.updateStrategy.type === 'OnDelete' && sts.spec.updateStrategy.rollingUpdate) {
    causes.push(forbidden('spec.updateStrategy.rollingUpdate', "only allowed for updateStrategy 'RollingUpdate'"));
  }
  if (sts.spec.serviceName)
    causes.push(
      ...(isDns1123Label(sts.spec.serviceName)
        ? []
        : [{ field: 'spec.serviceName', reason: 'FieldValueInvalid', message: `Invalid value: "${sts.spec.serviceName}": must be a DNS-1123 label` }]),
    );
  (sts.spec.volumeClaimTemplates ?? []).forEach((claim, i) => {
    causes.push(...validateClaimSpec(claim.spec, child(index('spec.volumeClaimTemplates', i), 'spec')));
  });
  return causes;
}

/** The fields a StatefulSet update may change; the rest are Forbidden, as kube-apiserver words it. */
function validateStatefulSetUpdate(sts: StatefulSet, old: StatefulSet): FieldCause[] {
  const frozen = (spec: StatefulSet['spec']) => ({
    ...spec,
    replicas: undefined,
    ordinals: undefined,
    template: undefined,
    updateStrategy: undefined,
    persistentVolumeClaimRetentionPolicy: undefined,
    minReadySeconds: undefined,
    revisionHistoryLimit: undefined,
  });
  if (sameJson(frozen(sts.spec), frozen(old.spec))) return [];
  return [
    forbidden(
      'spec',
      "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
    ),
  ];
}

export const statefulSetRules: AnyKindRules = anyKind<StatefulSet>({
  schema: statefulSetSchema,
  nameRule: isDns1123Label,
  defaults: defaultStatefulSet,
  validate: validateStatefulSet,
  validateUpdate: validateStatefulSetUpdate,
});

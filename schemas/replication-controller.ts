/** `v1` ReplicationController: the ReplicaSet's predecessor, with an equality-based selector (a plain label map). */
import { z } from 'zod';
import { child, type FieldCause, forbidden, invalid, nonNegative, required } from './field-errors.ts';
import { type AnyKindRules, anyKind } from './kind-rules.ts';
import { apiVersionField, conditionSchema, int32, int64, kindField, objectMetaSchema } from './meta.ts';
import { isDns1123Subdomain } from './name-rules.ts';
import { defaultPodTemplate, podTemplateSpecSchema } from './pod-spec.ts';
import { validatePodTemplate } from './pod-spec-validation.ts';
import { goLabelMap } from './workload-rules.ts';

const coreV1 = 'io.k8s.api.core.v1';

export const replicationControllerSpecSchema = z
  .object({
    replicas: int32.default(1).describe('Number of desired pods.'),
    minReadySeconds: int32.optional(),
    selector: z
      .record(z.string(), z.string())
      .optional()
      .describe('Label keys and values pods must match to be controlled; defaulted from the template labels.'),
    template: podTemplateSpecSchema.optional(),
  })
  .meta({ id: `${coreV1}.ReplicationControllerSpec`, description: 'The desired state of a ReplicationController.' });

export const replicationControllerStatusSchema = z
  .object({
    replicas: int32.default(0),
    fullyLabeledReplicas: int32.optional(),
    readyReplicas: int32.optional(),
    availableReplicas: int32.optional(),
    observedGeneration: int64.optional(),
    conditions: z
      .array(conditionSchema.omit({ observedGeneration: true }))
      .meta({ 'x-kubernetes-patch-merge-key': 'type', 'x-kubernetes-patch-strategy': 'merge' })
      .optional(),
  })
  .meta({ id: `${coreV1}.ReplicationControllerStatus`, description: 'The most recently observed state of a ReplicationController.' });

export const replicationControllerSchema = z
  .object({
    apiVersion: apiVersionField,
    kind: kindField,
    metadata: objectMetaSchema.default(() => ({})),
    spec: replicationControllerSpecSchema.default(() => replicationControllerSpecSchema.parse({})),
    status: replicationControllerStatusSchema.prefault({}),
  })
  .meta({ id: `${coreV1}.ReplicationController`, description: 'A ReplicationController keeps a given number of pods matching its selector running.' });
export type ReplicationController = z.infer<typeof replicationControllerSchema>;

/** `SetDefaults_ReplicationController`: the selector, and the labels when it has none, from the template's labels. */
function defaultReplicationController(rc: ReplicationController): ReplicationController {
  const template = rc.spec.template;
  if (!template) return rc;
  const labels = template.metadata?.labels;
  const hasLabels = labels !== undefined && Object.keys(labels).length > 0;
  return {
    ...rc,
    metadata: hasLabels && Object.keys(rc.metadata.labels ?? {}).length === 0 ? { ...rc.metadata, labels: { ...labels } } : rc.metadata,
    spec: {
      ...rc.spec,
      ...(hasLabels && Object.keys(rc.spec.selector ?? {}).length === 0 ? { selector: { ...labels } } : {}),
      template: defaultPodTemplate(template),
    },
  };
}

/** `ValidateReplicationControllerSpec` and `ValidatePodTemplateSpecForRC`. */
function validateReplicationController(rc: ReplicationController): FieldCause[] {
  const spec = rc.spec;
  const causes: FieldCause[] = [...nonNegative('spec.minReadySeconds', spec.minReadySeconds)];
  const selector = spec.selector ?? {};
  if (Object.keys(selector).length === 0) causes.push(required('spec.selector'));
  causes.push(...nonNegative('spec.replicas', spec.replicas));
  const template = spec.template;
  if (!template) {
    causes.push(required('spec.template'));
    return causes;
  }
  const labels = template.metadata?.labels ?? {};
  if (Object.keys(selector).length > 0 && !Object.entries(selector).every(([key, value]) => labels[key] === value)) {
    causes.push(invalid('spec.template.metadata.labels', labels, '`selector` does not match template `labels`', goLabelMap(labels)));
  }
  causes.push(...validatePodTemplate(template, 'spec.template'));
  if (template.spec?.activeDeadlineSeconds !== undefined) {
    causes.push(forbidden(child(child('spec.template', 'spec'), 'activeDeadlineSeconds'), 'activeDeadlineSeconds in ReplicationController is not Supported'));
  }
  return causes;
}

export const replicationControllerRules: AnyKindRules = anyKind<ReplicationController>({
  schema: replicationControllerSchema,
  nameRule: isDns1123Subdomain,
  defaults: defaultReplicationController,
  validate: validateReplicationController,
});

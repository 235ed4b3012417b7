/** `apps/v1` ReplicaSet. */
import { z } from 'zod';
import { type AnyKindRules, anyKind } from './kind-rules.ts';
import { apiVersionField, conditionSchema, int32, int64, kindField, labelSelectorSchema, objectMetaSchema } from './meta.ts';
import { isDns1123Subdomain } from './name-rules.ts';
import { defaultPodTemplate, podTemplateSpecSchema } from './pod-spec.ts';
import { validateSelectorUnchanged, validateWorkloadSpec } from './workload-rules.ts';

const appsV1 = 'io.k8s.api.apps.v1';

export const replicaSetSpecSchema = z
  .object({
    replicas: int32.default(1).describe('Number of desired pods.'),
    minReadySeconds: int32.optional(),
    selector: labelSelectorSchema.optional(),
    template: podTemplateSpecSchema.optional(),
  })
  .meta({ id: `${appsV1}.ReplicaSetSpec`, description: 'The desired state of a ReplicaSet.' });

export const replicaSetStatusSchema = z
  .object({
    replicas: int32.default(0),
    fullyLabeledReplicas: int32.optional(),
    readyReplicas: int32.optional(),
    availableReplicas: int32.optional(),
    terminatingReplicas: int32.optional(),
    observedGeneration: int64.optional(),
    conditions: z
      .array(conditionSchema.omit({ observedGeneration: true }))
      .meta({ 'x-kubernetes-patch-merge-key': 'type', 'x-kubernetes-patch-strategy': 'merge' })
      .optional(),
  })
  .meta({ id: `${appsV1}.ReplicaSetStatus`, description: 'The most recently observed state of a ReplicaSet.' });

export const replicaSetSchema = z
  .object({
    apiVersion: apiVersionField,
    kind: kindField,
    metadata: objectMetaSchema.default(() => ({})),
    spec: replicaSetSpecSchema.default(() => replicaSetSpecSchema.parse({})),
    // Always sent, `{"replicas": 0}` before the controller counts (replicas has no omitempty).
    status: replicaSetStatusSchema.prefault({}),
  })
  .meta({ id: `${appsV1}.ReplicaSet`, description: 'A ReplicaSet keeps a given number of pods matching its selector running.' });
export type ReplicaSet = z.infer<typeof replicaSetSchema>;

export const replicaSetRules: AnyKindRules = anyKind<ReplicaSet>({
  schema: replicaSetSchema,
  nameRule: isDns1123Subdomain,
  defaults: (rs) => (rs.spec.template ? { ...rs, spec: { ...rs.spec, template: defaultPodTemplate(rs.spec.template) } } : rs),
  validate: (rs) => validateWorkloadSpec(rs.spec, 'replicaset'),
  validateUpdate: (rs, old) => validateSelectorUnchanged(rs.spec, old.spec),
});

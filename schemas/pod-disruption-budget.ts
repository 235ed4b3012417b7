/** `policy/v1` PodDisruptionBudget: how many of a set of pods voluntary disruptions (evictions) may take down at once. */
import { z } from 'zod';
import { validateIntOrPercent } from './deployment.ts';
import { type FieldCause, invalid, notSupported } from './field-errors.ts';
import { type AnyKindRules, anyKind } from './kind-rules.ts';
import {
  apiVersionField,
  conditionSchema,
  int32,
  int64,
  intOrString,
  kindField,
  labelSelectorSchema,
  objectMetaSchema,
  time,
  validateLabelSelector,
} from './meta.ts';
import { isDns1123Subdomain } from './name-rules.ts';

const policyV1 = 'io.k8s.api.policy.v1';
const evictionPolicies = ['IfHealthyBudget', 'AlwaysAllow'] as const;

export const podDisruptionBudgetSpecSchema = z
  .object({
    minAvailable: intOrString.optional().describe('Pods that must still be available after an eviction (a number or a percentage).'),
    selector: labelSelectorSchema.optional().describe('The pods the budget covers; an empty selector selects every pod of the namespace.'),
    maxUnavailable: intOrString.optional().describe('Pods that may be unavailable after an eviction (a number or a percentage).'),
    unhealthyPodEvictionPolicy: z.string().optional(),
  })
  .meta({ id: `${policyV1}.PodDisruptionBudgetSpec`, description: 'The desired state of a PodDisruptionBudget.' });

export const podDisruptionBudgetStatusSchema = z
  .object({
    observedGeneration: int64.optional(),
    disruptedPods: z.record(z.string(), time).optional(),
    disruptionsAllowed: int32.default(0),
    currentHealthy: int32.default(0),
    desiredHealthy: int32.default(0),
    expectedPods: int32.default(0),
    conditions: z
      .array(conditionSchema)
      .meta({
        'x-kubernetes-patch-merge-key': 'type',
        'x-kubernetes-patch-strategy': 'merge',
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['type'],
      })
      .optional(),
  })
  .meta({ id: `${policyV1}.PodDisruptionBudgetStatus`, description: 'The most recently observed state of a PodDisruptionBudget.' });

export const podDisruptionBudgetSchema = z
  .object({
    apiVersion: apiVersionField,
    kind: kindField,
    metadata: objectMetaSchema.default(() => ({})),
    spec: podDisruptionBudgetSpecSchema.default(() => ({})),
    status: podDisruptionBudgetStatusSchema.optional(),
  })
  .meta({ id: `${policyV1}.PodDisruptionBudget`, description: 'A PodDisruptionBudget limits how many pods of a set evictions may take down at once.' });
export type PodDisruptionBudget = z.infer<typeof podDisruptionBudgetSchema>;

/** `ValidatePodDisruptionBudgetSpec` of the policy validation. */
function validatePodDisruptionBudget(pdb: PodDisruptionBudget): FieldCause[] {
  const spec = pdb.spec;
  const causes: FieldCause[] = [];
  if (spec.minAvailable !== undefined && spec.maxUnavailable !== undefined) {
    causes.push(invalid('spec', spec, 'minAvailable and maxUnavailable cannot be both set'));
  }
  causes.push(...validateIntOrPercent('spec.minAvailable', spec.minAvailable, true));
  causes.push(...validateIntOrPercent('spec.maxUnavailable', spec.maxUnavailable, true));
  if (spec.selector) causes.push(...validateLabelSelector(spec.selector, 'spec.selector'));
  const policy = spec.unhealthyPodEvictionPolicy;
  if (policy !== undefined && !(evictionPolicies as readonly string[]).includes(policy)) {
    causes.push(notSupported('spec.unhealthyPodEvictionPolicy', policy, evictionPolicies));
  }
  return causes;
}

export const podDisruptionBudgetRules: AnyKindRules = anyKind<PodDisruptionBudget>({
  schema: podDisruptionBudgetSchema,
  nameRule: isDns1123Subdomain,
  validate: validatePodDisruptionBudget,
});

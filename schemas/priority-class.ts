/**
 * `scheduling.k8s.io/v1` PriorityClass: a name for a pod priority. Pods name one in
 * `spec.priorityClassName` and get its value in `spec.priority` at admission
 * (`functions/domain/pods/pod-priority.ts`). The two system classes exist from the start.
 */
import { z } from 'zod';
import { type FieldCause, forbidden, immutable, notSupported } from './field-errors.ts';
import { type AnyKindRules, anyKind } from './kind-rules.ts';
import { apiVersionField, int32, kindField, objectMetaSchema } from './meta.ts';
import { isDns1123Subdomain } from './name-rules.ts';

const preemptionPolicies = ['Never', 'PreemptLowerPriority'] as const;

export const priorityClassSchema = z
  .object({
    apiVersion: apiVersionField,
    kind: kindField,
    metadata: objectMetaSchema.default(() => ({})),
    value: int32.default(0).describe('The priority pods of this class get; at most 1000000000 for classes users define; immutable.'),
    globalDefault: z.boolean().optional().describe('Whether pods without a priorityClassName get this class; one class at most.'),
    description: z.string().optional().describe('When to use this class.'),
    preemptionPolicy: z.enum(preemptionPolicies).default('PreemptLowerPriority').describe('Never, or PreemptLowerPriority (the default); immutable.'),
  })
  .meta({ id: 'io.k8s.api.scheduling.v1.PriorityClass', description: 'A PriorityClass maps a name to the priority of the pods that name it.' });
export type PriorityClass = z.infer<typeof priorityClassSchema>;

/** Names starting with this are Kubernetes' own classes. */
export const systemPriorityClassPrefix = 'system-';
/** The highest value a class users define may have. */
export const highestUserDefinablePriority = 1_000_000_000;

/** The classes every cluster has, as Kubernetes defines them. */
export const systemPriorityClasses: readonly PriorityClass[] = [
  {
    apiVersion: 'scheduling.k8s.io/v1',
    kind: 'PriorityClass',
    metadata: { name: 'system-node-critical' },
    value: 2_000_001_000,
    description: 'Used for system critical pods that must not be moved from their current node.',
    preemptionPolicy: 'PreemptLowerPriority',
  },
  {
    apiVersion: 'scheduling.k8s.io/v1',
    kind: 'PriorityClass',
    metadata: { name: 'system-cluster-critical' },
    value: 2_000_000_000,
    description: 'Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.',
    preemptionPolicy: 'PreemptLowerPriority',
  },
];

/** Kubernetes' IsKnownSystemPriorityClass: a reserved name must be one of the system classes, as defined. */
function knownSystemClassError(priorityClass: PriorityClass): string | undefined {
  const known = systemPriorityClasses.find((system) => system.metadata.name === priorityClass.metadata.name);
  if (!known) return `${priorityClass.metadata.name} is not a known system priority class`;
  if (known.value !== priorityClass.value) return `value of ${known.metadata.name} PriorityClass must be ${known.value}`;
  if ((priorityClass.globalDefault ?? false) !== false) return `globalDefault of ${known.metadata.name} PriorityClass must be false`;
  return undefined;
}

function validatePriorityClass(priorityClass: PriorityClass): FieldCause[] {
  const causes: FieldCause[] = [];
  if (priorityClass.metadata.name?.startsWith(systemPriorityClassPrefix)) {
    const error = knownSystemClassError(priorityClass);
    if (error)
      causes.push(
        forbidden('metadata.name', `priority class names with '${systemPriorityClassPrefix}' prefix are reserved for system use only. error: ${error}`),
      );
  } else if (priorityClass.value > highestUserDefinablePriority) {
    causes.push(forbidden('value', `maximum allowed value of a user defined priority is ${highestUserDefinablePriority}`));
  }
  if (!preemptionPolicies.includes(priorityClass.preemptionPolicy))
    causes.push(notSupported('preemptionPolicy', priorityClass.preemptionPolicy, preemptionPolicies));
  return causes;
}

function validatePriorityClassUpdate(priorityClass: PriorityClass, old: PriorityClass): FieldCause[] {
  const causes: FieldCause[] = [];
  if (priorityClass.value !== old.value) causes.push(forbidden('value', 'may not be changed in an update.'));
  if (priorityClass.preemptionPolicy !== old.preemptionPolicy) causes.push(immutable('preemptionPolicy', priorityClass.preemptionPolicy));
  return causes;
}

export const priorityClassRules: AnyKindRules = anyKind<PriorityClass>({
  schema: priorityClassSchema,
  nameRule: isDns1123Subdomain,
  validate: validatePriorityClass,
  validateUpdate: validatePriorityClassUpdate,
});

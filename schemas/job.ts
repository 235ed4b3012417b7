/** `batch/v1` Job, with the batch/v1 defaults (parallelism, completions, backoffLimit, completion mode) and validation. */
import { z } from 'zod';
import { child, duplicate, type FieldCause, forbidden, immutable, index, invalid, nonNegative, required, supportedValue } from './field-errors.ts';
import { type AnyKindRules, anyKind } from './kind-rules.ts';
import {
  apiVersionField,
  int32,
  int64,
  isEmptySelector,
  kindField,
  labelSelectorSchema,
  objectMetaSchema,
  selectorMatches,
  time,
  validateLabelSelector,
} from './meta.ts';
import { isDns1123Subdomain } from './name-rules.ts';
import { defaultPodTemplate, podTemplateSpecSchema } from './pod-spec.ts';
import { validatePodTemplate } from './pod-spec-validation.ts';
import { sameJson } from './structural-equality.ts';
import { goLabelMap } from './workload-rules.ts';

const batchV1 = 'io.k8s.api.batch.v1';

export const jobRestartPolicies = ['OnFailure', 'Never'] as const;
export const completionModes = ['NonIndexed', 'Indexed'] as const;
export const podReplacementPolicies = ['TerminatingOrFailed', 'Failed'] as const;

/** The label and annotation keys the Job controller and the Job strategy put on a Job's pods. */
export const jobLabels = {
  controllerUid: 'batch.kubernetes.io/controller-uid',
  legacyControllerUid: 'controller-uid',
  jobName: 'batch.kubernetes.io/job-name',
  legacyJobName: 'job-name',
  completionIndex: 'batch.kubernetes.io/job-completion-index',
  trackingFinalizer: 'batch.kubernetes.io/job-tracking',
} as const;

const podFailurePolicyRule = z
  .object({
    action: z.string(),
    onExitCodes: z.object({ containerName: z.string().optional(), operator: z.string(), values: z.array(int32) }).optional(),
    onPodConditions: z.array(z.object({ type: z.string(), status: z.string().optional() })).optional(),
  })
  .meta({ id: `${batchV1}.PodFailurePolicyRule` });

export const jobSpecSchema = z
  .object({
    parallelism: int32.optional().describe('Most pods the job runs at any given time.'),
    completions: int32.optional().describe('Successfully finished pods the job needs; unset means any pod success finishes it.'),
    activeDeadlineSeconds: int64.optional().describe('Seconds the job may be active before it is failed.'),
    podFailurePolicy: z.object({ rules: z.array(podFailurePolicyRule) }).optional(),
    successPolicy: z.object({ rules: z.array(z.object({ succeededIndexes: z.string().optional(), succeededCount: int32.optional() })) }).optional(),
    backoffLimit: int32.optional().describe('Retries before the job is marked failed; defaults to 6.'),
    backoffLimitPerIndex: int32.optional(),
    maxFailedIndexes: int32.optional(),
    selector: labelSelectorSchema.optional().describe('Label query over the pods of the job; normally set by the system.'),
    manualSelector: z.boolean().optional(),
    template: podTemplateSpecSchema.optional().describe('The pod the job runs; restartPolicy must be Never or OnFailure.'),
    ttlSecondsAfterFinished: int32.optional().describe('Seconds after the job finishes before it is deleted.'),
    completionMode: z.enum(completionModes).optional(),
    suspend: z.boolean().optional(),
    podReplacementPolicy: z.enum(podReplacementPolicies).optional(),
    managedBy: z.string().optional(),
  })
  .meta({ id: `${batchV1}.JobSpec`, description: 'How a job runs.' });

export const jobConditionSchema = z
  .object({
    type: z.string(),
    status: z.string(),
    lastProbeTime: time.optional(),
    lastTransitionTime: time.optional(),
    reason: z.string().optional(),
    message: z.string().optional(),
  })
  .meta({ id: `${batchV1}.JobCondition` });

export const jobStatusSchema = z
  .object({
    conditions: z.array(jobConditionSchema).meta({ 'x-kubernetes-patch-merge-key': 'type', 'x-kubernetes-patch-strategy': 'merge' }).optional(),
    startTime: time.optional(),
    completionTime: time.optional(),
    active: int32.optional(),
    succeeded: int32.optional(),
    failed: int32.optional(),
    terminating: int32.optional(),
    completedIndexes: z.string().optional(),
    failedIndexes: z.string().optional(),
    uncountedTerminatedPods: z.object({ succeeded: z.array(z.string()).optional(), failed: z.array(z.string()).optional() }).optional(),
    ready: int32.optional(),
  })
  .meta({ id: `${batchV1}.JobStatus`, description: 'The most recently observed state of a job.' });

export const jobSchema = z
  .object({
    apiVersion: apiVersionField,
    kind: kindField,
    metadata: objectMetaSchema.default(() => ({})),
    spec: jobSpecSchema.default(() => ({})),
    status: jobStatusSchema.optional(),
  })
  .meta({ id: `${batchV1}.Job`, description: 'A Job runs pods until a number of them finish successfully.' });
export type Job = z.infer<typeof jobSchema>;
export type JobSpec = z.infer<typeof jobSpecSchema>;

/** `SetDefaults_Job` of batch/v1. */
export function defaultJobSpec(spec: JobSpec): JobSpec {
  const bothUnset = spec.completions === undefined && spec.parallelism === undefined;
  return {
    ...spec,
    ...(bothUnset ? { completions: 1 } : {}),
    parallelism: spec.parallelism ?? 1,
    backoffLimit: spec.backoffLimit ?? (spec.backoffLimitPerIndex !== undefined ? 2147483647 : 6),
    completionMode: spec.completionMode ?? 'NonIndexed',
    suspend: spec.suspend ?? false,
    manualSelector: spec.manualSelector ?? false,
    podReplacementPolicy: spec.podReplacementPolicy ?? (spec.podFailurePolicy ? 'Failed' : 'TerminatingOrFailed'),
    ...(spec.podFailurePolicy
      ? {
          podFailurePolicy: {
            rules: spec.podFailurePolicy.rules.map((rule) =>
              rule.onPodConditions
                ? { ...rule, onPodConditions: rule.onPodConditions.map((pattern) => ({ ...pattern, status: pattern.status ?? 'True' })) }
                : rule,
            ),
          },
        }
      : {}),
    ...(spec.template ? { template: defaultPodTemplate(spec.template) } : {}),
  };
}

/** `ValidateJobSpec`, for a Job's spec at `field` (`spec`, or a CronJob's `spec.jobTemplate.spec`). */
export function validateJobSpec(spec: JobSpec, field: string, options: { selectorRequired: boolean }): FieldCause[] {
  const causes: FieldCause[] = [
    ...nonNegative(child(field, 'parallelism'), spec.parallelism),
    ...nonNegative(child(field, 'completions'), spec.completions),
    ...nonNegative(child(field, 'activeDeadlineSeconds'), spec.activeDeadlineSeconds),
    ...nonNegative(child(field, 'backoffLimit'), spec.backoffLimit),
    ...nonNegative(child(field, 'ttlSecondsAfterFinished'), spec.ttlSecondsAfterFinished),
    ...supportedValue(child(field, 'completionMode'), spec.completionMode, completionModes),
  ];
  if (spec.completionMode === 'Indexed' && spec.completions === undefined) {
    causes.push(required(child(field, 'completions'), 'when completion mode is Indexed'));
  }
  if (spec.backoffLimitPerIndex !== undefined && spec.completionMode !== 'Indexed') {
    causes.push(invalid(child(field, 'backoffLimitPerIndex'), spec.backoffLimitPerIndex, 'requires indexed completion mode'));
  }
  if (spec.selector) {
    causes.push(...validateLabelSelector(spec.selector, child(field, 'selector')));
    const labels = spec.template?.metadata?.labels ?? {};
    if (!isEmptySelector(spec.selector) && !selectorMatches(spec.selector, labels)) {
      causes.push({
        field: child(child(child(field, 'template'), 'metadata'), 'labels'),
        reason: 'FieldValueInvalid',
        message: `Invalid value: ${goLabelMap(labels)}: \`selector\` does not match template \`labels\``,
      });
    }
  } else if (options.selectorRequired) causes.push(required(child(field, 'selector')));
  causes.push(...validatePodTemplate(spec.template, child(field, 'template'), jobRestartPolicies));
  if (spec.podFailurePolicy) causes.push(...validatePodFailurePolicy(spec, field));
  return causes;
}

export const podFailurePolicyActions = ['FailJob', 'FailIndex', 'Ignore', 'Count'] as const;
const exitCodeOperators = ['In', 'NotIn'] as const;
const conditionStatuses = ['True', 'False', 'Unknown'] as const;
const maxPolicyRules = 20;
const maxPolicyValues = 255;

/** kube-apiserver's checks of `podFailurePolicy` (batch validation, `validatePodFailurePolicy`). */
function validatePodFailurePolicy(spec: JobSpec, field: string): FieldCause[] {
  const at = child(field, 'podFailurePolicy');
  const rules = spec.podFailurePolicy?.rules ?? [];
  const causes: FieldCause[] = [];
  const restartPolicy = spec.template?.spec?.restartPolicy;
  if (restartPolicy !== 'Never') {
    causes.push(
      invalid(child(child(child(field, 'template'), 'spec'), 'restartPolicy'), restartPolicy, 'only "Never" is supported when podFailurePolicy is specified'),
    );
  }
  if (rules.length > maxPolicyRules) {
    causes.push({ field: child(at, 'rules'), reason: 'FieldValueTooMany', message: `Too many: ${rules.length}: must have at most ${maxPolicyRules} items` });
  }
  for (const [i, rule] of rules.entries()) {
    const ruleAt = index(child(at, 'rules'), i);
    causes.push(...supportedValue(child(ruleAt, 'action'), rule.action, podFailurePolicyActions));
    if (rule.action === 'FailIndex' && spec.backoffLimitPerIndex === undefined) {
      causes.push(forbidden(child(ruleAt, 'action'), 'the FailIndex action can only be used when backoffLimitPerIndex is specified'));
    }
    if (rule.onExitCodes && rule.onPodConditions) causes.push(invalid(ruleAt, '', 'specifying both OnExitCodes and OnPodConditions is not supported'));
    else if (!rule.onExitCodes && !rule.onPodConditions) causes.push(invalid(ruleAt, '', 'specifying one of OnExitCodes and OnPodConditions is required'));
    if (rule.onExitCodes) {
      const codesAt = child(ruleAt, 'onExitCodes');
      const { operator, values } = rule.onExitCodes;
      causes.push(...supportedValue(child(codesAt, 'operator'), operator, exitCodeOperators));
      const valuesAt = child(codesAt, 'values');
      if (values.length === 0) causes.push(required(valuesAt, 'at least one value is required'));
      if (values.length > maxPolicyValues) {
        causes.push({ field: valuesAt, reason: 'FieldValueTooMany', message: `Too many: ${values.length}: must have at most ${maxPolicyValues} items` });
      }
      for (const [j, value] of values.entries()) {
        if (operator === 'In' && value === 0) causes.push(invalid(index(valuesAt, j), value, 'must not be 0 for the In operator'));
        if (values.indexOf(value) !== j) causes.push(duplicate(index(valuesAt, j), value));
        else if (j > 0 && value < (values[j - 1] as number)) causes.push(invalid(index(valuesAt, j), value, 'must be ordered'));
      }
    }
    for (const [j, pattern] of (rule.onPodConditions ?? []).entries()) {
      const patternAt = index(child(ruleAt, 'onPodConditions'), j);
      if (!pattern.type) causes.push(required(child(patternAt, 'type')));
      causes.push(...supportedValue(child(patternAt, 'status'), pattern.status ?? 'True', conditionStatuses));
    }
  }
  return causes;
}

function validateJobUpdate(job: Job, old: Job): FieldCause[] {
  const causes: FieldCause[] = [];
  if (!sameJson(job.spec.selector, old.spec.selector)) causes.push(immutable('spec.selector', job.spec.selector));
  if (!sameJson(job.spec.completionMode, old.spec.completionMode)) causes.push(immutable('spec.completionMode', job.spec.completionMode));
  if (job.spec.completions !== old.spec.completions && job.spec.completionMode !== 'Indexed') {
    causes.push(immutable('spec.completions', job.spec.completions));
  }
  // A suspended Job that never started may have its scheduling directives changed; Skiff keeps the whole template as it was.
  if (!sameJson(job.spec.template, old.spec.template)) causes.push(immutable('spec.template', job.spec.template));
  return causes;
}

export const jobRules: AnyKindRules = anyKind<Job>({
  schema: jobSchema,
  nameRule: isDns1123Subdomain,
  defaults: (job) => ({ ...job, spec: defaultJobSpec(job.spec) }),
  validate: (job) => validateJobSpec(job.spec, 'spec', { selectorRequired: true }),
  validateUpdate: validateJobUpdate,
});

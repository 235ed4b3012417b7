/** `apps/v1` Deployment, with the apps/v1 defaults (replicas, RollingUpdate 25%/25%, history, deadline). */
import { z } from 'zod';
import { type FieldCause, forbidden, invalid, nonNegative, required } from './field-errors.ts';
import { type AnyKindRules, anyKind } from './kind-rules.ts';
import { apiVersionField, type IntOrString, int32, int64, intOrString, kindField, labelSelectorSchema, objectMetaSchema, time } from './meta.ts';
import { isDns1123Subdomain } from './name-rules.ts';
import { defaultPodTemplate, podTemplateSpecSchema } from './pod-spec.ts';
import { validateSelectorUnchanged, validateWorkloadSpec } from './workload-rules.ts';

const appsV1 = 'io.k8s.api.apps.v1';

const rollingUpdateDeployment = z
  .object({ maxUnavailable: intOrString.optional(), maxSurge: intOrString.optional() })
  .meta({ id: `${appsV1}.RollingUpdateDeployment`, description: 'Bounds of a rolling update, as a number of pods or a percentage of the desired replicas.' });

export const deploymentStrategySchema = z
  .object({ type: z.enum(['Recreate', 'RollingUpdate']).optional(), rollingUpdate: rollingUpdateDeployment.optional() })
  .meta({ id: `${appsV1}.DeploymentStrategy`, description: 'How a Deployment replaces old pods with new ones.' });

export const deploymentConditionSchema = z
  .object({
    type: z.string(),
    status: z.string(),
    lastUpdateTime: time.optional(),
    lastTransitionTime: time.optional(),
    reason: z.string().optional(),
    message: z.string().optional(),
  })
  .meta({ id: `${appsV1}.DeploymentCondition` });

export const deploymentSpecSchema = z
  .object({
    replicas: int32.default(1).describe('Number of desired pods.'),
    selector: labelSelectorSchema.optional().describe('Label query over the pods this Deployment manages; must match the template labels; immutable.'),
    template: podTemplateSpecSchema.optional().describe('The pod each replica runs.'),
    // retainKeys, as Kubernetes tags it: kubectl apply then drops rollingUpdate when the type becomes Recreate.
    strategy: deploymentStrategySchema.default(() => ({})).meta({ 'x-kubernetes-patch-strategy': 'retainKeys' }),
    minReadySeconds: int32.optional().describe('Seconds a new pod must be ready, without crashing, to count as available.'),
    revisionHistoryLimit: int32.default(10).describe('Old ReplicaSets kept for rollback.'),
    paused: z.boolean().optional().describe('Stops the rollout of template changes while true.'),
    progressDeadlineSeconds: int32.default(600).describe('Seconds a rollout may make no progress before it is reported as failed.'),
  })
  .meta({ id: `${appsV1}.DeploymentSpec`, description: 'The desired state of a Deployment.' });

export const deploymentStatusSchema = z
  .object({
    observedGeneration: int64.optional(),
    replicas: int32.optional(),
    updatedReplicas: int32.optional(),
    readyReplicas: int32.optional(),
    availableReplicas: int32.optional(),
    unavailableReplicas: int32.optional(),
    terminatingReplicas: int32.optional(),
    conditions: z.array(deploymentConditionSchema).meta({ 'x-kubernetes-patch-merge-key': 'type', 'x-kubernetes-patch-strategy': 'merge' }).optional(),
    collisionCount: int32.optional(),
  })
  .meta({ id: `${appsV1}.DeploymentStatus`, description: 'The most recently observed state of a Deployment.' });

export const deploymentSchema = z
  .object({
    apiVersion: apiVersionField,
    kind: kindField,
    metadata: objectMetaSchema.default(() => ({})),
    spec: deploymentSpecSchema.default(() => deploymentSpecSchema.parse({})),
    // kube-apiserver always sends the status struct, `{}` before the controller fills it.
    status: deploymentStatusSchema.prefault({}),
  })
  .meta({ id: `${appsV1}.Deployment`, description: 'A Deployment declares a replicated, rolling-updated set of pods, managed through ReplicaSets.' });
export type Deployment = z.infer<typeof deploymentSchema>;

function defaultDeployment(deployment: Deployment): Deployment {
  const strategy = deployment.spec.strategy;
  const type = strategy.type ?? 'RollingUpdate';
  const rollingUpdate =
    type === 'RollingUpdate'
      ? { maxUnavailable: strategy.rollingUpdate?.maxUnavailable ?? '25%', maxSurge: strategy.rollingUpdate?.maxSurge ?? '25%' }
      : strategy.rollingUpdate;
  return {
    ...deployment,
    spec: {
      ...deployment.spec,
      strategy: { type, ...(rollingUpdate ? { rollingUpdate } : {}) },
      ...(deployment.spec.template ? { template: defaultPodTemplate(deployment.spec.template) } : {}),
    },
  };
}

const percent = /^[0-9]+%$/;

/** `ValidatePositiveIntOrPercent` and `IsNotMoreThan100Percent` of the apps validation. */
export function validateIntOrPercent(field: string, value: IntOrString | undefined, atMost100Percent: boolean): FieldCause[] {
  if (value === undefined) return [];
  if (typeof value === 'number') return nonNegative(field, value);
  if (!percent.test(value)) {
    return [
      invalid(
        field,
        value,
        "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
      ),
    ];
  }
  return atMost100Percent && Number.parseInt(value, 10) > 100 ? [invalid(field, value, 'must not be greater than 100%')] : [];
}

function isZero(value: IntOrString | undefined): boolean {
  return value === 0 || value === '0%';
}

function validateDeployment(deployment: Deployment): FieldCause[] {
  const spec = deployment.spec;
  const causes = validateWorkloadSpec(spec, 'deployment');
  causes.push(...nonNegative('spec.revisionHistoryLimit', spec.revisionHistoryLimit));
  const { type, rollingUpdate } = spec.strategy;
  if (type === 'Recreate' && rollingUpdate) causes.push(forbidden('spec.strategy.rollingUpdate', "may not be specified when strategy `type` is 'Recreate'"));
  if (type === 'RollingUpdate') {
    if (!rollingUpdate) causes.push(required('spec.strategy.rollingUpdate', 'this should be defaulted and never be nil'));
    else {
      causes.push(...validateIntOrPercent('spec.strategy.rollingUpdate.maxUnavailable', rollingUpdate.maxUnavailable, true));
      causes.push(...validateIntOrPercent('spec.strategy.rollingUpdate.maxSurge', rollingUpdate.maxSurge, false));
      if (isZero(rollingUpdate.maxUnavailable) && isZero(rollingUpdate.maxSurge)) {
        causes.push(invalid('spec.strategy.rollingUpdate.maxUnavailable', rollingUpdate.maxUnavailable, 'may not be 0 when `maxSurge` is 0'));
      }
    }
  }
  causes.push(...nonNegative('spec.progressDeadlineSeconds', spec.progressDeadlineSeconds));
  if (spec.progressDeadlineSeconds <= (spec.minReadySeconds ?? 0)) {
    causes.push(invalid('spec.progressDeadlineSeconds', spec.progressDeadlineSeconds, 'must be greater than minReadySeconds'));
  }
  return causes;
}

export const deploymentRules: AnyKindRules = anyKind<Deployment>({
  schema: deploymentSchema,
  nameRule: isDns1123Subdomain,
  defaults: defaultDeployment,
  validate: validateDeployment,
  validateUpdate: (deployment, old) => validateSelectorUnchanged(deployment.spec, old.spec),
});

/** `apps/v1` DaemonSet, with the apps/v1 defaults (RollingUpdate, maxUnavailable 1, maxSurge 0, history 10). */
import { z } from 'zod';
import { validateIntOrPercent } from './deployment.ts';
import { type FieldCause, forbidden, invalid, nonNegative, required } from './field-errors.ts';
import { type AnyKindRules, anyKind } from './kind-rules.ts';
import { apiVersionField, type IntOrString, int32, int64, intOrString, kindField, labelSelectorSchema, objectMetaSchema, time } from './meta.ts';
import { isDns1123Subdomain } from './name-rules.ts';
import { defaultPodTemplate, podTemplateSpecSchema } from './pod-spec.ts';
import { validateSelectorUnchanged, validateWorkloadSpec } from './workload-rules.ts';

const appsV1 = 'io.k8s.api.apps.v1';

export const daemonSetUpdateStrategySchema = z
  .object({
    type: z.enum(['RollingUpdate', 'OnDelete']).optional(),
    rollingUpdate: z
      .object({ maxUnavailable: intOrString.optional(), maxSurge: intOrString.optional() })
      .meta({ id: `${appsV1}.RollingUpdateDaemonSet` })
      .optional(),
  })
  .meta({ id: `${appsV1}.DaemonSetUpdateStrategy` });

export const daemonSetSpecSchema = z
  .object({
    selector: labelSelectorSchema.optional().describe('Label query over the pods this DaemonSet manages; must match the template labels; immutable.'),
    template: podTemplateSpecSchema.optional().describe('The pod every eligible node runs.'),
    updateStrategy: daemonSetUpdateStrategySchema.default(() => ({})),
    minReadySeconds: int32.optional(),
    revisionHistoryLimit: int32.default(10),
  })
  .meta({ id: `${appsV1}.DaemonSetSpec`, description: 'The desired state of a DaemonSet.' });

export const daemonSetStatusSchema = z
  .object({
    currentNumberScheduled: int32.default(0),
    numberMisscheduled: int32.default(0),
    desiredNumberScheduled: int32.default(0),
    numberReady: int32.default(0),
    observedGeneration: int64.optional(),
    updatedNumberScheduled: int32.optional(),
    numberAvailable: int32.optional(),
    numberUnavailable: int32.optional(),
    collisionCount: int32.optional(),
    conditions: z
      .array(
        z.object({ type: z.string(), status: z.string(), lastTransitionTime: time.optional(), reason: z.string().optional(), message: z.string().optional() }),
      )
      .optional(),
  })
  .meta({ id: `${appsV1}.DaemonSetStatus`, description: 'The most recently observed state of a DaemonSet.' });

export const daemonSetSchema = z
  .object({
    apiVersion: apiVersionField,
    kind: kindField,
    metadata: objectMetaSchema.default(() => ({})),
    spec: daemonSetSpecSchema.default(() => daemonSetSpecSchema.parse({})),
    status: daemonSetStatusSchema.optional(),
  })
  .meta({ id: `${appsV1}.DaemonSet`, description: 'A DaemonSet runs a copy of a pod on every eligible node.' });
export type DaemonSet = z.infer<typeof daemonSetSchema>;

function defaultDaemonSet(ds: DaemonSet): DaemonSet {
  const strategy = ds.spec.updateStrategy;
  const type = strategy.type ?? 'RollingUpdate';
  const rollingUpdate =
    type === 'RollingUpdate'
      ? { maxUnavailable: strategy.rollingUpdate?.maxUnavailable ?? 1, maxSurge: strategy.rollingUpdate?.maxSurge ?? 0 }
      : strategy.rollingUpdate;
  return {
    ...ds,
    spec: {
      ...ds.spec,
      updateStrategy: { type, ...(rollingUpdate ? { rollingUpdate } : {}) },
      ...(ds.spec.template ? { template: defaultPodTemplate(ds.spec.template) } : {}),
    },
  };
}

function isZero(value: IntOrString | undefined): boolean {
  return value === undefined || value === 0 || value === '0%';
}

function validateDaemonSet(ds: DaemonSet): FieldCause[] {
  const causes = validateWorkloadSpec(ds.spec, 'daemonset');
  causes.push(...nonNegative('spec.revisionHistoryLimit', ds.spec.revisionHistoryLimit));
  const { type, rollingUpdate } = ds.spec.updateStrategy;
  if (type === 'OnDelete' && rollingUpdate && (rollingUpdate.maxSurge !== undefined || rollingUpdate.maxUnavailable !== undefined)) {
    causes.push(forbidden('spec.updateStrategy.rollingUpdate', "may not be specified when strategy `type` is 'OnDelete'"));
  }
  if (type === 'RollingUpdate') {
    if (!rollingUpdate) causes.push(required('spec.updateStrategy.rollingUpdate'));
    else {
      causes.push(...validateIntOrPercent('spec.updateStrategy.rollingUpdate.maxUnavailable', rollingUpdate.maxUnavailable, true));
      causes.push(...validateIntOrPercent('spec.updateStrategy.rollingUpdate.maxSurge', rollingUpdate.maxSurge, true));
      if (isZero(rollingUpdate.maxUnavailable) && isZero(rollingUpdate.maxSurge)) {
        causes.push(invalid('spec.updateStrategy.rollingUpdate.maxUnavailable', rollingUpdate.maxUnavailable, 'may not be 0 when `maxSurge` is 0'));
      }
    }
  }
  return causes;
}

export const daemonSetRules: AnyKindRules = anyKind<DaemonSet>({
  schema: daemonSetSchema,
  nameRule: isDns1123Subdomain,
  defaults: defaultDaemonSet,
  validate: validateDaemonSet,
  validateUpdate: (ds, old) => validateSelectorUnchanged(ds.spec, old.spec),
});

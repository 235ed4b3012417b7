/**
 * `autoscaling/v2` HorizontalPodAutoscaler, with autoscaling/v2's defaults (minReplicas 1, a CPU
 * utilization target of 80% when no metric is given, and, once `behavior` is written, every
 * rule it leaves out: scale-up without a window at the larger of 4 pods or 100% per 15 s,
 * scale-down after a 300 s window at 100% per 15 s) and kube-apiserver's validation. The
 * `autoscaling/v1` form `kubectl autoscale` sends is converted to and from this one.
 */
import { z } from 'zod';
import { type FieldCause, invalid, notSupported, required } from './field-errors.ts';
import { type AnyKindRules, anyKind } from './kind-rules.ts';
import { apiVersionField, int32, int64, kindField, labelSelectorSchema, objectMetaSchema, quantity, time } from './meta.ts';
import { isDns1123Subdomain } from './name-rules.ts';

const autoscalingV2 = 'io.k8s.api.autoscaling.v2';

const crossVersionObjectReference = z
  .object({ kind: z.string().default(''), name: z.string().default(''), apiVersion: z.string().optional() })
  .meta({ id: `${autoscalingV2}.CrossVersionObjectReference`, description: 'The object whose scale subresource the autoscaler sets.' });

const metricTarget = z
  .object({
    type: z.string().default(''),
    value: quantity.optional(),
    averageValue: quantity.optional(),
    averageUtilization: int32.optional(),
  })
  .meta({ id: `${autoscalingV2}.MetricTarget`, description: "Utilization (percent of the pods' requests), Value or AverageValue." });

const resourceMetricSource = z
  .object({ name: z.string().default(''), target: metricTarget.default(() => ({ type: '' })) })
  .meta({ id: `${autoscalingV2}.ResourceMetricSource` });

const containerResourceMetricSource = z
  .object({ name: z.string().default(''), container: z.string().default(''), target: metricTarget.default(() => ({ type: '' })) })
  .meta({ id: `${autoscalingV2}.ContainerResourceMetricSource` });

const metricIdentifier = z.object({ name: z.string().default(''), selector: labelSelectorSchema.optional() }).meta({ id: `${autoscalingV2}.MetricIdentifier` });

const metricSpec = z
  .object({
    type: z.string().default(''),
    resource: resourceMetricSource.optional(),
    containerResource: containerResourceMetricSource.optional(),
    pods: z.object({ metric: metricIdentifier, target: metricTarget }).optional(),
    object: z.object({ describedObject: crossVersionObjectReference, metric: metricIdentifier, target: metricTarget }).optional(),
    external: z.object({ metric: metricIdentifier, target: metricTarget }).optional(),
  })
  .meta({ id: `${autoscalingV2}.MetricSpec`, description: 'One metric the replica count follows: Resource, ContainerResource, Pods, Object or External.' });
export type MetricSpec = z.infer<typeof metricSpec>;

const scalingPolicy = z
  .object({ type: z.string().default(''), value: int32.default(0), periodSeconds: int32.default(0) })
  .meta({ id: `${autoscalingV2}.HPAScalingPolicy`, description: 'At most `value` pods (Pods) or percent (Percent) within `periodSeconds`.' });
export type ScalingPolicy = z.infer<typeof scalingPolicy>;

const scalingRules = z
  .object({
    stabilizationWindowSeconds: int32.optional(),
    selectPolicy: z.string().optional(),
    policies: z.array(scalingPolicy).optional().meta({ 'x-kubernetes-list-type': 'atomic' }),
  })
  .meta({ id: `${autoscalingV2}.HPAScalingRules`, description: 'How fast the replica count may change in one direction.' });
export type ScalingRules = z.infer<typeof scalingRules>;

const behavior = z
  .object({ scaleUp: scalingRules.optional(), scaleDown: scalingRules.optional() })
  .meta({ id: `${autoscalingV2}.HorizontalPodAutoscalerBehavior` });

const metricValueStatus = z
  .object({ value: quantity.optional(), averageValue: quantity.optional(), averageUtilization: int32.optional() })
  .meta({ id: `${autoscalingV2}.MetricValueStatus` });

const metricStatus = z
  .object({
    type: z.string(),
    resource: z.object({ name: z.string(), current: metricValueStatus }).optional(),
    containerResource: z.object({ name: z.string(), container: z.string(), current: metricValueStatus }).optional(),
    pods: z.looseObject({}).optional(),
    object: z.looseObject({}).optional(),
    external: z.looseObject({}).optional(),
  })
  .meta({ id: `${autoscalingV2}.MetricStatus` });
export type MetricStatus = z.infer<typeof metricStatus>;

const hpaCondition = z
  .object({
    type: z.string(),
    status: z.string(),
    lastTransitionTime: time.optional(),
    reason: z.string().optional(),
    message: z.string().optional(),
  })
  .meta({ id: `${autoscalingV2}.HorizontalPodAutoscalerCondition` });
export type HorizontalPodAutoscalerCondition = z.infer<typeof hpaCondition>;

export const horizontalPodAutoscalerSpecSchema = z
  .object({
    scaleTargetRef: crossVersionObjectReference.default(() => ({ kind: '', name: '' })).describe('The Deployment, ReplicaSet or StatefulSet to scale.'),
    minReplicas: int32.default(1).describe('The fewest replicas the autoscaler sets.'),
    maxReplicas: int32.default(0).describe('The most replicas the autoscaler sets; at least minReplicas.'),
    metrics: z
      .array(metricSpec)
      .optional()
      .meta({ 'x-kubernetes-list-type': 'atomic' })
      .describe('What the replica count follows; the largest count any metric asks for wins.'),
    behavior: behavior.optional().describe("How fast to scale up and down; Kubernetes' defaults when absent."),
  })
  .meta({ id: `${autoscalingV2}.HorizontalPodAutoscalerSpec` });

export const horizontalPodAutoscalerStatusSchema = z
  .object({
    observedGeneration: int64.optional(),
    lastScaleTime: time.optional(),
    currentReplicas: int32.optional(),
    desiredReplicas: int32.default(0),
    currentMetrics: z.array(metricStatus).optional().meta({ 'x-kubernetes-list-type': 'atomic' }),
    conditions: z.array(hpaCondition).optional().meta({ 'x-kubernetes-patch-merge-key': 'type', 'x-kubernetes-patch-strategy': 'merge' }),
  })
  .meta({ id: `${autoscalingV2}.HorizontalPodAutoscalerStatus` });
export type HorizontalPodAutoscalerStatus = z.infer<typeof horizontalPodAutoscalerStatusSchema>;

export const horizontalPodAutoscalerSchema = z
  .object({
    apiVersion: apiVersionField,
    kind: kindField,
    metadata: objectMetaSchema.default(() => ({})),
    spec: horizontalPodAutoscalerSpecSchema.default(() => ({ scaleTargetRef: { kind: '', name: '' }, minReplicas: 1, maxReplicas: 0 })),
    status: horizontalPodAutoscalerStatusSchema.optional(),
  })
  .meta({ id: `${autoscalingV2}.HorizontalPodAutoscaler`, description: 'Sets the replica count of a scalable workload from the usage of its pods.' });
export type HorizontalPodAutoscaler = z.infer<typeof horizontalPodAutoscalerSchema>;

export const scaleUpDefaults = { stabilizationWindowSeconds: 0, selectPolicy: 'Max', periodSeconds: 15, pods: 4, percent: 100 } as const;
export const scaleDownDefaults = { stabilizationWindowSeconds: 300, selectPolicy: 'Max', periodSeconds: 15, percent: 100 } as const;

function scaleUpRules(rules: ScalingRules | undefined): ScalingRules {
  return {
    stabilizationWindowSeconds: rules?.stabilizationWindowSeconds ?? scaleUpDefaults.stabilizationWindowSeconds,
    selectPolicy: rules?.selectPolicy ?? scaleUpDefaults.selectPolicy,
    policies: rules?.policies ?? [
      { type: 'Pods', value: scaleUpDefaults.pods, periodSeconds: scaleUpDefaults.periodSeconds },
      { type: 'Percent', value: scaleUpDefaults.percent, periodSeconds: scaleUpDefaults.periodSeconds },
    ],
  };
}

function scaleDownRules(rules: ScalingRules | undefined): ScalingRules {
  return {
    stabilizationWindowSeconds: rules?.stabilizationWindowSeconds ?? scaleDownDefaults.stabilizationWindowSeconds,
    selectPolicy: rules?.selectPolicy ?? scaleDownDefaults.selectPolicy,
    policies: rules?.policies ?? [{ type: 'Percent', value: scaleDownDefaults.percent, periodSeconds: scaleDownDefaults.periodSeconds }],
  };
}

/** autoscaling/v2's defaulting: the CPU target when no metric is given, and the behavior's missing rules. */
export function defaultHorizontalPodAutoscaler(hpa: HorizontalPodAutoscaler): HorizontalPodAutoscaler {
  const spec = hpa.spec;
  return {
    ...hpa,
    spec: {
      ...spec,
      metrics:
        spec.metrics && spec.metrics.length > 0
          ? spec.metrics
          : [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }],
      ...(spec.behavior ? { behavior: { scaleUp: scaleUpRules(spec.behavior.scaleUp), scaleDown: scaleDownRules(spec.behavior.scaleDown) } } : {}),
    },
  };
}

const metricTypes = ['Object', 'Pods', 'Resource', 'ContainerResource', 'External'] as const;
const targetTypes = ['AverageValue', 'Utilization', 'Value'] as const;
const selectPolicies = ['Disabled', 'Max', 'Min'] as const;
const policyTypes = ['Percent', 'Pods'] as const;
const maxStabilizationWindowSeconds = 3600;
const maxPeriodSeconds = 1800;

function validateTarget(field: string, target: z.infer<typeof metricTarget>): FieldCause[] {
  const causes: FieldCause[] = [];
  if (!target.type) causes.push(required(`${field}.type`, 'must specify a metric target type'));
  else if (!(targetTypes as readonly string[]).includes(target.type)) causes.push(notSupported(`${field}.type`, target.type, targetTypes));
  if (target.averageUtilization !== undefined && target.averageUtilization < 1) {
    causes.push(invalid(`${field}.averageUtilization`, target.averageUtilization, 'must be greater than 0'));
  }
  if (target.type === 'Utilization' && target.averageUtilization === undefined) {
    causes.push(required(`${field}.averageUtilization`, 'must set averageUtilization when the target type is Utilization'));
  }
  if (target.type === 'AverageValue' && target.averageValue === undefined) causes.push(required(`${field}.averageValue`, 'must set averageValue'));
  if (target.type === 'Value' && target.value === undefined) causes.push(required(`${field}.value`, 'must set value'));
  return causes;
}

function validateRules(field: string, rules: ScalingRules | undefined): FieldCause[] {
  if (!rules) return [];
  const causes: FieldCause[] = [];
  const window = rules.stabilizationWindowSeconds;
  if (window !== undefined && (window < 0 || window > maxStabilizationWindowSeconds)) {
    causes.push(
      invalid(
        `${field}.stabilizationWindowSeconds`,
        window,
        window < 0 ? 'must be greater than or equal to zero' : `must be less than or equal to ${maxStabilizationWindowSeconds}`,
      ),
    );
  }
  if (rules.selectPolicy !== undefined && !(selectPolicies as readonly string[]).includes(rules.selectPolicy)) {
    causes.push(notSupported(`${field}.selectPolicy`, rules.selectPolicy, selectPolicies));
  }
  if (rules.policies !== undefined && rules.policies.length === 0) causes.push(required(`${field}.policies`, 'must specify at least one Policy'));
  for (const [i, policy] of (rules.policies ?? []).entries()) {
    const at = `${field}.policies[${i}]`;
    if (!(policyTypes as readonly string[]).includes(policy.type)) causes.push(notSupported(`${at}.type`, policy.type, policyTypes));
    if (policy.value <= 0) causes.push(invalid(`${at}.value`, policy.value, 'must be greater than zero'));
    if (policy.periodSeconds <= 0) causes.push(invalid(`${at}.periodSeconds`, policy.periodSeconds, 'must be greater than zero'));
    else if (policy.periodSeconds > maxPeriodSeconds)
      causes.push(invalid(`${at}.periodSeconds`, policy.periodSeconds, `must be less than or equal to ${maxPeriodSeconds}`));
  }
  return causes;
}

export function validateHorizontalPodAutoscaler(hpa: HorizontalPodAutoscaler): FieldCause[] {
  const causes: FieldCause[] = [];
  const { spec } = hpa;
  const ref = spec.scaleTargetRef;
  if (!ref.kind) causes.push(required('spec.scaleTargetRef.kind'));
  if (!ref.name) causes.push(required('spec.scaleTargetRef.name'));
  else if (ref.name.includes('/')) causes.push(invalid('spec.scaleTargetRef.name', ref.name, "may not contain '/'"));
  if (spec.minReplicas < 1) causes.push(invalid('spec.minReplicas', spec.minReplicas, 'must be greater than or equal to 1'));
  if (spec.maxReplicas < 1) causes.push(invalid('spec.maxReplicas', spec.maxReplicas, 'must be greater than 0'));
  else if (spec.maxReplicas < spec.minReplicas) causes.push(invalid('spec.maxReplicas', spec.maxReplicas, 'must be greater than or equal to `minReplicas`'));
  for (const [i, metric] of (spec.metrics ?? []).entries()) {
    const at = `spec.metrics[${i}]`;
    if (!metric.type) {
      causes.push(required(`${at}.type`, 'must specify a metric source type'));
      continue;
    }
    if (!(metricTypes as readonly string[]).includes(metric.type)) {
      causes.push(notSupported(`${at}.type`, metric.type, metricTypes));
      continue;
    }
    if (metric.type === 'Resource') {
      if (!metric.resource) causes.push(required(`${at}.resource`, 'must populate information for the given metric source'));
      else {
        if (!metric.resource.name) causes.push(required(`${at}.resource.name`, 'must specify a resource name'));
        causes.push(...validateTarget(`${at}.resource.target`, metric.resource.target));
      }
    } else if (metric.type === 'ContainerResource') {
      if (!metric.containerResource) causes.push(required(`${at}.containerResource`, 'must populate information for the given metric source'));
      else {
        if (!metric.containerResource.name) causes.push(required(`${at}.containerResource.name`, 'must specify a resource name'));
        if (!metric.containerResource.container) causes.push(required(`${at}.containerResource.container`, 'must specify a container'));
        causes.push(...validateTarget(`${at}.containerResource.target`, metric.containerResource.target));
      }
    }
  }
  causes.push(...validateRules('spec.behavior.scaleUp', spec.behavior?.scaleUp), ...validateRules('spec.behavior.scaleDown', spec.behavior?.scaleDown));
  return causes;
}

export const horizontalPodAutoscalerRules: AnyKindRules = anyKind<HorizontalPodAutoscaler>({
  schema: horizontalPodAutoscalerSchema,
  nameRule: isDns1123Subdomain,
  defaults: defaultHorizontalPodAutoscaler,
  validate: validateHorizontalPodAutoscaler,
});

/**
 * Where autoscaling/v1 keeps what only v2 can say, so that an object read and written back at v1
 * loses nothing: the annotation names Kubernetes uses for the same purpose. Their values here are
 * the v2 fields as JSON (Kubernetes writes its older metric shapes); a v1 write lifts them back
 * into the fields and drops the annotations.
 */
export const v1CarryAnnotations = {
  metrics: 'autoscaling.alpha.kubernetes.io/metrics',
  behavior: 'autoscaling.alpha.kubernetes.io/behavior',
  conditions: 'autoscaling.alpha.kubernetes.io/conditions',
  currentMetrics: 'autoscaling.alpha.kubernetes.io/current-metrics',
} as const;

const isCpuUtilization = (metric: MetricSpec): boolean =>
  metric.type === 'Resource' && metric.resource?.name === 'cpu' && metric.resource.target.averageUtilization !== undefined;
const isCpuCurrent = (metric: MetricStatus): boolean =>
  metric.type === 'Resource' && metric.resource?.name === 'cpu' && metric.resource.current.averageUtilization !== undefined;

/** The JSON value of a carried annotation, or undefined when it is absent or not of the expected shape. */
function carried<T>(annotations: Record<string, string>, key: string, expect: (value: unknown) => boolean): T | undefined {
  const text = annotations[key];
  if (text === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return expect(value) ? (value as T) : undefined;
  } catch {
    return undefined;
  }
}

const isObject = (value: unknown): boolean => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The autoscaling/v1 form (`kubectl autoscale` posts it) as v2: its CPU target becomes a Resource metric, the carried annotations fields again. */
export function horizontalPodAutoscalerFromV1(v1: Record<string, unknown>): Record<string, unknown> {
  const spec = (v1.spec ?? {}) as { scaleTargetRef?: unknown; minReplicas?: number; maxReplicas?: number; targetCPUUtilizationPercentage?: number };
  const status = v1.status as
    | { observedGeneration?: number; lastScaleTime?: string; currentReplicas?: number; desiredReplicas?: number; currentCPUUtilizationPercentage?: number }
    | undefined;
  const metadata = (v1.metadata ?? {}) as { annotations?: Record<string, string> };
  const annotations = { ...(metadata.annotations ?? {}) };
  const otherMetrics = carried<MetricSpec[]>(annotations, v1CarryAnnotations.metrics, Array.isArray) ?? [];
  const behaviorValue = carried<Record<string, unknown>>(annotations, v1CarryAnnotations.behavior, isObject);
  const conditions = carried<unknown[]>(annotations, v1CarryAnnotations.conditions, Array.isArray);
  const currentMetrics = carried<unknown[]>(annotations, v1CarryAnnotations.currentMetrics, Array.isArray);
  for (const key of Object.values(v1CarryAnnotations)) delete annotations[key];
  const { annotations: _old, ...restOfMetadata } = metadata;
  const cpuMetrics =
    spec.targetCPUUtilizationPercentage !== undefined
      ? [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: spec.targetCPUUtilizationPercentage } } }]
      : [];
  const metrics = [...cpuMetrics, ...otherMetrics];
  return {
    ...v1,
    apiVersion: 'autoscaling/v2',
    ...(v1.metadata !== undefined ? { metadata: { ...restOfMetadata, ...(Object.keys(annotations).length > 0 ? { annotations } : {}) } } : {}),
    spec: {
      scaleTargetRef: spec.scaleTargetRef,
      ...(spec.minReplicas !== undefined ? { minReplicas: spec.minReplicas } : {}),
      ...(spec.maxReplicas !== undefined ? { maxReplicas: spec.maxReplicas } : {}),
      ...(metrics.length > 0 ? { metrics } : {}),
      ...(behaviorValue ? { behavior: behaviorValue } : {}),
    },
    ...(status ? { status: statusFromV1(status, currentMetrics, conditions) } : {}),
  };
}

function statusFromV1(
  status: { observedGeneration?: number; lastScaleTime?: string; currentReplicas?: number; desiredReplicas?: number; currentCPUUtilizationPercentage?: number },
  otherCurrent: unknown[] | undefined,
  conditions: unknown[] | undefined,
): Record<string, unknown> {
  const cpuCurrent =
    status.currentCPUUtilizationPercentage !== undefined
      ? [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: status.currentCPUUtilizationPercentage } } }]
      : [];
  const currentMetrics = [...cpuCurrent, ...(otherCurrent ?? [])];
  return {
    ...(status.observedGeneration !== undefined ? { observedGeneration: status.observedGeneration } : {}),
    ...(status.lastScaleTime !== undefined ? { lastScaleTime: status.lastScaleTime } : {}),
    ...(status.currentReplicas !== undefined ? { currentReplicas: status.currentReplicas } : {}),
    desiredReplicas: status.desiredReplicas ?? 0,
    ...(currentMetrics.length > 0 ? { currentMetrics } : {}),
    ...(conditions ? { conditions } : {}),
  };
}

/**
 * The v2 object as autoscaling/v1 shows it: the CPU utilization target and current value as
 * fields, the rest of the spec and status in the carried annotations.
 */
export function horizontalPodAutoscalerToV1(v2: HorizontalPodAutoscaler): Record<string, unknown> {
  const metrics = v2.spec.metrics ?? [];
  const cpuMetric = metrics.find(isCpuUtilization);
  const currentMetrics = v2.status?.currentMetrics ?? [];
  const cpuCurrent = currentMetrics.find(isCpuCurrent);
  const status = v2.status;
  const otherMetrics = metrics.filter((metric) => metric !== cpuMetric);
  const otherCurrent = currentMetrics.filter((metric) => metric !== cpuCurrent);
  const annotations: Record<string, string> = {
    ...(v2.metadata.annotations ?? {}),
    ...(otherMetrics.length > 0 ? { [v1CarryAnnotations.metrics]: JSON.stringify(otherMetrics) } : {}),
    ...(v2.spec.behavior ? { [v1CarryAnnotations.behavior]: JSON.stringify(v2.spec.behavior) } : {}),
    ...(status?.conditions?.length ? { [v1CarryAnnotations.conditions]: JSON.stringify(status.conditions) } : {}),
    ...(otherCurrent.length > 0 ? { [v1CarryAnnotations.currentMetrics]: JSON.stringify(otherCurrent) } : {}),
  };
  return {
    ...v2,
    apiVersion: 'autoscaling/v1',
    metadata: { ...v2.metadata, ...(Object.keys(annotations).length > 0 ? { annotations } : {}) },
    spec: {
      scaleTargetRef: v2.spec.scaleTargetRef,
      minReplicas: v2.spec.minReplicas,
      maxReplicas: v2.spec.maxReplicas,
      ...(cpuMetric?.resource?.target.averageUtilization !== undefined ? { targetCPUUtilizationPercentage: cpuMetric.resource.target.averageUtilization } : {}),
    },
    status: {
      ...(status?.observedGeneration !== undefined ? { observedGeneration: status.observedGeneration } : {}),
      ...(status?.lastScaleTime ? { lastScaleTime: status.lastScaleTime } : {}),
      currentReplicas: status?.currentReplicas ?? 0,
      desiredReplicas: status?.desiredReplicas ?? 0,
      ...(cpuCurrent?.resource?.current.averageUtilization !== undefined
        ? { currentCPUUtilizationPercentage: cpuCurrent.resource.current.averageUtilization }
        : {}),
    },
  };
}

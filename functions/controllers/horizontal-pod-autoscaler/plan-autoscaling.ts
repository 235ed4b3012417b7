/**
 * One sync of a HorizontalPodAutoscaler, as Kubernetes' HPA controller does it
 * (`reconcileAutoscaler`): the replica count each metric asks for (the largest wins), brought
 * within min/max, stabilized over the recent recommendations and limited by the scaling rules
 * (`behavior`, or without it the 300 s scale-down window and the scale-up limit of max(2×, 4)),
 * with the status Kubernetes writes: currentMetrics, currentReplicas, desiredReplicas,
 * lastScaleTime and the AbleToScale, ScalingActive and ScalingLimited conditions.
 *
 * Kubernetes keeps the recommendations and scale events in the controller's memory. Skiff's
 * controllers keep nothing between runs (Lambda), so they live in an annotation of the HPA
 * (`ScaleHistory`), written only when they change: a recommendation is stored when it differs
 * from the last one, and counts as seen until the next one was made (docs/adr/174). Pure.
 */
import {
  type HorizontalPodAutoscaler,
  type HorizontalPodAutoscalerCondition,
  type HorizontalPodAutoscalerStatus,
  type MetricStatus,
  type ScalingRules,
  scaleDownDefaults,
} from '../../../schemas/horizontal-pod-autoscaler.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import type { PodMetrics } from '../../../schemas/resource-metrics.ts';
import { MetricError, milliValue, resourceReplicas } from './replica-calculator.ts';

export const scaleHistoryAnnotation = 'autoscaling.skiff.io/scale-history';

export interface ScaleHistory {
  /** Recommendations as they changed: each holds from `time` until the next one. */
  readonly recommendations: readonly { readonly replicas: number; readonly time: string }[];
  readonly scaleUps: readonly { readonly change: number; readonly time: string }[];
  readonly scaleDowns: readonly { readonly change: number; readonly time: string }[];
}

export const emptyHistory: ScaleHistory = { recommendations: [], scaleUps: [], scaleDowns: [] };

export function readHistory(hpa: KubeObject): ScaleHistory {
  const raw = hpa.metadata.annotations?.[scaleHistoryAnnotation];
  if (!raw) return emptyHistory;
  try {
    const parsed = JSON.parse(raw) as Partial<ScaleHistory>;
    return {
      recommendations: Array.isArray(parsed.recommendations) ? parsed.recommendations : [],
      scaleUps: Array.isArray(parsed.scaleUps) ? parsed.scaleUps : [],
      scaleDowns: Array.isArray(parsed.scaleDowns) ? parsed.scaleDowns : [],
    };
  } catch {
    return emptyHistory;
  }
}

export interface TargetScale {
  readonly replicas: number;
  readonly selector: string;
}

export interface AutoscalingEvent {
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
}

export interface AutoscalingPlan {
  /** The target's new replica count, when it changes. */
  readonly rescale?: number;
  readonly rescaleReason?: string;
  readonly status: HorizontalPodAutoscalerStatus;
  /** The history to keep, with the rescale's event when there is one: kept only once the target took the new count. */
  readonly history: ScaleHistory;
  /**
   * The history to keep when the rescale could not be written: the recommendation without a
   * scale event, as Kubernetes stores the event only after the scale update succeeded.
   */
  readonly historyWithoutRescale: ScaleHistory;
  readonly events: readonly AutoscalingEvent[];
}

/** The scale-down window Kubernetes uses without `behavior` (--horizontal-pod-autoscaler-downscale-stabilization). */
const defaultDownscaleWindowSeconds = scaleDownDefaults.stabilizationWindowSeconds;

function setCondition(
  conditions: HorizontalPodAutoscalerCondition[],
  previous: readonly HorizontalPodAutoscalerCondition[],
  type: string,
  status: 'True' | 'False',
  reason: string,
  message: string,
  now: string,
): void {
  const before = previous.find((c) => c.type === type);
  const lastTransitionTime = before && before.status === status && before.lastTransitionTime ? before.lastTransitionTime : now;
  const index = conditions.findIndex((c) => c.type === type);
  const condition = { type, status, lastTransitionTime, reason, message };
  if (index >= 0) conditions[index] = condition;
  else conditions.push(condition);
}

/** Replica changes within the last `periodSeconds` (Kubernetes' getReplicasChangePerPeriod). */
function changeWithin(events: readonly { change: number; time: string }[], periodSeconds: number, nowMs: number): number {
  return events.filter((event) => Date.parse(event.time) > nowMs - periodSeconds * 1000).reduce((sum, event) => sum + event.change, 0);
}

function scaleUpLimit(current: number, history: ScaleHistory, rules: ScalingRules, nowMs: number): number {
  if (rules.selectPolicy === 'Disabled') return current;
  const pick = rules.selectPolicy === 'Min' ? Math.min : Math.max;
  let result = rules.selectPolicy === 'Min' ? Number.MAX_SAFE_INTEGER : Number.MIN_SAFE_INTEGER;
  for (const policy of rules.policies ?? []) {
    const start = current - changeWithin(history.scaleUps, policy.periodSeconds, nowMs) + changeWithin(history.scaleDowns, policy.periodSeconds, nowMs);
    const proposed = policy.type === 'Pods' ? start + policy.value : Math.ceil(start * (1 + policy.value / 100));
    result = pick(result, proposed);
  }
  return result;
}

function scaleDownLimit(current: number, history: ScaleHistory, rules: ScalingRules, nowMs: number): number {
  if (rules.selectPolicy === 'Disabled') return current;
  const pick = rules.selectPolicy === 'Min' ? Math.max : Math.min;
  let result = rules.selectPolicy === 'Min' ? Number.MIN_SAFE_INTEGER : Number.MAX_SAFE_INTEGER;
  for (const policy of rules.policies ?? []) {
    const start = current - changeWithin(history.scaleUps, policy.periodSeconds, nowMs) + changeWithin(history.scaleDowns, policy.periodSeconds, nowMs);
    const proposed = policy.type === 'Pods' ? start - policy.value : Math.trunc(start * (1 - policy.value / 100));
    result = pick(result, proposed);
  }
  return result;
}

/** The recommendations seen after `cutoffMs`: a stored one holds until the next was made (the last until now). */
function seenSince(history: ScaleHistory, cutoffMs: number, nowMs: number): number[] {
  const list = history.recommendations;
  return list.filter((_, i) => (i === list.length - 1 ? nowMs : Date.parse(list[i + 1]?.time ?? '')) > cutoffMs).map((r) => r.replicas);
}

function remember(history: ScaleHistory, replicas: number, now: string, keepSeconds: number, nowMs: number): ScaleHistory {
  const last = history.recommendations.at(-1);
  const recommendations = last?.replicas === replicas ? [...history.recommendations] : [...history.recommendations, { replicas, time: now }];
  // Drop what ended before anything still looked at: a recommendation ends when the next begins.
  while (recommendations.length > 1 && Date.parse(recommendations[1]?.time ?? '') <= nowMs - keepSeconds * 1000) recommendations.shift();
  return { ...history, recommendations };
}

export function planAutoscaling(options: {
  readonly hpa: HorizontalPodAutoscaler & KubeObject;
  /** The target's scale; undefined when it cannot be read (gone, or a kind without a scale subresource). */
  readonly scale: TargetScale | undefined;
  readonly scaleError?: string;
  readonly pods: readonly KubeObject[];
  readonly metrics: ReadonlyMap<string, PodMetrics>;
  readonly now: Date;
}): AutoscalingPlan {
  const { hpa, now } = options;
  const nowIso = now.toISOString().replace(/\.\d+Z$/, 'Z');
  const nowMs = now.getTime();
  const previous = hpa.status?.conditions ?? [];
  const conditions: HorizontalPodAutoscalerCondition[] = [];
  const events: AutoscalingEvent[] = [];
  let history = readHistory(hpa);
  const spec = hpa.spec;
  const minReplicas = spec.minReplicas;
  const baseStatus = {
    ...(hpa.metadata.generation !== undefined ? { observedGeneration: hpa.metadata.generation } : {}),
    ...(hpa.status?.lastScaleTime ? { lastScaleTime: hpa.status.lastScaleTime } : {}),
  };

  if (!options.scale) {
    const message = `the HPA controller was unable to get the target's current scale: ${options.scaleError ?? 'not found'}`;
    setCondition(conditions, previous, 'AbleToScale', 'False', 'FailedGetScale', message, nowIso);
    events.push({ type: 'Warning', reason: 'FailedGetScale', message: options.scaleError ?? 'the target was not found' });
    return {
      status: { ...baseStatus, currentReplicas: hpa.status?.currentReplicas ?? 0, desiredReplicas: hpa.status?.desiredReplicas ?? 0, conditions },
      history,
      historyWithoutRescale: history,
      events,
    };
  }
  setCondition(conditions, previous, 'AbleToScale', 'True', 'SucceededGetScale', "the HPA controller was able to get the target's current scale", nowIso);
  const current = options.scale.replicas;
  let desired = 0;
  let rescaleReason = '';
  let currentMetrics: MetricStatus[] | undefined;

  if (current === 0 && minReplicas !== 0) {
    setCondition(
      conditions,
      previous,
      'ScalingActive',
      'False',
      'ScalingDisabled',
      'scaling is disabled since the replica count of the target is zero',
      nowIso,
    );
    return {
      status: {
        ...baseStatus,
        currentReplicas: 0,
        desiredReplicas: 0,
        ...(hpa.status?.currentMetrics ? { currentMetrics: hpa.status.currentMetrics } : {}),
        conditions,
      },
      history,
      historyWithoutRescale: history,
      events,
    };
  }
  if (current > spec.maxReplicas) {
    rescaleReason = 'Current number of replicas above Spec.MaxReplicas';
    desired = spec.maxReplicas;
  } else if (current < minReplicas) {
    rescaleReason = 'Current number of replicas below Spec.MinReplicas';
    desired = minReplicas;
  } else {
    currentMetrics = [];
    let metricName = '';
    let failure: { reason: string; message: string } | undefined;
    let anyValid = false;
    for (const metric of spec.metrics ?? []) {
      const isContainer = metric.type === 'ContainerResource';
      const source = isContainer ? metric.containerResource : metric.resource;
      if ((metric.type !== 'Resource' && !isContainer) || !source) {
        failure ??= {
          reason: 'InvalidMetricSourceType',
          message: `the HPA was unable to compute the replica count: unsupported metric source type "${metric.type}"`,
        };
        continue;
      }
      const container = isContainer ? metric.containerResource?.container : undefined;
      try {
        const targetAverageMilli = source.target.type === 'AverageValue' ? milliValue(source.target.averageValue as string | undefined) : undefined;
        const computed = resourceReplicas({
          currentReplicas: current,
          pods: options.pods,
          metrics: options.metrics,
          resource: source.name,
          ...(container !== undefined ? { container } : {}),
          ...(source.target.type === 'Utilization' && source.target.averageUtilization !== undefined
            ? { targetUtilization: source.target.averageUtilization }
            : {}),
          ...(targetAverageMilli !== undefined ? { targetAverageMilli } : {}),
          now,
        });
        anyValid = true;
        const currentValue = {
          averageValue: source.name === 'cpu' ? `${Math.round(computed.averageMilli)}m` : String(Math.round(computed.averageMilli / 1000)),
          ...(computed.utilization !== undefined ? { averageUtilization: computed.utilization } : {}),
        };
        currentMetrics.push(
          isContainer
            ? { type: 'ContainerResource', containerResource: { name: source.name, container: container ?? '', current: currentValue } }
            : { type: 'Resource', resource: { name: source.name, current: currentValue } },
        );
        if (computed.replicas > desired) {
          desired = computed.replicas;
          metricName = `${source.name} resource${source.target.type === 'Utilization' ? ' utilization (percentage of request)' : ''}`;
        }
      } catch (error) {
        if (!(error instanceof MetricError)) throw error;
        const reason = isContainer ? 'FailedGetContainerResourceMetric' : 'FailedGetResourceMetric';
        failure ??= { reason, message: `the HPA was unable to compute the replica count: failed to get ${source.name} utilization: ${error.message}` };
        events.push({ type: 'Warning', reason, message: `failed to get ${source.name} utilization: ${error.message}` });
        currentMetrics.push({ type: metric.type });
      }
    }
    if (!anyValid) {
      const reason = failure?.reason ?? 'FailedGetResourceMetric';
      setCondition(conditions, previous, 'ScalingActive', 'False', reason, failure?.message ?? 'the HPA was unable to compute the replica count', nowIso);
      events.push({
        type: 'Warning',
        reason: 'FailedComputeMetricsReplicas',
        message: `invalid metrics (${(spec.metrics ?? []).length} invalid out of ${(spec.metrics ?? []).length}), first error is: ${failure?.message ?? ''}`,
      });
      return {
        status: { ...baseStatus, currentReplicas: current, desiredReplicas: hpa.status?.desiredReplicas ?? 0, currentMetrics, conditions },
        history,
        historyWithoutRescale: history,
        events,
      };
    }
    setCondition(
      conditions,
      previous,
      'ScalingActive',
      'True',
      'ValidMetricFound',
      `the HPA was able to successfully calculate a replica count from ${metricName || 'cpu resource utilization (percentage of request)'}`,
      nowIso,
    );
    if (desired > current) rescaleReason = `${metricName} above target`;
    if (desired < current) rescaleReason = 'All metrics below target';
    const prenormalized = desired;

    if (!spec.behavior) {
      const windowSeconds = defaultDownscaleWindowSeconds;
      const stabilized = Math.max(prenormalized, ...seenSince(history, nowMs - windowSeconds * 1000, nowMs));
      history = remember(history, prenormalized, nowIso, windowSeconds, nowMs);
      if (stabilized !== prenormalized) {
        setCondition(
          conditions,
          previous,
          'AbleToScale',
          'True',
          'ScaleDownStabilized',
          'recent recommendations were higher than current one, applying the highest recent recommendation',
          nowIso,
        );
      } else {
        setCondition(conditions, previous, 'AbleToScale', 'True', 'ReadyForNewScale', 'recommended size matches current size', nowIso);
      }
      const upLimit = Math.max(2 * current, 4);
      let limited = stabilized;
      let reason = 'DesiredWithinRange';
      let message = 'the desired count is within the acceptable range';
      const maximum = Math.min(spec.maxReplicas, upLimit);
      if (stabilized < minReplicas) {
        limited = minReplicas;
        reason = 'TooFewReplicas';
        message = 'the desired replica count is less than the minimum replica count';
      } else if (stabilized > maximum) {
        limited = maximum;
        [reason, message] =
          spec.maxReplicas > upLimit
            ? ['ScaleUpLimit', 'the desired replica count is increasing faster than the maximum scale rate']
            : ['TooManyReplicas', 'the desired replica count is more than the maximum replica count'];
      }
      setCondition(conditions, previous, 'ScalingLimited', limited === stabilized ? 'False' : 'True', reason, message, nowIso);
      desired = limited;
    } else {
      const up = spec.behavior.scaleUp ?? {};
      const down = spec.behavior.scaleDown ?? {};
      const upWindow = up.stabilizationWindowSeconds ?? 0;
      const downWindow = down.stabilizationWindowSeconds ?? defaultDownscaleWindowSeconds;
      // A new autoscaler does not scale down before its window has passed (maybeInitScaleDownStabilizationWindow).
      if (history.recommendations.length === 0 && downWindow > 0) history = { ...history, recommendations: [{ replicas: current, time: nowIso }] };
      const upRecommendation = Math.min(prenormalized, ...seenSince(history, nowMs - upWindow * 1000, nowMs));
      const downRecommendation = Math.max(prenormalized, ...seenSince(history, nowMs - downWindow * 1000, nowMs));
      let stabilized = current;
      if (stabilized < upRecommendation) stabilized = upRecommendation;
      if (stabilized > downRecommendation) stabilized = downRecommendation;
      history = remember(history, prenormalized, nowIso, Math.max(upWindow, downWindow), nowMs);
      if (stabilized !== prenormalized) {
        const [reason, message] =
          prenormalized >= current
            ? ['ScaleUpStabilized', 'recent recommendations were lower than current one, applying the lowest recent recommendation']
            : ['ScaleDownStabilized', 'recent recommendations were higher than current one, applying the highest recent recommendation'];
        setCondition(conditions, previous, 'AbleToScale', 'True', reason, message, nowIso);
      } else {
        setCondition(conditions, previous, 'AbleToScale', 'True', 'ReadyForNewScale', 'recommended size matches current size', nowIso);
      }
      let limited = stabilized;
      let reason = 'DesiredWithinRange';
      let message = 'the desired count is within the acceptable range';
      if (stabilized > current) {
        const limit = Math.max(scaleUpLimit(current, history, up, nowMs), current);
        let maximum = spec.maxReplicas;
        [reason, message] = ['TooManyReplicas', 'the desired replica count is more than the maximum replica count'];
        if (maximum > limit) {
          maximum = limit;
          [reason, message] = ['ScaleUpLimit', 'the desired replica count is increasing faster than the maximum scale rate'];
        }
        if (stabilized > maximum) limited = maximum;
        else [reason, message] = ['DesiredWithinRange', 'the desired count is within the acceptable range'];
      } else if (stabilized < current) {
        const limit = Math.min(scaleDownLimit(current, history, down, nowMs), current);
        let minimum = minReplicas;
        [reason, message] = ['TooFewReplicas', 'the desired replica count is less than the minimum replica count'];
        if (minimum < limit) {
          minimum = limit;
          [reason, message] = ['ScaleDownLimit', 'the desired replica count is decreasing faster than the maximum scale rate'];
        }
        if (stabilized < minimum) limited = minimum;
        else [reason, message] = ['DesiredWithinRange', 'the desired count is within the acceptable range'];
      }
      setCondition(conditions, previous, 'ScalingLimited', limited === stabilized ? 'False' : 'True', reason, message, nowIso);
      desired = limited;
    }
  }

  const rescale = desired !== current;
  const historyWithoutRescale = history;
  if (rescale) {
    setCondition(
      conditions,
      previous,
      'AbleToScale',
      'True',
      'SucceededRescale',
      `the HPA controller was able to update the target scale to ${desired}`,
      nowIso,
    );
    events.push({ type: 'Normal', reason: 'SuccessfulRescale', message: `New size: ${desired}; reason: ${rescaleReason}` });
    const longest = (rules: ScalingRules | undefined, fallback: number) => Math.max(fallback, ...(rules?.policies ?? []).map((p) => p.periodSeconds));
    const keepUp = longest(spec.behavior?.scaleUp, 15);
    const keepDown = longest(spec.behavior?.scaleDown, 15);
    history = {
      ...history,
      scaleUps: [
        ...history.scaleUps.filter((e) => Date.parse(e.time) > nowMs - keepUp * 1000),
        ...(desired > current ? [{ change: desired - current, time: nowIso }] : []),
      ],
      scaleDowns: [
        ...history.scaleDowns.filter((e) => Date.parse(e.time) > nowMs - keepDown * 1000),
        ...(desired < current ? [{ change: current - desired, time: nowIso }] : []),
      ],
    };
  }
  return {
    ...(rescale ? { rescale: desired, rescaleReason } : {}),
    status: {
      ...baseStatus,
      ...(rescale ? { lastScaleTime: nowIso } : {}),
      currentReplicas: current,
      desiredReplicas: desired,
      ...(currentMetrics ? { currentMetrics } : hpa.status?.currentMetrics ? { currentMetrics: hpa.status.currentMetrics } : {}),
      conditions,
    },
    history,
    historyWithoutRescale,
    events,
  };
}

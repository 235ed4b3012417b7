/**
 * Kubernetes' replica calculation for a resource metric (the HPA controller's
 * `GetResourceReplicas`): desired = ceil(ready pods × usage / target), left alone within the
 * 0.1 tolerance. Pods being deleted or failed are ignored; pending pods and, for CPU, pods not
 * yet ready within their first five minutes are unready; pods without metrics are missing. When
 * some are missing or unready the ratio is computed again with missing pods at 100% of their
 * request (scaling down) or 0% (scaling up) and unready ones at 0% (scaling up), and a
 * recomputed ratio that flips direction or falls within the tolerance changes nothing. Pure.
 */

import type { KubeObject } from '../../../schemas/meta.ts';
import type { PodMetrics } from '../../../schemas/resource-metrics.ts';
import { parseQuantity } from '../../core/resource-quantity.ts';

export const tolerance = 0.1;
/** The CPU of a pod that started this recently may still be warming up (the controller's default). */
export const cpuInitializationPeriodMs = 5 * 60_000;
/** Readiness changes this soon after start are the pod's first (the controller's default). */
export const initialReadinessDelayMs = 30_000;

export class MetricError extends Error {
  override name = 'MetricError';
}

interface PodView {
  readonly name: string;
  readonly phase?: string;
  readonly deleting: boolean;
  readonly startTimeMs?: number;
  readonly ready?: { readonly status: string; readonly lastTransitionMs?: number };
  /** The pod's request of the resource, in milli-units (cpu: millicores; memory: thousandths of a byte). */
  readonly requestMilli?: number;
  readonly missingRequestIn?: string;
}

/** Milli-units of a Kubernetes quantity (`250m`, `1`, `1.5`, `128Mi`, `1G`). */
export function milliValue(quantity: string | number | undefined): number | undefined {
  const value = parseQuantity(quantity);
  return value === undefined ? undefined : value * 1000;
}

function viewOf(pod: KubeObject, resource: string, container: string | undefined): PodView {
  const spec = (pod.spec ?? {}) as { containers?: { name: string; resources?: { requests?: Record<string, string | number> } }[] };
  const status = (pod.status ?? {}) as { phase?: string; startTime?: string; conditions?: { type: string; status: string; lastTransitionTime?: string }[] };
  let requestMilli = 0;
  let missingRequestIn: string | undefined;
  for (const c of spec.containers ?? []) {
    if (container !== undefined && c.name !== container) continue;
    const request = milliValue(c.resources?.requests?.[resource]);
    if (request === undefined) {
      missingRequestIn ??= c.name;
      continue;
    }
    requestMilli += request;
  }
  const ready = status.conditions?.find((c) => c.type === 'Ready');
  return {
    name: pod.metadata.name ?? '',
    ...(status.phase ? { phase: status.phase } : {}),
    deleting: Boolean(pod.metadata.deletionTimestamp),
    ...(status.startTime ? { startTimeMs: Date.parse(status.startTime) } : {}),
    ...(ready ? { ready: { status: ready.status, ...(ready.lastTransitionTime ? { lastTransitionMs: Date.parse(ready.lastTransitionTime) } : {}) } } : {}),
    ...(missingRequestIn === undefined ? { requestMilli } : { missingRequestIn }),
  };
}

/** A pod's usage of the resource in milli-units, from its metrics (one container's, or all of them). */
function usageOf(metrics: PodMetrics, resource: string, container: string | undefined): number | undefined {
  let total = 0;
  let found = false;
  for (const c of metrics.containers) {
    if (container !== undefined && c.name !== container) continue;
    const value = milliValue(c.usage[resource] as string | undefined);
    if (value === undefined) continue;
    total += value;
    found = true;
  }
  return found ? total : undefined;
}

function durationMs(window: string): number {
  const match = /^([\d.]+)s$/.exec(window);
  return match ? Number(match[1]) * 1000 : 0;
}

export interface ResourceReplicas {
  readonly replicas: number;
  /** Average utilization of the ready pods with metrics, percent of their requests (before any rebalancing). */
  readonly utilization?: number;
  /** Average usage in milli-units. */
  readonly averageMilli: number;
  /** When the metrics were taken (the oldest). */
  readonly timestamp?: string;
}

/**
 * Desired replicas for a Resource (or ContainerResource) metric. `target` is a utilization
 * percentage, or an average value in milli-units when `targetAverageMilli` is given instead.
 */
export function resourceReplicas(options: {
  readonly currentReplicas: number;
  readonly pods: readonly KubeObject[];
  readonly metrics: ReadonlyMap<string, PodMetrics>;
  readonly resource: string;
  readonly container?: string;
  readonly targetUtilization?: number;
  readonly targetAverageMilli?: number;
  readonly now: Date;
}): ResourceReplicas {
  const { resource, container, currentReplicas } = options;
  const nowMs = options.now.getTime();
  if (options.pods.length === 0) throw new MetricError('no pods returned by selector while calculating replica count');
  const usage = new Map<string, number>();
  const requests = new Map<string, number>();
  const missing: string[] = [];
  const unready: string[] = [];
  let timestamp: string | undefined;
  for (const pod of options.pods) {
    const view = viewOf(pod, resource, container);
    if (view.deleting || view.phase === 'Failed') continue;
    if (options.targetUtilization !== undefined && view.missingRequestIn !== undefined) {
      throw new MetricError(`missing request for ${resource} in container ${view.missingRequestIn} of Pod ${view.name}`);
    }
    const metrics = options.metrics.get(view.name);
    const used = metrics ? usageOf(metrics, resource, container) : undefined;
    if (view.phase === 'Pending') {
      unready.push(view.name);
      requests.set(view.name, view.requestMilli ?? 0);
      continue;
    }
    if (used === undefined || !metrics) {
      missing.push(view.name);
      requests.set(view.name, view.requestMilli ?? 0);
      continue;
    }
    if (resource === 'cpu') {
      let isUnready: boolean;
      if (!view.ready || view.startTimeMs === undefined) isUnready = true;
      else if (view.startTimeMs + cpuInitializationPeriodMs > nowMs) {
        isUnready = view.ready.status === 'False' || Date.parse(metrics.timestamp) < (view.ready.lastTransitionMs ?? 0) + durationMs(metrics.window);
      } else {
        isUnready = view.ready.status === 'False' && view.startTimeMs + initialReadinessDelayMs > (view.ready.lastTransitionMs ?? 0);
      }
      if (isUnready) {
        unready.push(view.name);
        requests.set(view.name, view.requestMilli ?? 0);
        continue;
      }
    }
    usage.set(view.name, used);
    requests.set(view.name, view.requestMilli ?? 0);
    if (!timestamp || metrics.timestamp < timestamp) timestamp = metrics.timestamp;
  }
  if (usage.size === 0) throw new MetricError(`did not receive metrics for targeted pods (pods might be unready)`);

  const ratioOf = (values: ReadonlyMap<string, number>): { ratio: number; utilization?: number; average: number } => {
    let used = 0;
    let requested = 0;
    for (const [name, value] of values) {
      used += value;
      requested += requests.get(name) ?? 0;
    }
    const average = used / values.size;
    if (options.targetUtilization !== undefined) {
      if (requested === 0) throw new MetricError(`no metrics returned matched known pods`);
      const utilization = Math.trunc((used * 100) / requested);
      return { ratio: utilization / options.targetUtilization, utilization, average };
    }
    return { ratio: average / (options.targetAverageMilli ?? 1), average };
  };

  const first = ratioOf(usage);
  const result = (replicas: number): ResourceReplicas => ({
    replicas,
    ...(first.utilization !== undefined ? { utilization: first.utilization } : {}),
    averageMilli: first.average,
    ...(timestamp ? { timestamp } : {}),
  });
  const rebalanceIgnored = unready.length > 0 && first.ratio > 1;
  if (!rebalanceIgnored && missing.length === 0) {
    if (Math.abs(1 - first.ratio) <= tolerance) return result(currentReplicas);
    return result(Math.ceil(first.ratio * usage.size));
  }
  const filled = new Map(usage);
  for (const name of missing) {
    // Scaling down: a pod we know nothing of is taken to use all it asked for; scaling up: nothing.
    filled.set(name, first.ratio < 1 ? (options.targetUtilization !== undefined ? (requests.get(name) ?? 0) : (options.targetAverageMilli ?? 0)) : 0);
  }
  if (rebalanceIgnored) for (const name of unready) filled.set(name, 0);
  const second = ratioOf(filled);
  if (Math.abs(1 - second.ratio) <= tolerance || (first.ratio < 1 && second.ratio > 1) || (first.ratio > 1 && second.ratio < 1)) {
    return result(currentReplicas);
  }
  const replicas = Math.ceil(second.ratio * filled.size);
  if ((second.ratio < 1 && replicas > currentReplicas) || (second.ratio > 1 && replicas < currentReplicas)) return result(currentReplicas);
  return result(replicas);
}

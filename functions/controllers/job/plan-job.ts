/**
 * The Job reconciler's decision, as a pure function of the Job, its pods and the time: pods to
 * create and delete, tracking finalizers to remove, and the status to write.
 *
 * Pods are counted as Kubernetes' Job controller counts them, so a finished pod that is deleted
 * is never lost nor counted twice: every pod is created with the `batch.kubernetes.io/job-tracking`
 * finalizer; a finished pod's uid goes into `status.uncountedTerminatedPods` (status write), then
 * its finalizer is removed, and a later pass moves the uids whose pods carry no finalizer any more
 * into `succeeded`/`failed`. Each step is idempotent, so a replayed or reordered key converges.
 *
 * A failed pod goes through the Job's `podFailurePolicy` first, as in Kubernetes: the first rule
 * its exit codes or conditions match decides — `FailJob` fails the Job at once (its
 * `FailureTarget` condition, written with the pod's count, remembers why), `Ignore` lets the pod
 * go without counting it towards `backoffLimit`, `Count` (and `FailIndex`, as Skiff has no
 * per-index limits) counts it as usual.
 */
import { jobLabels } from '../../../schemas/job.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { type StoredJob, storedJob, storedPod } from '../../../schemas/stored-objects.ts';
import { controllerRefTo, isControlledBy } from '../../controller-runtime/owner-references.ts';
import { kubeTime } from '../../core/kube-time.ts';
import { isPodReady, podPhase } from '../replicaset/pod-availability.ts';

/** Most pods one pass creates; the next pass makes the rest. */
export const burstPods = 500;
/** Kubernetes' pod failure back-off: 10 s, doubled per failure, at most 6 minutes. */
export const defaultBackoffBaseSeconds = 10;
export const maxBackoffSeconds = 360;

export interface JobCondition {
  readonly type: string;
  readonly status: string;
  readonly lastProbeTime?: string;
  readonly lastTransitionTime?: string;
  readonly reason?: string;
  readonly message?: string;
}

export interface JobStatus {
  readonly conditions?: readonly JobCondition[];
  readonly startTime?: string;
  readonly completionTime?: string;
  readonly active?: number;
  readonly succeeded?: number;
  readonly failed?: number;
  readonly terminating?: number;
  readonly ready?: number;
  readonly completedIndexes?: string;
  readonly uncountedTerminatedPods?: { readonly succeeded?: readonly string[]; readonly failed?: readonly string[] };
}

export interface JobEvent {
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
}

export interface JobPlan {
  readonly create: readonly KubeObject[];
  readonly delete: readonly KubeObject[];
  /** Pods whose tracking finalizer goes, once `status` (when set) is written. */
  readonly removeFinalizers: readonly KubeObject[];
  readonly status?: JobStatus;
  readonly events: readonly JobEvent[];
  /** Delete the Job itself (ttlSecondsAfterFinished has run out). */
  readonly deleteJob?: boolean;
  readonly requeueAfterSeconds?: number;
}

export interface JobPlanOptions {
  /** Seconds of the first back-off after a pod failure (Kubernetes: 10). */
  readonly backoffBaseSeconds?: number;
}

type Spec = NonNullable<StoredJob['spec']>;

function hasFinalizer(pod: KubeObject): boolean {
  return (pod.metadata.finalizers ?? []).includes(jobLabels.trackingFinalizer);
}

function isSucceeded(pod: KubeObject): boolean {
  return podPhase(pod) === 'Succeeded';
}

/** A pod that failed, or is being deleted before it succeeded (Kubernetes counts both as failures). */
function isFailed(pod: KubeObject): boolean {
  const phase = podPhase(pod);
  return phase === 'Failed' || (pod.metadata.deletionTimestamp !== undefined && phase !== 'Succeeded');
}

function isFinished(pod: KubeObject): boolean {
  return isSucceeded(pod) || isFailed(pod);
}

export function completionIndexOf(pod: KubeObject): number | undefined {
  const value = pod.metadata.annotations?.[jobLabels.completionIndex] ?? pod.metadata.labels?.[jobLabels.completionIndex];
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  return Number.parseInt(value, 10);
}

export function conditionTrue(job: KubeObject, type: string): boolean {
  return (storedJob(job).status?.conditions ?? []).some((c) => c.type === type && c.status === 'True');
}

export function isJobFinished(job: KubeObject): boolean {
  return conditionTrue(job, 'Complete') || conditionTrue(job, 'Failed');
}

/** `1,3-5,7`: Kubernetes' text for a set of indexes (three or more in a row as a range). */
export function formatIndexes(indexes: Iterable<number>): string {
  const sorted = [...new Set(indexes)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === (sorted[j] as number) + 1) j++;
    const first = sorted[i] as number;
    const last = sorted[j] as number;
    if (j - i >= 2) parts.push(`${first}-${last}`);
    else for (let k = i; k <= j; k++) parts.push(String(sorted[k]));
    i = j + 1;
  }
  return parts.join(',');
}

export function parseIndexes(text: string | undefined): Set<number> {
  const result = new Set<number>();
  for (const part of (text ?? '').split(',')) {
    if (part === '') continue;
    const [from, to] = part.split('-').map((n) => Number.parseInt(n, 10));
    if (from === undefined || Number.isNaN(from)) continue;
    for (let i = from; i <= (to ?? from); i++) result.add(i);
  }
  return result;
}

/** When a failed pod finished: its last container's end, else its deletion mark, else its creation. */
function failedAt(pod: KubeObject): number {
  const status = storedPod(pod).status;
  const ends = (status?.containerStatuses ?? [])
    .map((s) => s.state?.terminated?.finishedAt)
    .filter((t): t is string => typeof t === 'string')
    .map((t) => Date.parse(t));
  if (ends.length > 0) return Math.max(...ends);
  return Date.parse(pod.metadata.deletionTimestamp ?? pod.metadata.creationTimestamp ?? '') || 0;
}

function condition(type: string, reason: string, message: string, now: Date, status = 'True'): JobCondition {
  const at = kubeTime(now);
  return { type, status, lastProbeTime: at, lastTransitionTime: at, reason, message };
}

/** Sets a condition, keeping its transition time when its status does not change. */
function withCondition(conditions: readonly JobCondition[], next: JobCondition): JobCondition[] {
  const existing = conditions.find((c) => c.type === next.type);
  if (existing && existing.status === next.status) return [...conditions];
  return [...conditions.filter((c) => c.type !== next.type), next];
}

export function podFromJobTemplate(job: KubeObject, index: number | undefined): KubeObject {
  const spec = storedJob(job).spec ?? {};
  const template = spec.template ?? {};
  const name = job.metadata.name ?? '';
  const indexed = index !== undefined;
  const labels = { ...template.metadata?.labels, ...(indexed ? { [jobLabels.completionIndex]: String(index) } : {}) };
  const annotations = { ...template.metadata?.annotations, ...(indexed ? { [jobLabels.completionIndex]: String(index) } : {}) };
  const podSpec = structuredClone(template.spec ?? {}) as Record<string, unknown> & { containers?: Record<string, unknown>[]; hostname?: string };
  if (indexed) {
    // Each container learns its index from the annotation, and the pod is reachable as <job>-<index>.
    const indexEnv = { name: 'JOB_COMPLETION_INDEX', valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${jobLabels.completionIndex}']` } } };
    podSpec.containers = (podSpec.containers ?? []).map((c) => ({ ...c, env: [...((c.env as unknown[] | undefined) ?? []), indexEnv] }));
    podSpec.hostname ??= `${name}-${index}`;
  }
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: indexed ? `${name}-${index}-` : `${name}-`,
      ...(job.metadata.namespace ? { namespace: job.metadata.namespace } : {}),
      ...(Object.keys(labels).length > 0 ? { labels } : {}),
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
      ownerReferences: [controllerRefTo(job)],
      finalizers: [jobLabels.trackingFinalizer],
    },
    spec: podSpec,
  };
}

function desiredCompletions(spec: Spec): number | undefined {
  return spec.completions ?? undefined;
}

type PodFailurePolicy = NonNullable<Spec['podFailurePolicy']>;

/** What the pod failure policy makes of a failed pod: counted or not, and why the Job fails when a FailJob rule matched. */
interface PolicyVerdict {
  readonly counted: boolean;
  readonly failJobMessage?: string;
}

interface TerminatedContainer {
  readonly name: string;
  readonly exitCode: number;
}

/** Terminated containers with a non-zero exit code (a zero one caused no failure), app containers before init containers. */
function failedContainers(pod: KubeObject): TerminatedContainer[] {
  const status = storedPod(pod).status;
  return [...(status?.containerStatuses ?? []), ...(status?.initContainerStatuses ?? [])].flatMap((container) => {
    const exitCode = container.state?.terminated?.exitCode;
    return exitCode !== undefined && exitCode !== 0 ? [{ name: container.name, exitCode }] : [];
  });
}

/** The first rule of the policy the failed pod matches, as Kubernetes' Job controller reads them, in order. */
export function podFailureVerdict(policy: PodFailurePolicy | undefined, pod: KubeObject): PolicyVerdict {
  const where = `${pod.metadata.namespace}/${pod.metadata.name}`;
  for (const [index, rule] of (policy?.rules ?? []).entries()) {
    let cause: string | undefined;
    if (rule.onExitCodes) {
      const { containerName, operator, values } = rule.onExitCodes;
      const container = failedContainers(pod).find(
        (c) =>
          (containerName === undefined || c.name === containerName) &&
          (operator === 'In' ? values.includes(c.exitCode) : operator === 'NotIn' && !values.includes(c.exitCode)),
      );
      if (container) cause = `Container ${container.name} for pod ${where} failed with exit code ${container.exitCode}`;
    } else if (rule.onPodConditions) {
      const conditions = storedPod(pod).status?.conditions ?? [];
      const matched = conditions.find((c) => rule.onPodConditions?.some((pattern) => pattern.type === c.type && (pattern.status ?? 'True') === c.status));
      if (matched) cause = `Pod ${where} has condition ${matched.type}`;
    }
    if (cause === undefined) continue;
    if (rule.action === 'Ignore') return { counted: false };
    if (rule.action === 'FailJob') return { counted: true, failJobMessage: `${cause} matching FailJob rule at index ${index}` };
    return { counted: true };
  }
  return { counted: true };
}

export function planJob(job: KubeObject, pods: readonly KubeObject[], now: Date, options: JobPlanOptions = {}): JobPlan {
  const stored = storedJob(job);
  const spec: Spec = stored.spec ?? {};
  const previous: JobStatus = stored.status ?? {};
  const owned = pods.filter((pod) => isControlledBy(pod, job));
  const events: JobEvent[] = [];

  // A Job on its way out, or one that finished, only lets go of its pods.
  if (job.metadata.deletionTimestamp || isJobFinished(job)) {
    const removeFinalizers = owned.filter(hasFinalizer);
    const active = isJobFinished(job) && !job.metadata.deletionTimestamp ? owned.filter((p) => !isFinished(p)) : [];
    const ttl = spec.ttlSecondsAfterFinished;
    const finishedAt = Date.parse(previous.completionTime ?? lastTransition(previous, 'Complete') ?? lastTransition(previous, 'Failed') ?? '');
    let deleteJob = false;
    let requeueAfterSeconds: number | undefined;
    if (ttl !== undefined && !job.metadata.deletionTimestamp && isJobFinished(job) && !Number.isNaN(finishedAt)) {
      const left = finishedAt + ttl * 1000 - now.getTime();
      if (left <= 0) deleteJob = true;
      else requeueAfterSeconds = Math.ceil(left / 1000);
    }
    return {
      create: [],
      delete: active,
      removeFinalizers,
      events,
      ...(deleteJob ? { deleteJob } : {}),
      ...(requeueAfterSeconds !== undefined ? { requeueAfterSeconds } : {}),
    };
  }

  // Tracking: count uids whose finalizer is gone, record newly finished pods as uncounted.
  const byUid = new Map(owned.map((pod) => [pod.metadata.uid ?? '', pod]));
  const uncountedSucceeded = new Set(previous.uncountedTerminatedPods?.succeeded ?? []);
  const uncountedFailed = new Set(previous.uncountedTerminatedPods?.failed ?? []);
  let succeeded = previous.succeeded ?? 0;
  let failed = previous.failed ?? 0;
  const completed = parseIndexes(previous.completedIndexes);
  for (const uid of [...uncountedSucceeded]) {
    const pod = byUid.get(uid);
    if (pod && hasFinalizer(pod)) continue;
    uncountedSucceeded.delete(uid);
    succeeded += 1;
  }
  for (const uid of [...uncountedFailed]) {
    const pod = byUid.get(uid);
    if (pod && hasFinalizer(pod)) continue;
    uncountedFailed.delete(uid);
    failed += 1;
  }
  const indexed = spec.completionMode === 'Indexed';
  const completions = desiredCompletions(spec);
  let failJobMessage = conditionOf(previous, 'FailureTarget', 'PodFailurePolicy')?.message;
  const ignored = new Set<KubeObject>();
  for (const pod of owned) {
    if (!isFinished(pod)) continue;
    const verdict = isSucceeded(pod) ? { counted: true } : podFailureVerdict(spec.podFailurePolicy, pod);
    if (!verdict.counted) ignored.add(pod);
    if (!hasFinalizer(pod)) continue;
    const uid = pod.metadata.uid ?? '';
    if (isSucceeded(pod)) uncountedSucceeded.add(uid);
    else if (verdict.counted) uncountedFailed.add(uid);
    failJobMessage ??= verdict.failJobMessage;
  }
  if (indexed) {
    for (const pod of owned) {
      const index = completionIndexOf(pod);
      if (isSucceeded(pod) && index !== undefined && completions !== undefined && index < completions) completed.add(index);
    }
  }
  const removeFinalizers = owned.filter((pod) => hasFinalizer(pod) && isFinished(pod));

  const succeededTotal = indexed ? completed.size : succeeded + uncountedSucceeded.size;
  const failedTotal = failed + uncountedFailed.size;
  const active = owned.filter((pod) => !isFinished(pod));
  const terminating = owned.filter((pod) => pod.metadata.deletionTimestamp !== undefined && podPhase(pod) !== 'Succeeded' && podPhase(pod) !== 'Failed');
  let conditions = [...(previous.conditions ?? [])];
  let startTime = previous.startTime;
  let completionTime = previous.completionTime;
  const create: KubeObject[] = [];
  const remove: KubeObject[] = [];
  let requeueAfterSeconds: number | undefined;
  const requeue = (seconds: number) => {
    requeueAfterSeconds = requeueAfterSeconds === undefined ? seconds : Math.min(requeueAfterSeconds, seconds);
  };

  const settled = uncountedSucceeded.size === 0 && uncountedFailed.size === 0;
  const backoffLimit = spec.backoffLimit ?? 6;
  const deadline = spec.activeDeadlineSeconds;
  const startedMs = startTime ? Date.parse(startTime) : Number.NaN;
  const pastDeadline = deadline !== undefined && !Number.isNaN(startedMs) && now.getTime() - startedMs >= deadline * 1000;
  const complete = completions !== undefined ? succeededTotal >= completions : succeededTotal > 0 && active.length === 0;

  if (spec.suspend) {
    remove.push(...active);
    if (!conditionTrue(job, 'Suspended')) {
      conditions = withCondition(conditions, condition('Suspended', 'JobSuspended', 'Job suspended', now));
      events.push({ type: 'Normal', reason: 'Suspended', message: 'Job suspended' });
    }
    startTime = undefined;
  } else if (failJobMessage !== undefined) {
    // FailureTarget goes with the count of the pod that matched, so the reason outlives its finalizer.
    remove.push(...active);
    conditions = withCondition(conditions, condition('FailureTarget', 'PodFailurePolicy', failJobMessage, now));
    if (settled) {
      conditions = withCondition(conditions, condition('Failed', 'PodFailurePolicy', failJobMessage, now));
      events.push({ type: 'Warning', reason: 'PodFailurePolicy', message: failJobMessage });
    }
  } else if (failedTotal > backoffLimit || pastDeadline) {
    remove.push(...active);
    if (settled) {
      const [reason, message] = pastDeadline
        ? ['DeadlineExceeded', 'Job was active longer than specified deadline']
        : ['BackoffLimitExceeded', 'Job has reached the specified backoff limit'];
      conditions = withCondition(conditions, condition('FailureTarget', reason, message, now));
      conditions = withCondition(conditions, condition('Failed', reason, message, now));
      events.push({ type: 'Warning', reason, message });
    }
  } else if (complete) {
    remove.push(...active);
    if (settled) {
      conditions = withCondition(conditions, condition('SuccessCriteriaMet', 'CompletionsReached', 'Reached expected number of succeeded pods', now));
      conditions = withCondition(conditions, condition('Complete', 'CompletionsReached', 'Reached expected number of succeeded pods', now));
      completionTime = kubeTime(now);
      events.push({ type: 'Normal', reason: 'Completed', message: 'Job completed' });
    }
  } else {
    if (conditionTrue(job, 'Suspended')) {
      conditions = withCondition(conditions, condition('Suspended', 'JobResumed', 'Job resumed', now, 'False'));
      events.push({ type: 'Normal', reason: 'Resumed', message: 'Job resumed' });
    }
    startTime ??= kubeTime(now);
    if (deadline !== undefined) requeue(Math.max(1, Math.ceil((Date.parse(startTime) + deadline * 1000 - now.getTime()) / 1000)));
    const parallelism = spec.parallelism ?? 1;
    // With podReplacementPolicy Failed, a terminating pod is replaced only once it is gone.
    const occupying = spec.podReplacementPolicy === 'Failed' ? active.length + terminating.length : active.length;
    let wanted: number;
    if (indexed) wanted = Math.min(parallelism, (completions ?? 0) - completed.size);
    else if (completions !== undefined) wanted = Math.min(parallelism, completions - succeededTotal);
    else wanted = succeededTotal > 0 ? 0 : parallelism;
    const toCreate = Math.min(burstPods, Math.max(0, wanted - occupying));
    const waitMs = backoffWaitMs(
      owned.filter((pod) => !ignored.has(pod)),
      failedTotal,
      now,
      options.backoffBaseSeconds ?? defaultBackoffBaseSeconds,
    );
    if (toCreate > 0 && waitMs > 0) requeue(Math.ceil(waitMs / 1000));
    else if (toCreate > 0) {
      if (indexed) {
        const busy = new Set(active.filter((p) => !p.metadata.deletionTimestamp).map(completionIndexOf));
        for (let i = 0; i < (completions ?? 0) && create.length < toCreate; i++) {
          if (!completed.has(i) && !busy.has(i)) create.push(podFromJobTemplate(job, i));
        }
      } else for (let i = 0; i < toCreate; i++) create.push(podFromJobTemplate(job, undefined));
    }
  }

  const removed = new Set(remove);
  const stillActive = active.filter((pod) => !removed.has(pod));
  const finished = conditions.some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
  const status: JobStatus = {
    ...(conditions.length > 0 ? { conditions } : {}),
    ...(startTime ? { startTime } : {}),
    ...(completionTime ? { completionTime } : {}),
    ...(finished ? {} : { active: stillActive.length + create.length }),
    ...(succeeded > 0 ? { succeeded } : {}),
    ...(failed > 0 ? { failed } : {}),
    terminating: terminating.length + remove.length,
    ready: finished ? 0 : stillActive.filter(isPodReady).length,
    ...(indexed ? { completedIndexes: formatIndexes(completed) } : {}),
    uncountedTerminatedPods: {
      ...(uncountedSucceeded.size > 0 ? { succeeded: [...uncountedSucceeded].sort() } : {}),
      ...(uncountedFailed.size > 0 ? { failed: [...uncountedFailed].sort() } : {}),
    },
  };
  const finalStatus = finished ? { ...status, active: undefined } : status;
  const cleaned = JSON.parse(JSON.stringify(finalStatus)) as JobStatus;
  return {
    create,
    delete: remove,
    removeFinalizers,
    events,
    ...(sameJsonValue(previous, cleaned) ? {} : { status: cleaned }),
    ...(requeueAfterSeconds !== undefined ? { requeueAfterSeconds } : {}),
  };
}

function conditionOf(status: JobStatus, type: string, reason: string): JobCondition | undefined {
  return status.conditions?.find((c) => c.type === type && c.status === 'True' && c.reason === reason);
}

function lastTransition(status: JobStatus, type: string): string | undefined {
  return status.conditions?.find((c) => c.type === type && c.status === 'True')?.lastTransitionTime;
}

/** How long to wait before the next pod after `failures` failures, counted from the newest failure. */
function backoffWaitMs(owned: readonly KubeObject[], failures: number, now: Date, baseSeconds: number): number {
  if (failures === 0) return 0;
  const failedPods = owned.filter(isFailed);
  if (failedPods.length === 0) return 0;
  const newest = Math.max(...failedPods.map(failedAt));
  const delaySeconds = Math.min(maxBackoffSeconds, baseSeconds * 2 ** (failures - 1));
  return Math.max(0, newest + delaySeconds * 1000 - now.getTime());
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => [k, canonical(v)]),
  );
}

function sameJsonValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

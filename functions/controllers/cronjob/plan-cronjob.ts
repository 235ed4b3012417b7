/**
 * The CronJob reconciler's decision, as a pure function of the CronJob, the Jobs it controls and
 * the time (Kubernetes' cronjob controller v2): the Job of the most recent scheduled time not yet
 * run, what the concurrency policy removes first, the finished Jobs beyond the history limits,
 * the status, and when the next scheduled time falls.
 */
import { CronExpressionParser } from 'cron-parser';
import { isKnownTimeZone } from '../../../schemas/cron-job.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { type StoredCronJob, storedCronJob } from '../../../schemas/stored-objects.ts';
import { controllerRefTo, isControlledBy } from '../../controller-runtime/owner-references.ts';
import { kubeTime } from '../../core/kube-time.ts';
import { conditionTrue, isJobFinished } from '../job/plan-job.ts';

export const scheduledTimestampAnnotation = 'batch.kubernetes.io/cronjob-scheduled-timestamp';

export interface CronJobEvent {
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
}

export interface ObjectRef {
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
  readonly uid?: string;
  readonly apiVersion: string;
  readonly resourceVersion?: string;
}

export interface CronJobStatus {
  readonly active?: readonly ObjectRef[];
  readonly lastScheduleTime?: string;
  readonly lastSuccessfulTime?: string;
}

export interface CronJobPlan {
  /** The Job to create, named for its scheduled time. */
  readonly create?: KubeObject;
  /** Jobs to delete: the running ones a Replace policy displaces, finished ones past the history limits. */
  readonly delete: readonly KubeObject[];
  readonly status?: CronJobStatus;
  readonly events: readonly CronJobEvent[];
  /** Seconds until the next scheduled time. */
  readonly requeueAfterSeconds?: number;
}

type Spec = NonNullable<StoredCronJob['spec']>;

/** Kubernetes names a CronJob's Job `<cronjob>-<scheduled time in minutes since the epoch>`. */
export function jobNameFor(cronJob: KubeObject, scheduled: Date): string {
  return `${cronJob.metadata.name ?? ''}-${Math.floor(scheduled.getTime() / 60_000)}`;
}

function zoneOf(spec: Spec): string {
  return spec.timeZone ?? 'UTC';
}

/** The most recent scheduled time in (`after`, `now`], if any. */
export function mostRecentScheduleTime(schedule: string, timeZone: string, after: Date, now: Date): Date | undefined {
  const expression = CronExpressionParser.parse(schedule.trim(), { currentDate: new Date(now.getTime() + 1), tz: timeZone });
  const previous = expression.prev().toDate();
  return previous.getTime() > after.getTime() ? previous : undefined;
}

export function nextScheduleTime(schedule: string, timeZone: string, now: Date): Date {
  return CronExpressionParser.parse(schedule.trim(), { currentDate: now, tz: timeZone }).next().toDate();
}

function refTo(job: KubeObject): ObjectRef {
  return {
    kind: 'Job',
    ...(job.metadata.namespace ? { namespace: job.metadata.namespace } : {}),
    name: job.metadata.name ?? '',
    ...(job.metadata.uid ? { uid: job.metadata.uid } : {}),
    apiVersion: 'batch/v1',
    ...(job.metadata.resourceVersion ? { resourceVersion: job.metadata.resourceVersion } : {}),
  };
}

export function jobFromTemplate(cronJob: KubeObject, scheduled: Date): KubeObject {
  const template = storedCronJob(cronJob).spec?.jobTemplate ?? {};
  const labels = template.metadata?.labels;
  const annotations = { ...template.metadata?.annotations, [scheduledTimestampAnnotation]: kubeTime(scheduled) };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: jobNameFor(cronJob, scheduled),
      ...(cronJob.metadata.namespace ? { namespace: cronJob.metadata.namespace } : {}),
      ...(labels ? { labels: { ...labels } } : {}),
      annotations,
      ownerReferences: [controllerRefTo(cronJob)],
    },
    spec: structuredClone(template.spec ?? {}),
  };
}

function finishedAt(job: KubeObject): number {
  const status = (job.status ?? {}) as { completionTime?: string; startTime?: string; conditions?: { type: string; lastTransitionTime?: string }[] };
  const done = status.completionTime ?? status.conditions?.find((c) => c.type === 'Complete' || c.type === 'Failed')?.lastTransitionTime;
  return Date.parse(done ?? status.startTime ?? job.metadata.creationTimestamp ?? '') || 0;
}

/** The oldest finished Jobs beyond `limit`, oldest first. */
function beyondLimit(jobs: readonly KubeObject[], limit: number): KubeObject[] {
  const sorted = [...jobs].sort((a, b) => finishedAt(a) - finishedAt(b));
  return sorted.slice(0, Math.max(0, sorted.length - limit));
}

export { refTo as jobReference };

export function planCronJob(cronJob: KubeObject, jobs: readonly KubeObject[], now: Date): CronJobPlan {
  const stored = storedCronJob(cronJob);
  const spec: Spec = stored.spec ?? {};
  const previous: CronJobStatus = (stored.status ?? {}) as CronJobStatus;
  const owned = jobs.filter((job) => isControlledBy(job, cronJob) && !job.metadata.deletionTimestamp);
  const events: CronJobEvent[] = [];
  const remove: KubeObject[] = [];

  // The active list holds the owned Jobs still running; finished ones leave it.
  const running = owned.filter((job) => !isJobFinished(job));
  let lastSuccessfulTime = previous.lastSuccessfulTime;
  const wasActive = new Set((previous.active ?? []).map((ref) => ref.uid ?? ref.name));
  for (const job of owned) {
    if (!isJobFinished(job) || !wasActive.has(job.metadata.uid ?? job.metadata.name ?? '')) continue;
    const complete = conditionTrue(job, 'Complete');
    events.push({
      type: 'Normal',
      reason: 'SawCompletedJob',
      message: `Saw completed job: ${job.metadata.name}, condition: ${complete ? 'Complete' : 'Failed'}`,
    });
    if (complete) {
      const at = kubeTime(new Date(finishedAt(job)));
      if (!lastSuccessfulTime || Date.parse(at) > Date.parse(lastSuccessfulTime)) lastSuccessfulTime = at;
    }
  }
  let active = running;
  let lastScheduleTime = previous.lastScheduleTime;
  let create: KubeObject | undefined;
  let requeueAfterSeconds: number | undefined;

  const deleting = cronJob.metadata.deletionTimestamp !== undefined;
  const zone = zoneOf(spec);
  if (!deleting && spec.timeZone !== undefined && !isKnownTimeZone(spec.timeZone)) {
    events.push({ type: 'Warning', reason: 'UnknownTimeZone', message: `invalid timeZone: "${spec.timeZone}": unknown time zone ${spec.timeZone}` });
  } else if (!deleting && !spec.suspend && spec.schedule) {
    try {
      const earliest = new Date(Date.parse(lastScheduleTime ?? cronJob.metadata.creationTimestamp ?? '') || now.getTime());
      const deadline = spec.startingDeadlineSeconds;
      const after = deadline !== undefined ? new Date(Math.max(earliest.getTime(), now.getTime() - deadline * 1000 - 1)) : earliest;
      const scheduled = mostRecentScheduleTime(spec.schedule, zone, after, now);
      requeueAfterSeconds = Math.max(1, Math.ceil((nextScheduleTime(spec.schedule, zone, now).getTime() - now.getTime()) / 1000));
      const name = scheduled ? jobNameFor(cronJob, scheduled) : undefined;
      const alreadyRun = name !== undefined && owned.some((job) => job.metadata.name === name);
      // A Job made on an earlier pass whose status write was lost still moves the last schedule time.
      if (scheduled && alreadyRun && (!lastScheduleTime || Date.parse(lastScheduleTime) < scheduled.getTime())) lastScheduleTime = kubeTime(scheduled);
      if (scheduled && !alreadyRun) {
        if (spec.concurrencyPolicy === 'Forbid' && active.length > 0) {
          // Skipped: the next scheduled time gets its chance.
        } else {
          if (spec.concurrencyPolicy === 'Replace') {
            for (const job of active) {
              remove.push(job);
              events.push({ type: 'Normal', reason: 'SuccessfulDelete', message: `Deleted job ${job.metadata.name}` });
            }
            active = [];
          }
          create = jobFromTemplate(cronJob, scheduled);
          lastScheduleTime = kubeTime(scheduled);
        }
      }
    } catch (error) {
      events.push({ type: 'Warning', reason: 'UnparseableSchedule', message: `unparseable schedule: "${spec.schedule}" : ${(error as Error).message}` });
    }
  }

  // History: the finished Jobs past each limit, oldest first.
  const finished = owned.filter(isJobFinished);
  const succeeded = finished.filter((job) => conditionTrue(job, 'Complete'));
  const failed = finished.filter((job) => !conditionTrue(job, 'Complete'));
  for (const job of [...beyondLimit(succeeded, spec.successfulJobsHistoryLimit ?? 3), ...beyondLimit(failed, spec.failedJobsHistoryLimit ?? 1)]) {
    remove.push(job);
    events.push({ type: 'Normal', reason: 'SuccessfulDelete', message: `Deleted job ${job.metadata.name}` });
  }

  const status: CronJobStatus = {
    ...(active.length > 0 ? { active: active.map(refTo).sort((a, b) => (a.name < b.name ? -1 : 1)) } : {}),
    ...(lastScheduleTime ? { lastScheduleTime } : {}),
    ...(lastSuccessfulTime ? { lastSuccessfulTime } : {}),
  };
  const changed =
    JSON.stringify((previous.active ?? []).map((r) => r.uid ?? r.name)) !== JSON.stringify((status.active ?? []).map((r) => r.uid ?? r.name)) ||
    previous.lastScheduleTime !== status.lastScheduleTime ||
    previous.lastSuccessfulTime !== status.lastSuccessfulTime;
  return {
    ...(create ? { create } : {}),
    delete: remove,
    events,
    ...(changed ? { status } : {}),
    ...(requeueAfterSeconds !== undefined ? { requeueAfterSeconds } : {}),
  };
}

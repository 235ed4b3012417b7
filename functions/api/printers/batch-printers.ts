/** `kubectl get jobs` and `kubectl get cronjobs`: the columns kube-apiserver prints for batch/v1. */
import type { KubeObject } from '../../../schemas/meta.ts';
import { ageSince, humanDuration } from './human-duration.ts';
import { ageColumn, column, type KindPrinter, nameColumn, nameOf, wide } from './kind-printer.ts';
import { formatLabelSelector } from './label-text.ts';
import { at, integer, list, optionalText, records, text } from './object-fields.ts';

const templateColumns = [
  wide('Containers', 'Names of each container in the template.'),
  wide('Images', 'Images referenced by each container in the template.'),
  wide('Selector', 'A label query over pods that should match the pod count.'),
];

function podTemplateCells(template: unknown, selector: unknown): [string, string, string] {
  const containers = records(at(template, 'spec', 'containers'));
  return [containers.map((c) => text(c.name)).join(','), containers.map((c) => text(c.image)).join(','), formatLabelSelector(selector)];
}

function hasCondition(job: KubeObject, type: string): boolean {
  return records(at(job, 'status', 'conditions')).some((c) => c.type === type && c.status === 'True');
}

/** The STATUS column: the first of the Job's states that holds, in kubectl's order. */
export function jobStatusText(job: KubeObject): string {
  if (hasCondition(job, 'Complete')) return 'Complete';
  if (hasCondition(job, 'Failed')) return 'Failed';
  if (job.metadata.deletionTimestamp) return 'Terminating';
  if (hasCondition(job, 'Suspended')) return 'Suspended';
  if (hasCondition(job, 'FailureTarget')) return 'FailureTarget';
  if (hasCondition(job, 'SuccessCriteriaMet')) return 'SuccessCriteriaMet';
  return 'Running';
}

function completionsText(job: KubeObject): string {
  const succeeded = integer(at(job, 'status', 'succeeded'));
  const completions = at(job, 'spec', 'completions');
  if (typeof completions === 'number') return `${succeeded}/${completions}`;
  const parallelism = integer(at(job, 'spec', 'parallelism'));
  return parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
}

function durationText(job: KubeObject, now: Date): string {
  const start = optionalText(at(job, 'status', 'startTime'));
  if (!start) return '';
  const end = optionalText(at(job, 'status', 'completionTime'));
  return humanDuration((end ? Date.parse(end) : now.getTime()) - Date.parse(start));
}

export const jobPrinter: KindPrinter = {
  columns: [
    nameColumn,
    column('Status', 'Status of the job.'),
    column('Completions', 'The number of pods which reached phase Succeeded.'),
    column('Duration', 'Time required to complete the job.'),
    ageColumn,
    ...templateColumns,
  ],
  print(job, now) {
    return {
      cells: [
        nameOf(job),
        jobStatusText(job),
        completionsText(job),
        durationText(job, now),
        ageSince(job.metadata.creationTimestamp, now),
        ...podTemplateCells(at(job, 'spec', 'template'), at(job, 'spec', 'selector')),
      ],
    };
  },
};

function boolText(value: unknown): string {
  if (value === true) return 'True';
  if (value === false) return 'False';
  return '<unset>';
}

export const cronJobPrinter: KindPrinter = {
  columns: [
    nameColumn,
    column('Schedule', 'The schedule in Cron format.'),
    column('Timezone', 'The time zone name for the given schedule.'),
    column('Suspend', 'Whether the controller suspends subsequent executions.', { type: 'boolean' }),
    column('Active', 'A list of pointers to currently running jobs.', { type: 'integer' }),
    column('Last Schedule', 'Information when was the last time the job was successfully scheduled.'),
    ageColumn,
    ...templateColumns,
  ],
  print(cronJob, now) {
    const lastSchedule = optionalText(at(cronJob, 'status', 'lastScheduleTime'));
    return {
      cells: [
        nameOf(cronJob),
        text(at(cronJob, 'spec', 'schedule')),
        optionalText(at(cronJob, 'spec', 'timeZone')) ?? '<none>',
        boolText(at(cronJob, 'spec', 'suspend')),
        list(at(cronJob, 'status', 'active')).length,
        lastSchedule ? ageSince(lastSchedule, now) : '<none>',
        ageSince(cronJob.metadata.creationTimestamp, now),
        ...podTemplateCells(at(cronJob, 'spec', 'jobTemplate', 'spec', 'template'), at(cronJob, 'spec', 'jobTemplate', 'spec', 'selector')),
      ],
    };
  },
};

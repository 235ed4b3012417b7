/** `batch/v1` CronJob: a Job made on a cron schedule, in a time zone, with Kubernetes' defaults and validation. */
import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';
import { child, type FieldCause, invalid, nonNegative, required, supportedValue } from './field-errors.ts';
import { jobSpecSchema, validateJobSpec } from './job.ts';
import { type AnyKindRules, anyKind } from './kind-rules.ts';
import { apiVersionField, int32, int64, kindField, objectMetaSchema, time } from './meta.ts';
import { isDns1123Subdomain } from './name-rules.ts';
import { objectReferenceSchema } from './object-reference.ts';
import { defaultPodTemplate } from './pod-spec.ts';

const batchV1 = 'io.k8s.api.batch.v1';

export const concurrencyPolicies = ['Allow', 'Forbid', 'Replace'] as const;

export const jobTemplateSpecSchema = z
  .object({ metadata: objectMetaSchema.optional(), spec: jobSpecSchema.optional() })
  .meta({ id: `${batchV1}.JobTemplateSpec`, description: 'The Job a CronJob creates at each scheduled time.' });

export const cronJobSpecSchema = z
  .object({
    schedule: z.string().optional().describe('The schedule in cron format.'),
    timeZone: z.string().optional().describe('The time zone of the schedule (a tz database name); the controller manager’s zone (UTC) when unset.'),
    startingDeadlineSeconds: int64.optional().describe('Seconds after a scheduled time within which a missed run may still start.'),
    concurrencyPolicy: z.enum(concurrencyPolicies).default('Allow').describe('Allow, Forbid or Replace concurrent runs.'),
    suspend: z.boolean().default(false),
    jobTemplate: jobTemplateSpecSchema.optional(),
    successfulJobsHistoryLimit: int32.default(3),
    failedJobsHistoryLimit: int32.default(1),
  })
  .meta({ id: `${batchV1}.CronJobSpec`, description: 'When and how a CronJob runs its Jobs.' });

export const cronJobStatusSchema = z
  .object({
    active: z.array(objectReferenceSchema).optional(),
    lastScheduleTime: time.optional(),
    lastSuccessfulTime: time.optional(),
  })
  .meta({ id: `${batchV1}.CronJobStatus` });

export const cronJobSchema = z
  .object({
    apiVersion: apiVersionField,
    kind: kindField,
    metadata: objectMetaSchema.default(() => ({})),
    spec: cronJobSpecSchema.default(() => cronJobSpecSchema.parse({})),
    status: cronJobStatusSchema.optional(),
  })
  .meta({ id: `${batchV1}.CronJob`, description: 'A CronJob creates Jobs on a repeating schedule.' });
export type CronJob = z.infer<typeof cronJobSchema>;

/** A CronJob's name leaves room for the 11 characters of its Jobs' scheduled-time suffix. */
const maxCronJobNameLength = 52;

/** Whether `zone` is a time zone name of the tz database this runtime knows. */
export function isKnownTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return zone !== '' && zone.toLowerCase() !== 'local';
  } catch {
    return false;
  }
}

/**
 * The standard five-field cron syntax Kubernetes accepts (robfig/cron's standard parser, with
 * the `@hourly`-style descriptors), as the error message of a schedule that is not one, or
 * undefined when it parses.
 */
export function cronScheduleError(schedule: string): string | undefined {
  const trimmed = schedule.trim();
  if (!trimmed.startsWith('@')) {
    const fields = trimmed.split(/\s+/).filter((f) => f !== '');
    if (fields.length !== 5) return `Expected exactly 5 fields, found ${fields.length}: ${schedule}`;
  } else if (trimmed === '@reboot') return `unrecognized descriptor: ${trimmed}`;
  try {
    CronExpressionParser.parse(trimmed, { tz: 'UTC' });
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

function validateCronJob(cronJob: CronJob): FieldCause[] {
  const { spec } = cronJob;
  const causes: FieldCause[] = [];
  const name = cronJob.metadata.name ?? '';
  if (name.length > maxCronJobNameLength) causes.push(invalid('metadata.name', name, `must be no more than ${maxCronJobNameLength} characters`));
  if (spec.schedule === undefined || spec.schedule === '') causes.push(required('spec.schedule'));
  else {
    if (/(^|\s)(CRON_)?TZ=/.test(spec.schedule)) {
      causes.push(invalid('spec.schedule', spec.schedule, 'cannot use TZ or CRON_TZ in schedule, use timeZone field instead'));
    } else {
      const error = cronScheduleError(spec.schedule);
      if (error) causes.push(invalid('spec.schedule', spec.schedule, error));
    }
  }
  if (spec.timeZone !== undefined && !isKnownTimeZone(spec.timeZone))
    causes.push(invalid('spec.timeZone', spec.timeZone, `unknown time zone ${spec.timeZone}`));
  causes.push(...supportedValue('spec.concurrencyPolicy', spec.concurrencyPolicy, concurrencyPolicies));
  causes.push(...nonNegative('spec.startingDeadlineSeconds', spec.startingDeadlineSeconds));
  causes.push(...nonNegative('spec.successfulJobsHistoryLimit', spec.successfulJobsHistoryLimit));
  causes.push(...nonNegative('spec.failedJobsHistoryLimit', spec.failedJobsHistoryLimit));
  const jobSpec = spec.jobTemplate?.spec;
  if (!jobSpec) causes.push(required('spec.jobTemplate.spec.template'));
  else causes.push(...validateJobSpec(jobSpec, child(child('spec', 'jobTemplate'), 'spec'), { selectorRequired: false }));
  return causes;
}

export const cronJobRules: AnyKindRules = anyKind<CronJob>({
  schema: cronJobSchema,
  nameRule: isDns1123Subdomain,
  defaults: (cronJob) => {
    const template = cronJob.spec.jobTemplate?.spec?.template;
    if (!template || !cronJob.spec.jobTemplate) return cronJob;
    const jobTemplate = { ...cronJob.spec.jobTemplate, spec: { ...cronJob.spec.jobTemplate.spec, template: defaultPodTemplate(template) } };
    return { ...cronJob, spec: { ...cronJob.spec, jobTemplate } };
  },
  validate: validateCronJob,
});

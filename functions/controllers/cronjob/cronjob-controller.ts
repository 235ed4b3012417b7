/**
 * The CronJob controller: makes each CronJob's Job at its scheduled times (in its time zone),
 * honours the concurrency policy, and keeps the history limits. Keys come from CronJob changes,
 * from changes of the Jobs CronJobs control, and from its own requeue at the next scheduled time
 * (locally a timer; on AWS the resync schedule, docs/adr/160). Its clock is the context's, so a
 * test fast-forwards it.
 */
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import type { Controller, ReconcileKey } from '../../controller-runtime/controller.ts';
import { ownerKeys } from '../../controller-runtime/owner-keys.ts';
import { AlreadyExistsError, NotFoundError } from '../../core/errors.ts';
import { getIfExists, listAll } from '../../store/list-all.ts';
import { type CronJobStatus, jobReference, planCronJob } from './plan-cronjob.ts';

const component = 'cronjob-controller';

export const cronJobController: Controller = {
  name: component,
  resyncTypes: [types.cronjobs],
  keysFor(change): ReconcileKey[] {
    if (change.typeId === types.cronjobs.id) return [{ typeId: types.cronjobs.id, namespace: change.namespace, name: change.name }];
    if (change.typeId !== types.jobs.id) return [];
    return ownerKeys(change, 'CronJob', types.cronjobs.id);
  },
  async reconcile(key, ctx) {
    // The time is read before the CronJob and its Jobs, so what is read is at least as new as the
    // time the plan acts for: a reconcile whose read predates a write (a suspend) never creates
    // the Job of a scheduled time that came after that write.
    const now = ctx.now();
    const cronJob = await getIfExists(ctx.store, types.cronjobs, key.namespace, key.name);
    if (!cronJob) return;
    const jobs = await listAll(ctx.store, types.jobs, { namespace: key.namespace });
    const plan = planCronJob(cronJob, jobs, now);

    for (const job of plan.delete) {
      try {
        await ctx.admission.delete(types.jobs, job);
      } catch (error) {
        if (!(error instanceof NotFoundError)) throw error;
      }
    }
    let status: CronJobStatus | undefined = plan.status;
    if (plan.create) {
      let created: KubeObject | undefined;
      try {
        created = await ctx.admission.create(types.jobs, plan.create);
        await ctx.events.record({
          involvedObject: cronJob,
          type: 'Normal',
          reason: 'SuccessfulCreate',
          message: `Created job ${created.metadata.name}`,
          component,
        });
      } catch (error) {
        if (error instanceof AlreadyExistsError) created = undefined;
        else if (error instanceof Error && 'code' in error && [400, 403, 404, 422].includes((error as { code: number }).code)) {
          await ctx.events.record({
            involvedObject: cronJob,
            type: 'Warning',
            reason: 'FailedCreate',
            message: `Error creating job: ${error.message}`,
            component,
          });
        } else throw error;
      }
      const base = status ?? ((cronJob.status ?? {}) as CronJobStatus);
      status = { ...base, ...(created ? { active: [...(base.active ?? []), jobReference(created)] } : {}) };
    }
    for (const event of plan.events) await ctx.events.record({ involvedObject: cronJob, ...event, component });
    if (status) await ctx.admission.update(types.cronjobs, { ...cronJob, status }, cronJob);
    return plan.requeueAfterSeconds !== undefined ? { requeueAfterSeconds: plan.requeueAfterSeconds } : undefined;
  },
};

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jobNameFor, mostRecentScheduleTime, planCronJob } from '../../../../functions/controllers/cronjob/plan-cronjob.ts';
import type { KubeObject } from '../../../../schemas/meta.ts';
import { now, ownerRef, secondsAgo } from '../../fixtures.ts';

function cronJob(spec: Record<string, unknown>, status: Record<string, unknown> = {}, created = secondsAgo(3600)): KubeObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name: 'tick', namespace: 'default', uid: 'cj-uid', creationTimestamp: created },
    spec: {
      schedule: '*/5 * * * *',
      concurrencyPolicy: 'Allow',
      suspend: false,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 1,
      jobTemplate: {
        metadata: { labels: { team: 'a' } },
        spec: { template: { spec: { containers: [{ name: 'c', image: 'busybox' }], restartPolicy: 'Never' } } },
      },
      ...spec,
    },
    status,
  };
}

function job(owner: KubeObject, name: string, state: 'Complete' | 'Failed' | 'running', finishedSecondsAgo = 60): KubeObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: 'default', uid: `uid-${name}`, creationTimestamp: secondsAgo(finishedSecondsAgo + 10), ownerReferences: [ownerRef(owner)] },
    spec: {},
    status:
      state === 'running'
        ? { active: 1 }
        : {
            conditions: [{ type: state, status: 'True', lastTransitionTime: secondsAgo(finishedSecondsAgo) }],
            ...(state === 'Complete' ? { completionTime: secondsAgo(finishedSecondsAgo) } : {}),
          },
  };
}

describe('planCronJob', () => {
  it('creates the Job of the most recent scheduled time, named for it, with the template and the scheduled-time annotation', () => {
    const cj = cronJob({});
    const plan = planCronJob(cj, [], now);
    // now is 12:00:00 UTC: the most recent */5 time is 12:00.
    assert.equal(plan.create?.metadata.name, jobNameFor(cj, now));
    assert.equal(plan.create?.metadata.name, `tick-${Math.floor(now.getTime() / 60000)}`);
    assert.equal(plan.create?.metadata.labels?.team, 'a');
    assert.equal(plan.create?.metadata.annotations?.['batch.kubernetes.io/cronjob-scheduled-timestamp'], '2026-01-01T12:00:00Z');
    assert.equal(plan.create?.metadata.ownerReferences?.[0]?.uid, 'cj-uid');
    assert.equal(plan.status?.lastScheduleTime, '2026-01-01T12:00:00Z');
    assert.equal(plan.requeueAfterSeconds, 300);
  });

  it('creates nothing again for a scheduled time already run', () => {
    const cj = cronJob({}, { lastScheduleTime: '2026-01-01T12:00:00Z' });
    const plan = planCronJob(cj, [job(cj, jobNameFor(cj, now), 'running')], now);
    assert.equal(plan.create, undefined);
  });

  it('reads the schedule in its time zone', () => {
    const at = mostRecentScheduleTime('0 9 * * *', 'Asia/Tokyo', new Date('2025-12-30T00:00:00Z'), now);
    assert.equal(at?.toISOString(), '2026-01-01T00:00:00.000Z');
  });

  it('skips a scheduled time while a Job runs under Forbid, and replaces the running Job under Replace', () => {
    const forbid = cronJob({ concurrencyPolicy: 'Forbid' }, { lastScheduleTime: '2026-01-01T11:55:00Z' });
    const running = job(forbid, 'tick-old', 'running');
    assert.equal(planCronJob(forbid, [running], now).create, undefined);
    const replace = cronJob({ concurrencyPolicy: 'Replace' }, { lastScheduleTime: '2026-01-01T11:55:00Z' });
    const old = job(replace, 'tick-old', 'running');
    const plan = planCronJob(replace, [old], now);
    assert.ok(plan.create);
    assert.deepEqual(plan.delete, [old]);
  });

  it('does not run a time missed by more than startingDeadlineSeconds', () => {
    const cj = cronJob({ startingDeadlineSeconds: 10 }, { lastScheduleTime: '2026-01-01T11:50:00Z' });
    const later = new Date(now.getTime() + 30_000);
    assert.equal(planCronJob(cj, [], later).create, undefined);
  });

  it('creates nothing while suspended', () => {
    assert.equal(planCronJob(cronJob({ suspend: true }), [], now).create, undefined);
  });

  it('deletes the oldest finished Jobs beyond the history limits', () => {
    const cj = cronJob({ successfulJobsHistoryLimit: 2, failedJobsHistoryLimit: 1 }, { lastScheduleTime: '2026-01-01T12:00:00Z' });
    const jobs = [
      job(cj, 'ok-1', 'Complete', 400),
      job(cj, 'ok-2', 'Complete', 300),
      job(cj, 'ok-3', 'Complete', 200),
      job(cj, 'bad-1', 'Failed', 350),
      job(cj, 'bad-2', 'Failed', 250),
    ];
    const plan = planCronJob(cj, jobs, now);
    assert.deepEqual(plan.delete.map((j) => j.metadata.name).sort(), ['bad-1', 'ok-1']);
  });

  it('keeps running Jobs in status.active and notes the last successful time when one completes', () => {
    const cj = cronJob({}, { lastScheduleTime: '2026-01-01T12:00:00Z', active: [{ kind: 'Job', name: 'done', uid: 'uid-done', apiVersion: 'batch/v1' }] });
    const plan = planCronJob(cj, [job(cj, 'done', 'Complete', 30), job(cj, 'busy', 'running')], now);
    assert.deepEqual(
      plan.status?.active?.map((r) => r.name),
      ['busy'],
    );
    assert.equal(plan.status?.lastSuccessfulTime, secondsAgo(30));
    assert.ok(plan.events.some((e) => e.reason === 'SawCompletedJob' && e.message === 'Saw completed job: done, condition: Complete'));
  });
});

/**
 * A CronJob every minute against DynamoDB Local with the real stream poller and controllers, the
 * controllers' clock fast-forwarded a minute at a time (never waited for): each scheduled time
 * makes one Job, the Job controller runs it to Complete once its pod succeeds (a stand-in marks
 * the pods Succeeded, as an agent would), and the successful-jobs history limit keeps the newest
 * three.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createAdmission } from '../../../functions/domain/object-admission/admission.ts';
import type { ControlLoops } from '../../../functions/local/control-loops.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import { waitFor } from '../../support/wait.ts';
import { modify, namespaceObject, startControlPlane, type TestControlPlane } from './control-plane.ts';

let plane: TestControlPlane;
let loops: ControlLoops;
/**
 * The controllers' clock, moved only by the test: half a minute past the whole minute in which the
 * CronJob was created. Taken from the real time before the control plane started, it fell a minute
 * behind the CronJob's creationTimestamp (the store's real clock) whenever the start crossed a
 * minute boundary (1 run in ~20 idle, more under load); the first scheduled time then came before
 * the CronJob existed, so, as in Kubernetes, it made no Job.
 */
let clockMs = 0;
const namespace = 'cron';

const jobsIn = async () => (await plane.store.list(types.jobs, { namespace })).items.filter((j) => !j.metadata.deletionTimestamp);
const isComplete = (job: KubeObject) =>
  ((job.status as { conditions?: { type: string; status: string }[] })?.conditions ?? []).some((c) => c.type === 'Complete' && c.status === 'True');

/** Does what an agent does for the Jobs' pods: they run and exit 0. */
async function succeedPods(): Promise<void> {
  for (const pod of (await plane.store.list(types.pods, { namespace })).items) {
    if ((pod.status as { phase?: string } | undefined)?.phase === 'Succeeded') continue;
    await modify(plane.store, types.pods, namespace, pod.metadata.name ?? '', (p) => ({ ...p, status: { ...(p.status ?? {}), phase: 'Succeeded' } })).catch(
      () => undefined,
    );
  }
}

/** Moves the clock a minute on, reconciles everything as the next timer or resync would, and lets the minute's Job finish. */
async function nextMinute(): Promise<KubeObject> {
  clockMs += 60_000;
  await loops.resync();
  const name = `tick-${Math.floor((clockMs - 30_000) / 60_000)}`;
  return waitFor(`job ${name} complete`, async () => {
    await succeedPods();
    const job = (await jobsIn()).find((j) => j.metadata.name === name);
    return job && isComplete(job) ? job : undefined;
  });
}

describe('CronJob with a fast-forwarded clock', { timeout: 180_000 }, () => {
  before(async () => {
    plane = await startControlPlane();
    await plane.store.create(types.namespaces, namespaceObject(namespace));
    const admission = createAdmission({ store: plane.store });
    const cronJob = await admission.create(types.cronjobs, {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'tick', namespace },
      spec: {
        schedule: '*/1 * * * *',
        successfulJobsHistoryLimit: 3,
        jobTemplate: { spec: { template: { spec: { containers: [{ name: 'c', image: 'busybox', command: ['true'] }], restartPolicy: 'Never' } } } },
      },
    });
    clockMs = Math.floor(Date.parse(cronJob.metadata.creationTimestamp ?? '') / 60_000) * 60_000 + 30_000;
    assert.ok(Number.isFinite(clockMs));
    loops = await plane.startLoops({ now: () => new Date(clockMs) });
  });
  after(async () => {
    await plane?.stop();
  });

  it('makes one Job per minute, each completed by the Job controller, and keeps the newest three', async () => {
    const made: string[] = [];
    for (let minute = 0; minute < 5; minute++) made.push((await nextMinute()).metadata.name ?? '');
    await loops.resync();
    const kept = await waitFor('the history limit applied', async () => {
      const names = (await jobsIn()).map((j) => j.metadata.name ?? '').sort();
      return names.length === 3 ? names : undefined;
    });
    assert.deepEqual(kept, made.slice(2).sort());
    const cronJob = await plane.store.get(types.cronjobs, namespace, 'tick');
    const status = cronJob.status as { lastScheduleTime?: string; lastSuccessfulTime?: string; active?: unknown[] };
    assert.equal(status.lastScheduleTime, new Date(clockMs - 30_000).toISOString().replace('.000Z', 'Z'));
    assert.ok(status.lastSuccessfulTime);
    assert.equal(status.active, undefined);
    // Each Job counted its one pod once.
    for (const job of await jobsIn()) assert.equal((job.status as { succeeded?: number }).succeeded, 1);
  });

  it('makes no Job for a minute while suspended', async () => {
    await modify(plane.store, types.cronjobs, namespace, 'tick', (c) => ({ ...c, spec: { ...(c.spec as object), suspend: true } }));
    const before = (await jobsIn()).length;
    clockMs += 60_000;
    await loops.resync();
    await loops.resync();
    assert.equal((await jobsIn()).length, before);
  });
});

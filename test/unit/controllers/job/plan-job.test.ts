import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatIndexes, parseIndexes, planJob } from '../../../../functions/controllers/job/plan-job.ts';
import { kubeTime } from '../../../../functions/core/kube-time.ts';
import type { KubeObject } from '../../../../schemas/meta.ts';
import { now, ownerRef, secondsAgo } from '../../fixtures.ts';

const tracking = 'batch.kubernetes.io/job-tracking';

function job(spec: Record<string, unknown>, status: Record<string, unknown> = {}, extra: { deleting?: boolean } = {}): KubeObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: 'work',
      namespace: 'default',
      uid: 'job-uid',
      creationTimestamp: secondsAgo(600),
      ...(extra.deleting ? { deletionTimestamp: secondsAgo(1) } : {}),
    },
    spec: {
      parallelism: 1,
      completions: 1,
      backoffLimit: 6,
      completionMode: 'NonIndexed',
      template: { metadata: { labels: { app: 'w' } }, spec: { containers: [{ name: 'c', image: 'busybox' }], restartPolicy: 'Never' } },
      ...spec,
    },
    status,
  };
}

let serial = 0;
function pod(
  owner: KubeObject,
  phase: string,
  options: { finalizer?: boolean; index?: number; finishedSecondsAgo?: number; deleting?: boolean } = {},
): KubeObject {
  serial += 1;
  const finished = options.finishedSecondsAgo ?? 100;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `work-${serial}`,
      namespace: 'default',
      uid: `pod-${serial}`,
      creationTimestamp: secondsAgo(300),
      ownerReferences: [ownerRef(owner)],
      ...(options.finalizer === false ? {} : { finalizers: [tracking] }),
      ...(options.index !== undefined ? { annotations: { 'batch.kubernetes.io/job-completion-index': String(options.index) } } : {}),
      ...(options.deleting ? { deletionTimestamp: secondsAgo(1) } : {}),
    },
    spec: { containers: [{ name: 'c', image: 'busybox' }] },
    status: {
      phase,
      ...(phase === 'Failed' || phase === 'Succeeded'
        ? {
            containerStatuses: [
              { name: 'c', restartCount: 0, state: { terminated: { exitCode: phase === 'Failed' ? 1 : 0, finishedAt: secondsAgo(finished) } } },
            ],
          }
        : {}),
    },
  };
}

describe('planJob', () => {
  it('creates as many pods as parallelism allows, each with the tracking finalizer and the Job as controller', () => {
    const j = job({ completions: 5, parallelism: 2 });
    const plan = planJob(j, [], now);
    assert.equal(plan.create.length, 2);
    for (const p of plan.create) {
      assert.deepEqual(p.metadata.finalizers, [tracking]);
      assert.equal(p.metadata.generateName, 'work-');
      assert.equal(p.metadata.ownerReferences?.[0]?.uid, 'job-uid');
      assert.equal(p.metadata.labels?.app, 'w');
    }
    assert.equal(plan.status?.active, 2);
    assert.equal(plan.status?.startTime, kubeTime(now));
  });

  it('creates no more than the completions still missing', () => {
    const j = job({ completions: 5, parallelism: 4 }, { succeeded: 3, startTime: secondsAgo(60) });
    assert.equal(planJob(j, [], now).create.length, 2);
  });

  it('records a finished pod as uncounted first and releases its finalizer, then counts it once released', () => {
    const j = job({ completions: 2, parallelism: 1 }, { startTime: secondsAgo(60) });
    const done = pod(j, 'Succeeded');
    const first = planJob(j, [done], now);
    assert.deepEqual(first.status?.uncountedTerminatedPods, { succeeded: [done.metadata.uid] });
    assert.equal(first.status?.succeeded, undefined);
    assert.deepEqual(first.removeFinalizers, [done]);

    const recorded = job({ completions: 2, parallelism: 1 }, first.status as Record<string, unknown>);
    const released = { ...done, metadata: { ...done.metadata, finalizers: [] } };
    const second = planJob(recorded, [released], now);
    assert.equal(second.status?.succeeded, 1);
    assert.deepEqual(second.status?.uncountedTerminatedPods, {});
    assert.deepEqual(second.removeFinalizers, []);
    // Planning the same world again changes nothing: no double count.
    const settled = job({ completions: 2, parallelism: 1 }, second.status as Record<string, unknown>);
    const third = planJob(settled, [released], now);
    assert.equal(third.status, undefined);
  });

  it('counts a released pod that was deleted afterwards', () => {
    const j = job({ completions: 3 }, { startTime: secondsAgo(60), uncountedTerminatedPods: { succeeded: ['gone'] } });
    const plan = planJob(j, [], now);
    assert.equal(plan.status?.succeeded, 1);
  });

  it('marks the Job Complete once enough pods succeeded and every one is counted', () => {
    const j = job({ completions: 2, parallelism: 2 }, { startTime: secondsAgo(60), succeeded: 2 });
    const plan = planJob(j, [], now);
    const types = (plan.status?.conditions ?? []).map((c) => [c.type, c.status, c.reason]);
    assert.deepEqual(types, [
      ['SuccessCriteriaMet', 'True', 'CompletionsReached'],
      ['Complete', 'True', 'CompletionsReached'],
    ]);
    assert.equal(plan.status?.completionTime, kubeTime(now));
    assert.equal(plan.create.length, 0);
    assert.ok(plan.events.some((e) => e.reason === 'Completed' && e.message === 'Job completed'));
  });

  it('waits with Complete while a finished pod is still uncounted', () => {
    const j = job({ completions: 1 }, { startTime: secondsAgo(60) });
    const plan = planJob(j, [pod(j, 'Succeeded')], now);
    assert.equal(plan.status?.conditions, undefined);
  });

  it('fails the Job with BackoffLimitExceeded when failures pass backoffLimit, deleting what still runs', () => {
    const j = job({ completions: 2, parallelism: 2, backoffLimit: 1 }, { startTime: secondsAgo(60), failed: 2 });
    const running = pod(j, 'Running');
    const plan = planJob(j, [running], now);
    assert.deepEqual(plan.delete, [running]);
    const failedCondition = plan.status?.conditions?.find((c) => c.type === 'Failed');
    assert.equal(failedCondition?.reason, 'BackoffLimitExceeded');
    assert.equal(failedCondition?.message, 'Job has reached the specified backoff limit');
  });

  it('waits the back-off after a failure before the next pod: 10 s, then 20 s', () => {
    const j = job({ completions: 1, backoffLimit: 6 }, { startTime: secondsAgo(60), failed: 1 });
    const recent = pod(j, 'Failed', { finalizer: false, finishedSecondsAgo: 4 });
    const waiting = planJob(j, [recent], now);
    assert.equal(waiting.create.length, 0);
    assert.equal(waiting.requeueAfterSeconds, 6);
    const old = pod(j, 'Failed', { finalizer: false, finishedSecondsAgo: 11 });
    assert.equal(planJob(j, [old], now).create.length, 1);
    const twice = job({ completions: 1, backoffLimit: 6 }, { startTime: secondsAgo(60), failed: 2 });
    assert.equal(planJob(twice, [old], now).create.length, 0);
  });

  it('fails a Job active longer than activeDeadlineSeconds', () => {
    const j = job({ completions: 1, activeDeadlineSeconds: 30 }, { startTime: secondsAgo(31) });
    const plan = planJob(j, [pod(j, 'Running', { finalizer: false })], now);
    assert.equal(plan.status?.conditions?.find((c) => c.type === 'Failed')?.reason, 'DeadlineExceeded');
    assert.equal(plan.delete.length, 1);
  });

  it('runs one pod per missing index in Indexed mode, with the index annotation, hostname and env', () => {
    const j = job({ completions: 3, parallelism: 3, completionMode: 'Indexed' }, { startTime: secondsAgo(60) });
    const plan = planJob(j, [pod(j, 'Succeeded', { finalizer: false, index: 1 })], now);
    assert.deepEqual(
      plan.create.map((p) => p.metadata.annotations?.['batch.kubernetes.io/job-completion-index']),
      ['0', '2'],
    );
    const first = plan.create[0] as KubeObject & { spec: { hostname: string; containers: { env: { name: string }[] }[] } };
    assert.equal(first.metadata.generateName, 'work-0-');
    assert.equal(first.spec.hostname, 'work-0');
    assert.ok(first.spec.containers[0]?.env.some((e) => e.name === 'JOB_COMPLETION_INDEX'));
    assert.equal(plan.status?.completedIndexes, '1');
  });

  it('deletes active pods of a suspended Job and says so in the Suspended condition', () => {
    const j = job({ completions: 2, suspend: true }, { startTime: secondsAgo(60) });
    const running = pod(j, 'Running');
    const plan = planJob(j, [running], now);
    assert.deepEqual(plan.delete, [running]);
    assert.equal(plan.status?.conditions?.find((c) => c.type === 'Suspended')?.status, 'True');
    assert.equal(plan.status?.startTime, undefined);
  });

  it('releases the pods of a finished Job and deletes the Job when ttlSecondsAfterFinished has passed', () => {
    const j = job(
      { completions: 1, ttlSecondsAfterFinished: 30 },
      { succeeded: 1, completionTime: secondsAgo(31), conditions: [{ type: 'Complete', status: 'True', lastTransitionTime: secondsAgo(31) }] },
    );
    const held = pod(j, 'Succeeded');
    const plan = planJob(j, [held], now);
    assert.deepEqual(plan.removeFinalizers, [held]);
    assert.equal(plan.deleteJob, true);
    const younger = job(
      { completions: 1, ttlSecondsAfterFinished: 60 },
      { succeeded: 1, completionTime: secondsAgo(31), conditions: [{ type: 'Complete', status: 'True' }] },
    );
    assert.equal(planJob(younger, [], now).requeueAfterSeconds, 29);
  });

  it('ignores pods another Job controls', () => {
    const other = { ...job({}), metadata: { name: 'other', namespace: 'default', uid: 'other-uid' } };
    const j = job({ completions: 1 }, { startTime: secondsAgo(60) });
    assert.equal(planJob(j, [pod(other, 'Running')], now).create.length, 1);
  });

  it('formats and parses completed indexes as Kubernetes writes them', () => {
    assert.equal(formatIndexes([7, 1, 3, 4, 5]), '1,3-5,7');
    assert.equal(formatIndexes([0, 1]), '0,1');
    assert.deepEqual([...parseIndexes('1,3-5,7')], [1, 3, 4, 5, 7]);
  });
});

describe('planJob with a podFailurePolicy', () => {
  /** A failed pod whose container `c` exited with `exitCode`, with these pod conditions. */
  function failedWith(owner: KubeObject, exitCode: number, conditions: { type: string; status: string }[] = []): KubeObject {
    const failed = pod(owner, 'Failed');
    const status = failed.status as Record<string, any>;
    return {
      ...failed,
      status: {
        ...status,
        conditions,
        containerStatuses: [{ ...status.containerStatuses[0], state: { terminated: { exitCode, finishedAt: secondsAgo(100) } } }],
      },
    };
  }
  const policy = {
    rules: [
      { action: 'FailJob', onExitCodes: { containerName: 'c', operator: 'In', values: [42] } },
      { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
      { action: 'Count', onExitCodes: { operator: 'NotIn', values: [3] } },
      { action: 'Ignore', onExitCodes: { operator: 'In', values: [3] } },
    ],
  };

  it('fails the Job at once on a FailJob rule, with the message Kubernetes writes, deleting what still runs', () => {
    const j = job({ completions: 3, parallelism: 2, podFailurePolicy: policy }, { startTime: secondsAgo(60) });
    const failed = failedWith(j, 42);
    const running = pod(j, 'Running');
    const first = planJob(j, [failed, running], now);
    const message = `Container c for pod default/${failed.metadata.name} failed with exit code 42 matching FailJob rule at index 0`;
    assert.deepEqual(
      first.status?.conditions?.map((c) => [c.type, c.status, c.reason, c.message]),
      [['FailureTarget', 'True', 'PodFailurePolicy', message]],
    );
    assert.deepEqual(first.delete, [running]);
    assert.deepEqual(first.status?.uncountedTerminatedPods, { failed: [failed.metadata.uid] });
    // Once the pod is counted and released, the remembered FailureTarget finishes the Job.
    const counted = job({ completions: 3, parallelism: 2, podFailurePolicy: policy }, { ...first.status, uncountedTerminatedPods: {} } as Record<
      string,
      unknown
    >);
    const released = { ...failed, metadata: { ...failed.metadata, finalizers: [] } };
    const second = planJob(counted, [released], now);
    assert.deepEqual(
      second.status?.conditions?.map((c) => [c.type, c.reason, c.message]),
      [
        ['FailureTarget', 'PodFailurePolicy', message],
        ['Failed', 'PodFailurePolicy', message],
      ],
    );
    assert.equal(second.create.length, 0);
    assert.ok(second.events.some((e) => e.type === 'Warning' && e.reason === 'PodFailurePolicy' && e.message === message));
  });

  it('lets an ignored failure go without counting it towards backoffLimit, and replaces the pod at once', () => {
    const j = job({ completions: 1, backoffLimit: 0, podFailurePolicy: policy }, { startTime: secondsAgo(60) });
    const disrupted = failedWith(j, 137, [{ type: 'DisruptionTarget', status: 'True' }]);
    const plan = planJob(j, [disrupted], now);
    assert.deepEqual(plan.removeFinalizers, [disrupted], 'its finalizer goes');
    assert.deepEqual(plan.status?.uncountedTerminatedPods, {}, 'it is never counted');
    assert.equal(plan.status?.conditions, undefined, 'backoffLimit 0 is not reached');
    assert.equal(plan.create.length, 1, 'no back-off for an ignored failure');
    const exit3 = failedWith(j, 3);
    assert.equal(
      planJob(j, [exit3], now).status?.uncountedTerminatedPods?.failed,
      undefined,
      'rules are read in order: NotIn [3] does not match 3, Ignore does',
    );
  });

  it('counts a failure no rule matches, or a Count rule matches, as without a policy', () => {
    const j = job({ completions: 1, backoffLimit: 0, podFailurePolicy: policy }, { startTime: secondsAgo(60) });
    const counted = failedWith(j, 1);
    const plan = planJob(j, [counted], now);
    assert.deepEqual(plan.status?.uncountedTerminatedPods, { failed: [counted.metadata.uid] });
    const noRules = job({
      completions: 1,
      backoffLimit: 0,
      podFailurePolicy: { rules: [{ action: 'FailJob', onExitCodes: { operator: 'In', values: [42] } }] },
    });
    const zeroExit = failedWith(noRules, 0);
    const other = planJob(noRules, [zeroExit], now);
    assert.deepEqual(other.status?.uncountedTerminatedPods, { failed: [zeroExit.metadata.uid] }, 'an exit code 0 matches no rule: counted');
    assert.equal(other.status?.conditions, undefined);
  });
});

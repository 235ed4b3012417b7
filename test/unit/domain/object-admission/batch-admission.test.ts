import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { InvalidError } from '../../../../functions/core/errors.ts';
import type { KubeObject } from '../../../../schemas/meta.ts';
import { types } from '../../../../schemas/registry.ts';
import { type MemoryCluster, memoryCluster } from '../../../support/memory-cluster.ts';

let world: MemoryCluster;
beforeEach(async () => {
  world = await memoryCluster();
  await world.namespace('batch');
});
afterEach(() => world.close());

const template = (restartPolicy?: string) => ({
  spec: { containers: [{ name: 'c', image: 'busybox', command: ['true'] }], ...(restartPolicy ? { restartPolicy } : {}) },
});

function causesOf(error: unknown): string[] {
  assert.ok(error instanceof InvalidError, `expected a 422, got ${String(error)}`);
  return (error.details?.causes ?? []).map((c) => `${c.field}: ${c.message}`);
}

describe('admission of a Job', () => {
  it('defaults a Job as batch/v1 does and selects its pods by its uid', async () => {
    const job = await world.admission.create(types.jobs, {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'pi', namespace: 'batch' },
      spec: { template: template('Never') },
    });
    const spec = job.spec as Record<string, unknown> & {
      selector: { matchLabels: Record<string, string> };
      template: { metadata: { labels: Record<string, string> } };
    };
    assert.equal(spec.completions, 1);
    assert.equal(spec.parallelism, 1);
    assert.equal(spec.backoffLimit, 6);
    assert.equal(spec.completionMode, 'NonIndexed');
    assert.equal(spec.suspend, false);
    assert.equal(spec.manualSelector, false);
    assert.equal(spec.podReplacementPolicy, 'TerminatingOrFailed');
    const uid = job.metadata.uid ?? '';
    assert.match(uid, /^[0-9a-f-]{36}$/);
    assert.deepEqual(spec.selector, { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } });
    assert.deepEqual(spec.template.metadata.labels, {
      'batch.kubernetes.io/controller-uid': uid,
      'batch.kubernetes.io/job-name': 'pi',
      'controller-uid': uid,
      'job-name': 'pi',
    });
  });

  it('keeps completions unset for a work queue Job that only sets parallelism', async () => {
    const job = await world.admission.create(types.jobs, {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'queue', namespace: 'batch' },
      spec: { parallelism: 3, template: template('OnFailure') },
    });
    assert.equal((job.spec as { completions?: number }).completions, undefined);
  });

  it('drops a uid the client sent', async () => {
    const job = await world.admission.create(types.jobs, {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'mine', namespace: 'batch', uid: 'chosen' },
      spec: { template: template('Never') },
    });
    assert.notEqual(job.metadata.uid, 'chosen');
  });

  it("refuses restartPolicy Always with Kubernetes' message", async () => {
    const error = await world.admission
      .create(types.jobs, { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'bad', namespace: 'batch' }, spec: { template: template() } })
      .catch((e: unknown) => e);
    assert.deepEqual(causesOf(error), ['spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"']);
  });

  it('refuses negative counts and Indexed mode without completions', async () => {
    const error = await world.admission
      .create(types.jobs, {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: { name: 'bad', namespace: 'batch' },
        spec: { parallelism: 2, backoffLimit: -1, completionMode: 'Indexed', template: template('Never') },
      })
      .catch((e: unknown) => e);
    assert.deepEqual(causesOf(error).sort(), [
      'spec.backoffLimit: Invalid value: -1: must be greater than or equal to 0',
      'spec.completions: Required value: when completion mode is Indexed',
    ]);
  });

  it('defaults a pod condition pattern to status True and refuses a podFailurePolicy kube-apiserver refuses', async () => {
    const job = await world.admission.create(types.jobs, {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'policy', namespace: 'batch' },
      spec: { template: template('Never'), podFailurePolicy: { rules: [{ action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget' }] }] } },
    });
    const spec = job.spec as { podFailurePolicy: { rules: { onPodConditions: { status: string }[] }[] }; podReplacementPolicy: string };
    assert.equal(spec.podFailurePolicy.rules[0]?.onPodConditions[0]?.status, 'True');
    assert.equal(spec.podReplacementPolicy, 'Failed');
    const error = await world.admission
      .create(types.jobs, {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: { name: 'bad', namespace: 'batch' },
        spec: {
          template: template('OnFailure'),
          podFailurePolicy: {
            rules: [
              { action: 'Retry', onExitCodes: { operator: 'In', values: [0, 5, 5] } },
              { action: 'FailIndex', onExitCodes: { operator: 'NotIn', values: [9, 2] } },
              { action: 'Ignore' },
              { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'Maybe' }] },
            ],
          },
        },
      })
      .catch((e: unknown) => e);
    assert.deepEqual(causesOf(error).sort(), [
      'spec.podFailurePolicy.rules[0].action: Unsupported value: "Retry": supported values: "FailJob", "FailIndex", "Ignore", "Count"',
      'spec.podFailurePolicy.rules[0].onExitCodes.values[0]: Invalid value: 0: must not be 0 for the In operator',
      'spec.podFailurePolicy.rules[0].onExitCodes.values[2]: Duplicate value: 5',
      'spec.podFailurePolicy.rules[1].action: Forbidden: the FailIndex action can only be used when backoffLimitPerIndex is specified',
      'spec.podFailurePolicy.rules[1].onExitCodes.values[1]: Invalid value: 2: must be ordered',
      'spec.podFailurePolicy.rules[2]: Invalid value: "": specifying one of OnExitCodes and OnPodConditions is required',
      'spec.podFailurePolicy.rules[3].onPodConditions[0].status: Unsupported value: "Maybe": supported values: "True", "False", "Unknown"',
      'spec.template.spec.restartPolicy: Invalid value: "OnFailure": only "Never" is supported when podFailurePolicy is specified',
    ]);
  });

  it('refuses a change of the template or the selector of a stored Job', async () => {
    const job = await world.admission.create(types.jobs, {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'fixed', namespace: 'batch' },
      spec: { template: template('Never') },
    });
    const changed = structuredClone(job) as KubeObject & { spec: { template: { spec: { containers: { image: string }[] } } } };
    (changed.spec.template.spec.containers[0] as { image: string }).image = 'nginx';
    const error = await world.admission.update(types.jobs, changed, job).catch((e: unknown) => e);
    assert.ok(causesOf(error).some((c) => c.startsWith('spec.template: Invalid value') && c.endsWith('field is immutable')));
  });
});

describe('admission of a CronJob', () => {
  const cronJob = (spec: Record<string, unknown>) => ({
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name: 'tick', namespace: 'batch' },
    spec: { schedule: '*/1 * * * *', jobTemplate: { spec: { template: template('OnFailure') } }, ...spec },
  });

  it('defaults the concurrency policy, suspend and history limits', async () => {
    const created = await world.admission.create(types.cronjobs, cronJob({}));
    const spec = created.spec as Record<string, unknown>;
    assert.equal(spec.concurrencyPolicy, 'Allow');
    assert.equal(spec.suspend, false);
    assert.equal(spec.successfulJobsHistoryLimit, 3);
    assert.equal(spec.failedJobsHistoryLimit, 1);
  });

  const refusals = [
    {
      name: 'a schedule with six fields',
      spec: { schedule: '0 0 * * * *' },
      cause: 'spec.schedule: Invalid value: "0 0 * * * *": Expected exactly 5 fields, found 6: 0 0 * * * *',
    },
    { name: 'a minute out of range', spec: { schedule: '61 * * * *' }, cause: /^spec\.schedule: Invalid value: "61 \* \* \* \*": / },
    {
      name: 'TZ in the schedule',
      spec: { schedule: 'TZ=UTC * * * * *' },
      cause: 'spec.schedule: Invalid value: "TZ=UTC * * * * *": cannot use TZ or CRON_TZ in schedule, use timeZone field instead',
    },
    { name: 'an unknown time zone', spec: { timeZone: 'Mars/Olympus' }, cause: 'spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus' },
    { name: 'a missing schedule', spec: { schedule: undefined }, cause: 'spec.schedule: Required value' },
  ];
  for (const { name, spec, cause } of refusals) {
    it(`refuses ${name}`, async () => {
      const error = await world.admission.create(types.cronjobs, cronJob(spec)).catch((e: unknown) => e);
      const causes = causesOf(error);
      assert.equal(causes.length, 1, causes.join('\n'));
      if (typeof cause === 'string') assert.equal(causes[0], cause);
      else assert.match(causes[0] ?? '', cause);
    });
  }

  it('accepts @hourly and a known time zone', async () => {
    await world.admission.create(types.cronjobs, cronJob({ schedule: '@hourly', timeZone: 'America/New_York' }));
  });
});

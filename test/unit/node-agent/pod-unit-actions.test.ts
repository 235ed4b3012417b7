import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { emptySnapshot } from '../../../node-agent/pod-actions.ts';
import { planPodUnitActions, type UnitContainerSnapshot } from '../../../node-agent/pod-unit-actions.ts';
import { type PodView, parsePod } from '../../../node-agent/pod-view.ts';
import type { ContainerRecord } from '../../../node-agent/runtime/runtime.ts';

const t0 = Date.parse('2026-01-01T12:00:00Z');
const at = (seconds: number) => new Date(t0 + seconds * 1000).toISOString();
const backOff = { initialMs: 10_000, maxMs: 300_000 };

function pod(restartPolicy = 'Always', images: Record<string, string> = { app: 'nginx', sidecar: 'envoy' }, metadata: Record<string, unknown> = {}): PodView {
  const parsed = parsePod({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'default', uid: 'uid-web', ...metadata },
    spec: { restartPolicy, containers: Object.entries(images).map(([name, image]) => ({ name, image })) },
  });
  if ('error' in parsed) throw new Error(parsed.error);
  return parsed.view;
}

/** One container's run inside task `task`. */
function run(
  task: string,
  name: string,
  options: { image?: string; creating?: boolean; exitCode?: number; ranSeconds?: number; pullFailed?: boolean; startedAt?: number } = {},
): ContainerRecord {
  const startedAt = options.startedAt ?? -60;
  return {
    id: `${task}/${name}`,
    containerID: `ecs://${task}/${name}`,
    pod: { namespace: 'default', name: 'web', uid: 'uid-web' },
    containerName: name,
    attempt: 0,
    image: options.image ?? (name === 'app' ? 'nginx' : 'envoy'),
    imageID: '',
    startedAt: at(startedAt),
    ...(options.creating ? { creating: true } : {}),
    ...(options.exitCode !== undefined || options.pullFailed
      ? {
          exit: {
            exitCode: options.exitCode ?? 0,
            reason: options.exitCode ? ('Error' as const) : ('Completed' as const),
            finishedAt: at(startedAt + (options.ranSeconds ?? 1)),
            ...(options.pullFailed ? { pullFailed: true, message: 'CannotPullContainerError: not found' } : {}),
          },
        }
      : {}),
  };
}

function slot(name: string, snapshot: Partial<UnitContainerSnapshot> = {}): UnitContainerSnapshot {
  return { ...emptySnapshot(name), pullFailures: 0, ...snapshot };
}

describe('planPodUnitActions', () => {
  it('starts a unit no container of which ever ran', () => {
    const plan = planPodUnitActions(pod(), [], t0, { backOff });
    assert.equal(plan.type, 'stopped');
    assert.equal(plan.type === 'stopped' && plan.startAtMs, t0);
  });

  it('keeps a running unit, a task still being created included', () => {
    const plan = planPodUnitActions(
      pod(),
      [slot('app', { current: run('t1', 'app', { creating: true }) }), slot('sidecar', { current: run('t1', 'sidecar', { creating: true }) })],
      t0,
      {
        backOff,
      },
    );
    assert.deepEqual(plan, {
      type: 'running',
      containers: [
        { name: 'app', action: { type: 'keep' } },
        { name: 'sidecar', action: { type: 'keep' } },
      ],
    });
  });

  it('kills the unit when one container of it has a new image', () => {
    const plan = planPodUnitActions(
      pod('Always', { app: 'httpd', sidecar: 'envoy' }),
      [slot('app', { current: run('t1', 'app') }), slot('sidecar', { current: run('t1', 'sidecar') })],
      t0,
      {
        backOff,
      },
    );
    assert.equal(plan.type, 'running');
    assert.deepEqual(plan.type === 'running' && plan.containers.map((c) => c.action.type), ['kill', 'keep']);
  });

  it('waits while a container has stopped but its task has not (the unit still runs)', () => {
    const plan = planPodUnitActions(
      pod(),
      [slot('app', { current: run('t1', 'app', { exitCode: 1 }) }), slot('sidecar', { current: run('t1', 'sidecar') })],
      t0,
      { backOff },
    );
    assert.deepEqual(plan.type === 'running' && plan.containers.map((c) => c.action.type), ['keep', 'keep']);
  });

  it('restarts the whole unit after a crash, when the slowest back-off allows', () => {
    const containers = [
      slot('app', { current: run('t1', 'app', { exitCode: 1, ranSeconds: 5 }), crashes: 2 }),
      slot('sidecar', { current: run('t1', 'sidecar', { exitCode: 143, ranSeconds: 5 }) }),
    ];
    const plan = planPodUnitActions(pod(), containers, t0, { backOff });
    assert.equal(plan.type, 'stopped');
    if (plan.type !== 'stopped') return;
    // app crashed a third time: 20 s of back-off; the sidecar's first exit would restart at once.
    assert.equal(plan.startAtMs, t0 + 20_000);
    assert.deepEqual(
      plan.containers.map((c) => [c.name, c.action.type, c.exit?.crashes]),
      [
        ['app', 'backOff', 3],
        ['sidecar', 'start', 1],
      ],
    );
  });

  it('keeps the unit down when no container wants a restart (OnFailure, every exit 0)', () => {
    const plan = planPodUnitActions(
      pod('OnFailure'),
      [slot('app', { current: run('t1', 'app', { exitCode: 0 }) }), slot('sidecar', { current: run('t1', 'sidecar', { exitCode: 0 }) })],
      t0,
      { backOff },
    );
    assert.equal(plan.type, 'stopped');
    assert.equal(plan.type === 'stopped' && plan.startAtMs, undefined);
  });

  it('restarts under OnFailure when one container failed, and never under Never', () => {
    const exits = [slot('app', { current: run('t1', 'app', { exitCode: 2 }) }), slot('sidecar', { current: run('t1', 'sidecar', { exitCode: 0 }) })];
    const onFailure = planPodUnitActions(pod('OnFailure'), exits, t0, { backOff });
    assert.equal(onFailure.type === 'stopped' && onFailure.startAtMs, t0);
    const never = planPodUnitActions(pod('Never'), exits, t0, { backOff });
    assert.equal(never.type === 'stopped' && never.startAtMs, undefined);
  });

  it('gives an image that could not be pulled the image-pull back-off, whatever the restart policy, counting no crash', () => {
    const first = planPodUnitActions(pod('Never', { app: 'nginx:nope' }), [slot('app', { current: run('t1', 'app', { pullFailed: true }) })], t0, { backOff });
    assert.equal(first.type, 'stopped');
    if (first.type !== 'stopped') return;
    const [app] = first.containers;
    assert.equal(app?.exit, undefined);
    assert.deepEqual(app?.pull, {
      containerId: 't1/app',
      pullFailures: 1,
      nextStartAtMs: t0 + 10_000,
      waiting: { reason: 'ErrImagePull', message: 'CannotPullContainerError: not found' },
    });
    assert.equal(first.startAtMs, t0 + 10_000);

    const second = planPodUnitActions(
      pod('Never', { app: 'nginx:nope' }),
      [slot('app', { current: run('t2', 'app', { pullFailed: true }), pullFailures: 1, decidedExitId: 't1/app' })],
      t0 + 10_000,
      { backOff },
    );
    assert.equal(second.type === 'stopped' && second.containers[0]?.pull?.waiting.reason, 'ImagePullBackOff');
    assert.equal(second.type === 'stopped' && second.startAtMs, t0 + 10_000 + 20_000);
  });

  it('terminates a deleted pod, stopping a task still being created', () => {
    const plan = planPodUnitActions(
      pod('Always', { app: 'nginx' }, { deletionTimestamp: at(0), deletionGracePeriodSeconds: 10 }),
      [slot('app', { current: run('t1', 'app', { creating: true }) })],
      t0,
      { backOff },
    );
    assert.deepEqual(plan, { type: 'terminate', graceSeconds: 10, containersToStop: [{ name: 'app', containerId: 't1/app' }] });
  });

  it('keeps a deleted task serving while a load balancer drains it (the ALB case on ECS)', () => {
    const deleted = parsePod({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web', namespace: 'default', uid: 'uid-web', deletionTimestamp: at(30), deletionGracePeriodSeconds: 30 },
      spec: { containers: [{ name: 'app', image: 'nginx' }] },
      status: { conditions: [{ type: 'target-health.skiff.io/web', status: 'False', reason: 'Draining' }] },
    });
    if ('error' in deleted) throw new Error(deleted.error);
    const plan = planPodUnitActions(deleted.view, [slot('app', { current: run('t1', 'app') })], t0, { backOff });
    assert.deepEqual(plan, { type: 'hold', untilMs: t0 + 30_000 });
  });
});

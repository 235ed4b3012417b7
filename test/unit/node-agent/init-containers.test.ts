import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ContainerSnapshot, emptySnapshot, planContainerActions } from '../../../node-agent/pod-actions.ts';
import { computePodStatus, containerReports } from '../../../node-agent/pod-status.ts';
import { type PodView, parsePod } from '../../../node-agent/pod-view.ts';
import type { ContainerRecord } from '../../../node-agent/runtime/runtime.ts';

const t0 = Date.parse('2026-01-01T12:00:00Z');

function pod(restartPolicy: 'Always' | 'OnFailure' | 'Never' = 'Always'): PodView {
  const parsed = parsePod({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'default', uid: 'uid-web' },
    spec: {
      restartPolicy,
      initContainers: [
        { name: 'migrate', image: 'busybox', command: ['true'] },
        { name: 'warm', image: 'busybox', command: ['true'] },
      ],
      containers: [{ name: 'app', image: 'nginx' }],
    },
  });
  if ('error' in parsed) throw new Error(parsed.error);
  return parsed.view;
}

function ran(name: string, exitCode?: number): ContainerSnapshot {
  const record: ContainerRecord = {
    id: `${name}-1`,
    containerID: `skiff-process://${name}-1`,
    pod: { namespace: 'default', name: 'web', uid: 'uid-web' },
    containerName: name,
    attempt: 0,
    image: 'busybox',
    imageID: 'busybox@local',
    startedAt: new Date(t0 - 5000).toISOString(),
    ...(exitCode !== undefined
      ? { exit: { exitCode, reason: exitCode === 0 ? ('Completed' as const) : ('Error' as const), finishedAt: new Date(t0 - 1000).toISOString() } }
      : {}),
  };
  return { ...emptySnapshot(name), current: record, imageID: 'busybox@local' };
}

function plannedNames(actions: ReturnType<typeof planContainerActions>): string[] {
  return actions.type === 'sync' ? actions.containers.map((plan) => `${plan.name}:${plan.action.type}`) : [actions.type];
}

describe('init containers', () => {
  it('starts the first init container alone, before anything else', () => {
    const plan = planContainerActions(pod(), [], t0);
    assert.deepEqual(plannedNames(plan), ['migrate:start']);
    assert.equal(plan.type === 'sync' && plan.initializing, true);
  });

  it('waits for a running init container, then starts the next, then the app containers', () => {
    assert.deepEqual(plannedNames(planContainerActions(pod(), [ran('migrate')], t0)), ['migrate:keep']);
    assert.deepEqual(plannedNames(planContainerActions(pod(), [ran('migrate', 0)], t0)), ['warm:start']);
    assert.deepEqual(plannedNames(planContainerActions(pod(), [ran('migrate', 0), ran('warm', 0)], t0)), ['app:start']);
  });

  it('runs a failed init container again, with the crash-loop back-off, whatever Always or OnFailure say', () => {
    for (const policy of ['Always', 'OnFailure'] as const) {
      assert.deepEqual(plannedNames(planContainerActions(pod(policy), [ran('migrate', 1)], t0)), ['migrate:start'], 'the first failure: at once');
      const again = { ...ran('migrate', 1), crashes: 1 };
      assert.deepEqual(plannedNames(planContainerActions(pod(policy), [again], t0)), ['migrate:backOff'], 'failing again: after a back-off');
    }
  });

  it('fails the pod when an init container fails under restartPolicy Never', () => {
    const view = pod('Never');
    const snapshots = [ran('migrate', 3)];
    assert.deepEqual(plannedNames(planContainerActions(view, snapshots, t0)), ['migrate:done']);
    const status = computePodStatus(
      view,
      containerReports(view, snapshots, true),
      { hostIP: '127.0.0.1', now: '2026-01-01T12:00:00Z' },
      containerReports(view, snapshots, true, 'initContainers'),
    );
    assert.equal(status.phase, 'Failed');
  });

  it('reports Init progress as the kubelet does: Pending, Initialized False, apps PodInitializing', () => {
    const view = pod();
    const snapshots = [ran('migrate', 0), ran('warm')];
    const status = computePodStatus(
      view,
      containerReports(view, snapshots, true),
      { hostIP: '127.0.0.1', now: '2026-01-01T12:00:00Z' },
      containerReports(view, snapshots, true, 'initContainers'),
    ) as {
      phase: string;
      conditions: { type: string; status: string; reason?: string; message?: string }[];
      initContainerStatuses: { name: string; ready: boolean; state: Record<string, unknown> }[];
      containerStatuses: { state: { waiting?: { reason: string } } }[];
    };
    assert.equal(status.phase, 'Pending');
    const initializedCondition = status.conditions.find((c) => c.type === 'Initialized');
    assert.deepEqual(
      { status: initializedCondition?.status, reason: initializedCondition?.reason, message: initializedCondition?.message },
      { status: 'False', reason: 'ContainersNotInitialized', message: 'containers with incomplete status: [warm]' },
    );
    assert.deepEqual(
      status.initContainerStatuses.map((s) => [s.name, s.ready, Object.keys(s.state)[0]]),
      [
        ['migrate', true, 'terminated'],
        ['warm', false, 'running'],
      ],
    );
    assert.equal(status.containerStatuses[0]?.state.waiting?.reason, 'PodInitializing');
  });
});

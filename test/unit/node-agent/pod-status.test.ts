import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ContainerSnapshot, emptySnapshot } from '../../../node-agent/pod-actions.ts';
import { type ContainerReport, type ContainerState, computePodStatus, containerReports, podPhase, statusDigest } from '../../../node-agent/pod-status.ts';
import { type PodView, parsePod } from '../../../node-agent/pod-view.ts';
import type { ProbeKind, ProbeResult } from '../../../node-agent/probe-state.ts';
import type { ContainerRecord } from '../../../node-agent/runtime/runtime.ts';

const running: ContainerState = { running: { startedAt: '2026-01-01T00:00:00Z' } };
const waiting: ContainerState = { waiting: { reason: 'ContainerCreating' } };
const backOff: ContainerState = { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 10s' } };
const exited = (exitCode: number): ContainerState => ({
  terminated: { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', startedAt: '2026-01-01T00:00:00Z', finishedAt: '2026-01-01T00:00:01Z' },
});

function report(name: string, state: ContainerState, extra: Partial<ContainerReport> = {}): ContainerReport {
  return { name, image: 'nginx', imageID: 'nginx@sha256:1', state, ready: 'running' in state, started: 'running' in state, restartCount: 0, ...extra };
}

function pod(restartPolicy = 'Always', conditions: unknown[] = [], readinessGates: string[] = []): PodView {
  const parsed = parsePod({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'default', uid: 'u' },
    spec: {
      restartPolicy,
      ...(readinessGates.length > 0 ? { readinessGates: readinessGates.map((conditionType) => ({ conditionType })) } : {}),
      containers: [
        { name: 'a', image: 'nginx' },
        { name: 'b', image: 'nginx' },
      ],
    },
    status: { conditions },
  });
  if ('error' in parsed) throw new Error(parsed.error);
  return parsed.view;
}

describe('podPhase', () => {
  const table: [string, 'Always' | 'OnFailure' | 'Never', ContainerReport[], string][] = [
    ['a container still being created', 'Always', [report('a', running), report('b', waiting)], 'Pending'],
    ['all containers running', 'Always', [report('a', running), report('b', running)], 'Running'],
    ['a crash-looping container that ran before', 'Always', [report('a', running), report('b', backOff, { lastState: exited(1) })], 'Running'],
    ['all exited 0 under Never', 'Never', [report('a', exited(0)), report('b', exited(0))], 'Succeeded'],
    ['one exited 1 under Never', 'Never', [report('a', exited(0)), report('b', exited(1))], 'Failed'],
    ['one exited 1 under OnFailure (to be restarted)', 'OnFailure', [report('a', exited(0)), report('b', exited(1))], 'Running'],
    ['all exited 0 under OnFailure', 'OnFailure', [report('a', exited(0)), report('b', exited(0))], 'Succeeded'],
    ['exited under Always', 'Always', [report('a', exited(0)), report('b', exited(0))], 'Running'],
  ];
  for (const [what, policy, reports, phase] of table) {
    it(`is ${phase} with ${what}`, () => assert.equal(podPhase(policy, reports), phase));
  }
});

describe('computePodStatus', () => {
  const facts = { hostIP: '127.0.1.1', podIP: '127.64.1.2', startTime: '2026-01-01T00:00:00Z', now: '2026-01-01T00:01:00Z' };

  it('reports a fully running pod as Ready with its addresses and container statuses', () => {
    const status = computePodStatus(pod(), [report('a', running), report('b', running)], facts) as Record<string, unknown>;
    assert.equal(status.phase, 'Running');
    assert.equal(status.podIP, '127.64.1.2');
    assert.deepEqual(status.podIPs, [{ ip: '127.64.1.2' }]);
    assert.equal(status.hostIP, '127.0.1.1');
    assert.equal(status.startTime, '2026-01-01T00:00:00Z');
    const conditions = status.conditions as { type: string; status: string }[];
    for (const type of ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready']) {
      assert.equal(conditions.find((c) => c.type === type)?.status, 'True', type);
    }
    const statuses = status.containerStatuses as Record<string, unknown>[];
    assert.deepEqual(
      statuses.map((s) => s.name),
      ['a', 'b'],
    );
    assert.deepEqual(statuses[0]?.lastState, {});
  });

  it('names the unready containers in the Ready condition', () => {
    const status = computePodStatus(pod(), [report('a', running), report('b', running, { ready: false })], facts) as Record<string, unknown>;
    const ready = (status.conditions as { type: string; status: string; reason?: string; message?: string }[]).find((c) => c.type === 'Ready');
    assert.equal(ready?.status, 'False');
    assert.equal(ready?.reason, 'ContainersNotReady');
    assert.equal(ready?.message, 'containers with unready status: [b]');
  });

  it('keeps a condition transition time while its status does not change', () => {
    const before = [{ type: 'Ready', status: 'True', lastTransitionTime: '2025-12-31T00:00:00Z' }];
    const status = computePodStatus(pod('Always', before), [report('a', running), report('b', running)], facts) as Record<string, unknown>;
    const conditions = status.conditions as { type: string; lastTransitionTime: string }[];
    assert.equal(conditions.find((c) => c.type === 'Ready')?.lastTransitionTime, '2025-12-31T00:00:00Z');
    assert.equal(conditions.find((c) => c.type === 'ContainersReady')?.lastTransitionTime, facts.now);
  });

  describe('with readiness gates', () => {
    const gate = 'target-health.skiff.io/web';
    const readyOf = (status: unknown) =>
      (status as { conditions: { type: string; status: string; reason?: string; message?: string }[] }).conditions.find((c) => c.type === 'Ready');
    const all = [report('a', running), report('b', running)];

    it('is not Ready while the gate condition does not exist, though its containers are', () => {
      const status = computePodStatus(pod('Always', [], [gate]), all, facts) as Record<string, unknown>;
      assert.deepEqual(readyOf(status), {
        type: 'Ready',
        status: 'False',
        lastProbeTime: null,
        lastTransitionTime: facts.now,
        reason: 'ReadinessGatesNotReady',
        message: `corresponding condition of pod readiness gate "${gate}" does not exist.`,
      });
      const containersReady = (status.conditions as { type: string; status: string }[]).find((c) => c.type === 'ContainersReady');
      assert.equal(containersReady?.status, 'True');
    });

    it('is not Ready while the gate condition is False, and says so as the kubelet does', () => {
      const status = computePodStatus(pod('Always', [{ type: gate, status: 'False', reason: 'Registering' }], [gate]), all, facts);
      assert.equal(readyOf(status)?.message, `the status of pod readiness gate "${gate}" is not "True", but False`);
    });

    it('is Ready once the gate condition is True, and keeps that condition as its owner wrote it', () => {
      const owned = { type: gate, status: 'True', reason: 'Healthy', message: 'healthy in every target group', lastTransitionTime: '2026-01-01T00:00:30Z' };
      const status = computePodStatus(pod('Always', [owned], [gate]), all, facts) as Record<string, unknown>;
      assert.equal(readyOf(status)?.status, 'True');
      assert.deepEqual(
        (status.conditions as { type: string }[]).find((c) => c.type === gate),
        owned,
      );
    });

    it('reports unready containers before gates', () => {
      const status = computePodStatus(pod('Always', [], [gate]), [report('a', running), report('b', running, { ready: false })], facts);
      assert.equal(readyOf(status)?.reason, 'ContainersNotReady');
    });
  });

  it('keeps conditions other components own (a pod without gates stays Ready)', () => {
    const foreign = { type: 'target-health.skiff.io/lb', status: 'True', reason: 'Healthy' };
    const status = computePodStatus(pod('Always', [foreign]), [report('a', running), report('b', running)], facts) as Record<string, unknown>;
    const conditions = status.conditions as { type: string; status: string }[];
    assert.equal(conditions.find((c) => c.type === 'Ready')?.status, 'True');
    assert.equal(conditions.find((c) => c.type === foreign.type)?.status, 'True');
    assert.equal(conditions.length, 6);
  });

  it('marks a completed pod not ready with reason PodCompleted', () => {
    const status = computePodStatus(pod('Never'), [report('a', exited(0)), report('b', exited(0))], facts) as Record<string, unknown>;
    assert.equal(status.phase, 'Succeeded');
    const ready = (status.conditions as { type: string; status: string; reason?: string }[]).find((c) => c.type === 'Ready');
    assert.deepEqual([ready?.status, ready?.reason], ['False', 'PodCompleted']);
  });
});

describe('statusDigest', () => {
  const facts = { hostIP: '127.0.1.1', podIP: '127.64.1.2', startTime: '2026-01-01T00:00:00Z', now: '2026-01-01T00:01:00Z' };
  const ours = computePodStatus(pod(), [report('a', running), report('b', running)], facts);

  it('ignores formatting and timestamps', () => {
    const reformatted = JSON.parse(JSON.stringify({ ...ours, qosClass: undefined, hostIPs: undefined, startTime: 'later' }));
    assert.equal(statusDigest(reformatted), statusDigest(ours));
  });

  it('notices a Ready condition someone else set to False', () => {
    const marked = {
      ...ours,
      conditions: (ours.conditions as { type: string; status: string }[]).map((c) => (c.type === 'Ready' ? { ...c, status: 'False' } : c)),
    };
    assert.notEqual(statusDigest(marked), statusDigest(ours));
  });
});

describe('containerReports', () => {
  const probe = { exec: { command: ['true'] } };
  const probed = (() => {
    const parsed = parsePod({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'default', uid: 'u' },
      spec: { containers: [{ name: 'a', image: 'nginx', readinessProbe: probe, startupProbe: probe }] },
    });
    if ('error' in parsed) throw new Error(parsed.error);
    return parsed.view;
  })();
  const record = (id: string, exitCode?: number): ContainerRecord => ({
    id,
    containerID: `skiff-process://${id}`,
    pod: { namespace: 'default', name: 'p', uid: 'u' },
    containerName: 'a',
    attempt: 0,
    image: 'nginx',
    imageID: 'nginx@local',
    startedAt: '2026-01-01T00:00:00.250Z',
    ...(exitCode !== undefined ? { exit: { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', finishedAt: '2026-01-01T00:00:05.500Z' } } : {}),
  });
  const terminated = (id: string, exitCode: number): ContainerState => ({
    terminated: {
      exitCode,
      reason: exitCode === 0 ? 'Completed' : 'Error',
      startedAt: '2026-01-01T00:00:00Z',
      finishedAt: '2026-01-01T00:00:05Z',
      containerID: `skiff-process://${id}`,
    },
  });
  const snapshot = (extra: Partial<ContainerSnapshot>, results: Partial<Record<ProbeKind, ProbeResult>> = {}): ContainerSnapshot => {
    const base = emptySnapshot('a');
    const probes = { ...base.probes };
    for (const [kind, result] of Object.entries(results) as [ProbeKind, ProbeResult][]) probes[kind] = { ...probes[kind], result };
    return { ...base, imageID: 'nginx@local', ...extra, probes };
  };
  const runningState: ContainerState = { running: { startedAt: '2026-01-01T00:00:00Z' } };

  const table: {
    it: string;
    containers: ContainerSnapshot[];
    probesRun?: boolean;
    expect: Pick<ContainerReport, 'state' | 'ready' | 'started'> & Partial<ContainerReport>;
  }[] = [
    {
      it: 'waits in ContainerCreating before the first run',
      containers: [],
      expect: { state: { waiting: { reason: 'ContainerCreating' } }, ready: false, started: false, imageID: '' },
    },
    {
      it: 'is running, not started and not ready until the startup probe succeeds',
      containers: [snapshot({ current: record('c1') }, { readiness: 'success' })],
      expect: { state: runningState, ready: false, started: false, containerID: 'skiff-process://c1' },
    },
    {
      it: 'is started but not ready while the readiness probe fails',
      containers: [snapshot({ current: record('c1') }, { startup: 'success', readiness: 'failure' })],
      expect: { state: runningState, ready: false, started: true },
    },
    {
      it: 'is ready once started and passing its readiness probe',
      containers: [snapshot({ current: record('c1') }, { startup: 'success', readiness: 'success' })],
      expect: { state: runningState, ready: true, started: true },
    },
    {
      it: 'is not ready while it is being stopped',
      containers: [snapshot({ current: record('c1'), killing: true }, { startup: 'success', readiness: 'success' })],
      expect: { state: runningState, ready: false, started: true },
    },
    {
      it: 'counts the probes as passed on a runtime with nothing to probe',
      containers: [snapshot({ current: record('c1') })],
      probesRun: false,
      expect: { state: runningState, ready: true, started: true },
    },
    {
      it: 'shows the run before a restart as lastState',
      containers: [snapshot({ current: record('c2'), previous: record('c1', 1), restartCount: 1 }, { startup: 'success', readiness: 'success' })],
      expect: { state: runningState, lastState: terminated('c1', 1), ready: true, started: true, restartCount: 1 },
    },
    {
      it: 'waits in CrashLoopBackOff with the crashed run as lastState',
      containers: [snapshot({ current: record('c2', 1), previous: record('c1', 1), waiting: { reason: 'CrashLoopBackOff', message: 'back-off 10s' } })],
      expect: { state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 10s' } }, lastState: terminated('c2', 1), ready: false, started: false },
    },
    {
      it: 'is terminated when it will not be restarted, with the run before as lastState',
      containers: [snapshot({ current: record('c2', 0), previous: record('c1', 1) })],
      expect: { state: terminated('c2', 0), lastState: terminated('c1', 1), ready: false, started: false },
    },
  ];
  for (const row of table) {
    it(row.it, () => {
      const [report] = containerReports(probed, row.containers, row.probesRun ?? true);
      const { state, ready, started, lastState, containerID, restartCount, imageID } = report ?? ({} as ContainerReport);
      assert.deepEqual(
        { state, ready, started, lastState, containerID, restartCount, imageID },
        { lastState: undefined, containerID: row.containers[0]?.current?.containerID, restartCount: 0, imageID: 'nginx@local', ...row.expect },
      );
    });
  }
});

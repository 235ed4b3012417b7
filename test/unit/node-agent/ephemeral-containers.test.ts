/**
 * Ephemeral containers (`kubectl debug`) on the node, as the kubelet runs them: planned apart
 * from the pod's own containers (started at once, even during init; never restarted, never
 * killed for a changed definition), and reported in `ephemeralContainerStatuses` without
 * touching the pod's phase or readiness.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ContainerSnapshot, emptySnapshot, planContainerActions } from '../../../node-agent/pod-actions.ts';
import { computePodStatus, containerReports } from '../../../node-agent/pod-status.ts';
import { type PodView, parsePod } from '../../../node-agent/pod-view.ts';
import type { ContainerRecord } from '../../../node-agent/runtime/runtime.ts';

const t0 = Date.parse('2026-01-01T12:00:00Z');
const at = (seconds: number) => new Date(t0 + seconds * 1000).toISOString();

function pod(options: { restartPolicy?: string; initContainers?: unknown[]; ephemeralImage?: string } = {}): PodView {
  const parsed = parsePod({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'default', uid: 'uid-web' },
    spec: {
      restartPolicy: options.restartPolicy ?? 'Always',
      ...(options.initContainers ? { initContainers: options.initContainers } : {}),
      containers: [{ name: 'app', image: 'nginx' }],
      ephemeralContainers: [{ name: 'debugger', image: options.ephemeralImage ?? 'busybox', command: ['sh'], targetContainerName: 'app' }],
    },
  });
  if ('error' in parsed) throw new Error(parsed.error);
  return parsed.view;
}

function run(name: string, options: { image?: string; exitCode?: number } = {}): ContainerRecord {
  return {
    id: `${name}-1`,
    containerID: `skiff-process://${name}-1`,
    pod: { namespace: 'default', name: 'web', uid: 'uid-web' },
    containerName: name,
    attempt: 0,
    image: options.image ?? 'busybox',
    imageID: `${options.image ?? 'busybox'}@local`,
    startedAt: at(-10),
    ...(options.exitCode !== undefined
      ? { exit: { exitCode: options.exitCode, reason: options.exitCode === 0 ? ('Completed' as const) : ('Error' as const), finishedAt: at(-5) } }
      : {}),
  };
}

const snapshot = (name: string, extra: Partial<ContainerSnapshot> = {}): ContainerSnapshot => ({ ...emptySnapshot(name), ...extra });

function actions(view: PodView, containers: readonly ContainerSnapshot[]): Record<string, string> {
  const plan = planContainerActions(view, containers, t0);
  assert.equal(plan.type, 'sync');
  return Object.fromEntries((plan.type === 'sync' ? plan.containers : []).map((entry) => [entry.name, entry.action.type]));
}

describe('planning ephemeral containers', () => {
  it('starts one that has not run, next to the app containers', () => {
    assert.deepEqual(actions(pod(), [snapshot('app', { current: run('app', { image: 'nginx' }) })]), { app: 'keep', debugger: 'start' });
  });

  it('starts one while an init container still runs', () => {
    const view = pod({ initContainers: [{ name: 'setup', image: 'busybox' }] });
    assert.deepEqual(actions(view, [snapshot('setup', { current: run('setup') })]), { setup: 'keep', debugger: 'start' });
  });

  it('never restarts one that exited, whatever the restart policy and exit code', () => {
    for (const exitCode of [0, 1]) {
      const containers = [snapshot('app', { current: run('app', { image: 'nginx' }) }), snapshot('debugger', { current: run('debugger', { exitCode }) })];
      assert.deepEqual(actions(pod({ restartPolicy: 'Always' }), containers), { app: 'keep', debugger: 'done' });
    }
  });

  it('keeps one running even when its image differs from the spec', () => {
    const containers = [snapshot('app', { current: run('app', { image: 'nginx' }) }), snapshot('debugger', { current: run('debugger', { image: 'alpine' }) })];
    assert.deepEqual(actions(pod(), containers), { app: 'keep', debugger: 'keep' });
  });

  it('waits out the back-off of a start that failed (an image that could not be pulled)', () => {
    const plan = planContainerActions(
      pod(),
      [snapshot('app', { current: run('app', { image: 'nginx' }) }), snapshot('debugger', { nextStartAtMs: t0 + 5000 })],
      t0,
    );
    assert.equal(plan.type, 'sync');
    if (plan.type !== 'sync') return;
    assert.deepEqual(plan.containers.find((entry) => entry.name === 'debugger')?.action, { type: 'wait', untilMs: t0 + 5000 });
    assert.equal(plan.wakeAtMs, t0 + 5000);
  });

  it('stops a running one with the pod', () => {
    const view = { ...pod(), metadata: { ...pod().metadata, deletionTimestamp: at(30) } };
    const plan = planContainerActions(
      view,
      [snapshot('app', { current: run('app', { image: 'nginx' }) }), snapshot('debugger', { current: run('debugger') })],
      t0,
    );
    assert.equal(plan.type, 'terminate');
    if (plan.type !== 'terminate') return;
    assert.deepEqual(
      plan.containersToStop.map((entry) => entry.name),
      ['app', 'debugger'],
    );
  });
});

describe('reporting ephemeral containers', () => {
  const facts = { hostIP: '10.0.0.1', podIP: '10.1.0.5', now: at(0) };

  it('reports waiting, running and terminated in ephemeralContainerStatuses, never ready', () => {
    const view = pod();
    const app = snapshot('app', { current: run('app', { image: 'nginx' }) });
    const states = [
      snapshot('debugger'),
      snapshot('debugger', { current: run('debugger') }),
      snapshot('debugger', { current: run('debugger', { exitCode: 0 }) }),
    ];
    const seen = states.map((debuggerSnapshot) => {
      const snapshots = [app, debuggerSnapshot];
      const status = computePodStatus(view, containerReports(view, snapshots, true), facts, [], containerReports(view, snapshots, true, 'ephemeralContainers'));
      const [entry] = status.ephemeralContainerStatuses as { name: string; ready: boolean; state: Record<string, unknown> }[];
      assert.equal(entry?.name, 'debugger');
      assert.equal(entry?.ready, false);
      // The pod's phase and readiness are its own containers' alone.
      assert.equal(status.phase, 'Running');
      assert.deepEqual(
        (status.conditions as { type: string; status: string }[]).filter((c) => c.type === 'Ready').map((c) => c.status),
        ['True'],
      );
      return Object.keys(entry?.state ?? {})[0];
    });
    assert.deepEqual(seen, ['waiting', 'running', 'terminated']);
  });

  it('writes no ephemeralContainerStatuses for a pod without ephemeral containers', () => {
    const parsed = parsePod({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web', namespace: 'default', uid: 'uid-web' },
      spec: { containers: [{ name: 'app', image: 'nginx' }] },
    });
    if ('error' in parsed) throw new Error(parsed.error);
    const view = parsed.view;
    const snapshots = [snapshot('app', { current: run('app', { image: 'nginx' }) })];
    const status = computePodStatus(view, containerReports(view, snapshots, true), facts, [], containerReports(view, snapshots, true, 'ephemeralContainers'));
    assert.equal('ephemeralContainerStatuses' in status, false);
  });
});

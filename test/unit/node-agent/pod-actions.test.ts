import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kubeletBackOff } from '../../../node-agent/back-off.ts';
import { type ContainerSnapshot, emptySnapshot, formatDuration, type PodActions, planContainerActions } from '../../../node-agent/pod-actions.ts';
import { type PodView, parsePod } from '../../../node-agent/pod-view.ts';
import type { ProbeKind, ProbeResult } from '../../../node-agent/probe-state.ts';
import type { ContainerRecord } from '../../../node-agent/runtime/runtime.ts';

const t0 = Date.parse('2026-01-01T12:00:00Z');
const at = (seconds: number) => new Date(t0 + seconds * 1000).toISOString();
const probe = { httpGet: { path: '/', port: 80 } };

function pod(
  options: { restartPolicy?: string; containers?: unknown[]; metadata?: Record<string, unknown>; grace?: number; conditions?: unknown[] } = {},
): PodView {
  const parsed = parsePod({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'default', uid: 'uid-web', ...options.metadata },
    spec: {
      restartPolicy: options.restartPolicy ?? 'Always',
      ...(options.grace !== undefined ? { terminationGracePeriodSeconds: options.grace } : {}),
      containers: options.containers ?? [{ name: 'app', image: 'nginx', livenessProbe: probe, readinessProbe: probe, startupProbe: probe }],
    },
    ...(options.conditions ? { status: { conditions: options.conditions } } : {}),
  });
  if ('error' in parsed) throw new Error(parsed.error);
  return parsed.view;
}

/** A run of `app` that started at `startedAt` seconds and, with `exitCode`, exited `ranSeconds` later. */
function run(id: string, options: { image?: string; startedAt?: number; exitCode?: number; ranSeconds?: number } = {}): ContainerRecord {
  const startedAt = options.startedAt ?? -60;
  return {
    id,
    containerID: `skiff-process://${id}`,
    pod: { namespace: 'default', name: 'web', uid: 'uid-web' },
    containerName: 'app',
    attempt: 0,
    image: options.image ?? 'nginx',
    imageID: `${options.image ?? 'nginx'}@local`,
    startedAt: at(startedAt),
    ...(options.exitCode !== undefined
      ? {
          exit: {
            exitCode: options.exitCode,
            reason: options.exitCode === 0 ? ('Completed' as const) : ('Error' as const),
            finishedAt: at(startedAt + (options.ranSeconds ?? 1)),
          },
        }
      : {}),
  };
}

function app(snapshot: Partial<ContainerSnapshot> & { results?: Partial<Record<ProbeKind, ProbeResult>> } = {}): ContainerSnapshot {
  const { results = {}, ...rest } = snapshot;
  const base = emptySnapshot('app');
  const probes = { ...base.probes };
  for (const [kind, result] of Object.entries(results) as [ProbeKind, ProbeResult][]) probes[kind] = { ...probes[kind], result };
  return { ...base, ...rest, probes };
}

interface Row {
  readonly it: string;
  readonly pod?: PodView;
  readonly containers: readonly ContainerSnapshot[];
  readonly podGone?: boolean;
  readonly expect: PodActions;
}

const crashLoop = (delay: string) => `back-off ${delay} restarting failed container=app pod=web_default(uid-web)`;
const kill = (message: string, resetBackOff: boolean) => ({ type: 'kill' as const, containerId: 'c1', graceSeconds: 30, message, resetBackOff });

const rows: readonly Row[] = [
  // Starting and keeping.
  { it: 'starts a container that never ran', containers: [], expect: { type: 'sync', containers: [{ name: 'app', action: { type: 'start' } }] } },
  {
    it: 'keeps a running container whose probes pass',
    containers: [app({ current: run('c1'), results: { startup: 'success', readiness: 'success' } })],
    expect: { type: 'sync', containers: [{ name: 'app', action: { type: 'keep' } }] },
  },
  {
    it: 'keeps a running container that is not ready: readiness never restarts',
    containers: [app({ current: run('c1'), results: { startup: 'success', readiness: 'failure' } })],
    expect: { type: 'sync', containers: [{ name: 'app', action: { type: 'keep' } }] },
  },
  {
    it: 'waits out an image pull back-off of a container that never ran',
    containers: [app({ nextStartAtMs: t0 + 4000, waiting: { reason: 'ImagePullBackOff' } })],
    expect: { type: 'sync', containers: [{ name: 'app', action: { type: 'wait', untilMs: t0 + 4000 } }], wakeAtMs: t0 + 4000 },
  },
  {
    it: 'starts a container whose pull back-off is over',
    containers: [app({ nextStartAtMs: t0 - 1, waiting: { reason: 'ImagePullBackOff' } })],
    expect: { type: 'sync', containers: [{ name: 'app', action: { type: 'start' } }] },
  },

  // Restart policy, on the first exit (no back-off yet).
  ...(
    [
      ['Always', 0, 'start'],
      ['Always', 1, 'start'],
      ['OnFailure', 0, 'done'],
      ['OnFailure', 1, 'start'],
      ['Never', 0, 'done'],
      ['Never', 1, 'done'],
    ] as const
  ).map(
    ([restartPolicy, exitCode, type]): Row => ({
      it: `${type === 'start' ? 'restarts at once' : 'leaves down'} a container that exited ${exitCode} under restartPolicy ${restartPolicy}`,
      pod: pod({ restartPolicy }),
      containers: [app({ current: run('c1', { exitCode }) })],
      expect: { type: 'sync', containers: [{ name: 'app', exit: { containerId: 'c1', crashes: 1, nextStartAtMs: t0 }, action: { type } }] },
    }),
  ),

  // Crash-loop back-off windows: the crash count before this exit, the delay it gets.
  ...(
    [
      ['backs off 10s after the second crash in a row, entering CrashLoopBackOff', 1, 10, '10s'],
      ['doubles the back-off to 1m20s after the fifth crash', 4, 80, '1m20s'],
      ['caps the back-off at 5m0s', 8, 300, '5m0s'],
    ] as const
  ).map(([what, crashes, delaySeconds, delayText]): Row => {
    const untilMs = t0 + delaySeconds * 1000;
    return {
      it: what,
      containers: [app({ current: run(`c${crashes + 1}`, { exitCode: 1 }), crashes, decidedExitId: `c${crashes}`, restartCount: crashes })],
      expect: {
        type: 'sync',
        containers: [
          {
            name: 'app',
            exit: { containerId: `c${crashes + 1}`, crashes: crashes + 1, nextStartAtMs: untilMs },
            action: { type: 'backOff', untilMs, waiting: { reason: 'CrashLoopBackOff', message: crashLoop(delayText) }, entering: true },
          },
        ],
        wakeAtMs: untilMs,
      },
    };
  }),
  {
    it: 'forgets earlier crashes of a container that ran for twice the maximum back-off, and restarts it at once',
    containers: [app({ current: run('c3', { exitCode: 1, startedAt: -700, ranSeconds: 600 }), crashes: 6, decidedExitId: 'c2' })],
    expect: { type: 'sync', containers: [{ name: 'app', exit: { containerId: 'c3', crashes: 1, nextStartAtMs: t0 }, action: { type: 'start' } }] },
  },
  {
    it: 'stays in CrashLoopBackOff inside the window without a new BackOff event',
    containers: [
      app({
        current: run('c2', { exitCode: 1 }),
        crashes: 2,
        decidedExitId: 'c2',
        nextStartAtMs: t0 + 3000,
        waiting: { reason: 'CrashLoopBackOff', message: crashLoop('10s') },
      }),
    ],
    expect: {
      type: 'sync',
      containers: [
        { name: 'app', action: { type: 'backOff', untilMs: t0 + 3000, waiting: { reason: 'CrashLoopBackOff', message: crashLoop('10s') }, entering: false } },
      ],
      wakeAtMs: t0 + 3000,
    },
  },
  {
    it: 'restarts a crash-looping container once its window is over',
    containers: [app({ current: run('c2', { exitCode: 1 }), crashes: 2, decidedExitId: 'c2', nextStartAtMs: t0, waiting: { reason: 'CrashLoopBackOff' } })],
    expect: { type: 'sync', containers: [{ name: 'app', action: { type: 'start' } }] },
  },
  {
    it: 'leaves down a container that completed under OnFailure after earlier crashes, counting the exit',
    pod: pod({ restartPolicy: 'OnFailure' }),
    containers: [app({ current: run('c2', { exitCode: 0 }), crashes: 1, decidedExitId: 'c1' })],
    expect: { type: 'sync', containers: [{ name: 'app', exit: { containerId: 'c2', crashes: 2, nextStartAtMs: t0 + 10_000 }, action: { type: 'done' } }] },
  },

  // Stopping a running container.
  {
    it: 'kills a container whose image was changed in place, resetting its back-off',
    containers: [app({ current: run('c1', { image: 'httpd' }), crashes: 3, results: { startup: 'success' } })],
    expect: { type: 'sync', containers: [{ name: 'app', action: kill('Container app definition changed, will be restarted', true) }] },
  },
  {
    it: 'kills a container whose liveness probe failed',
    containers: [app({ current: run('c1'), results: { startup: 'success', liveness: 'failure' } })],
    expect: { type: 'sync', containers: [{ name: 'app', action: kill('Container app failed liveness probe, will be restarted', false) }] },
  },
  {
    it: 'kills a container whose startup probe failed',
    containers: [app({ current: run('c1'), results: { startup: 'failure' } })],
    expect: { type: 'sync', containers: [{ name: 'app', action: kill('Container app failed startup probe, will be restarted', false) }] },
  },
  {
    it: 'names a changed definition before a failed liveness probe, as the kubelet does',
    containers: [app({ current: run('c1', { image: 'httpd' }), results: { startup: 'success', liveness: 'failure' } })],
    expect: { type: 'sync', containers: [{ name: 'app', action: kill('Container app definition changed, will be restarted', true) }] },
  },
  {
    it: 'does not kill twice while a stop is under way',
    containers: [app({ current: run('c1', { image: 'httpd' }), killing: true, results: { liveness: 'failure' } })],
    expect: { type: 'sync', containers: [{ name: 'app', action: { type: 'keep' } }] },
  },
  {
    it: 'uses the pod’s terminationGracePeriodSeconds for a kill',
    pod: pod({ grace: 7, containers: [{ name: 'app', image: 'nginx', livenessProbe: probe }] }),
    containers: [app({ current: run('c1'), results: { liveness: 'failure' } })],
    expect: {
      type: 'sync',
      containers: [{ name: 'app', action: { ...kill('Container app failed liveness probe, will be restarted', false), graceSeconds: 7 } }],
    },
  },

  // Several containers: each planned on its own, woken at the earliest end of a wait.
  {
    it: 'plans each container of the spec in order and wakes at the earliest back-off end',
    pod: pod({
      containers: [
        { name: 'app', image: 'nginx' },
        { name: 'sidecar', image: 'busybox' },
        { name: 'new', image: 'busybox' },
      ],
    }),
    containers: [
      app({ current: run('c2', { exitCode: 1 }), crashes: 2, decidedExitId: 'c2', nextStartAtMs: t0 + 9000, waiting: { reason: 'CrashLoopBackOff' } }),
      { ...emptySnapshot('sidecar'), nextStartAtMs: t0 + 4000 },
    ],
    expect: {
      type: 'sync',
      containers: [
        { name: 'app', action: { type: 'backOff', untilMs: t0 + 9000, waiting: { reason: 'CrashLoopBackOff', message: crashLoop('10s') }, entering: false } },
        { name: 'sidecar', action: { type: 'wait', untilMs: t0 + 4000 } },
        { name: 'new', action: { type: 'start' } },
      ],
      wakeAtMs: t0 + 4000,
    },
  },

  // Deletion.
  {
    it: 'stops the running containers of a deleted pod with the deletion grace period',
    pod: pod({ grace: 30, metadata: { deletionTimestamp: at(0), deletionGracePeriodSeconds: 5 } }),
    containers: [app({ current: run('c1') })],
    expect: { type: 'terminate', graceSeconds: 5, containersToStop: [{ name: 'app', containerId: 'c1' }] },
  },
  {
    it: 'falls back to terminationGracePeriodSeconds when the deletion names none',
    pod: pod({ grace: 12, metadata: { deletionTimestamp: at(0) } }),
    containers: [app({ current: run('c1', { exitCode: 0 }) })],
    expect: { type: 'terminate', graceSeconds: 12, containersToStop: [] },
  },
  {
    it: 'keeps a deleted pod serving while a load balancer still routes to it, at most until its deletion timestamp',
    pod: pod({ grace: 30, metadata: { deletionTimestamp: at(30) }, conditions: [{ type: 'target-health.skiff.io/web', status: 'True', reason: 'Healthy' }] }),
    containers: [app({ current: run('c1') })],
    expect: { type: 'hold', untilMs: t0 + 30_000 },
  },
  {
    it: 'keeps holding while the load balancer drains it',
    pod: pod({
      grace: 30,
      metadata: { deletionTimestamp: at(30) },
      conditions: [{ type: 'target-health.skiff.io/ingress.skiff', status: 'False', reason: 'Draining' }],
    }),
    containers: [app({ current: run('c1') })],
    expect: { type: 'hold', untilMs: t0 + 30_000 },
  },
  {
    it: 'stops a drained pod with what is left of its grace period',
    pod: pod({
      grace: 30,
      metadata: { deletionTimestamp: at(9.5) },
      conditions: [{ type: 'target-health.skiff.io/web', status: 'False', reason: 'Deregistered' }],
    }),
    containers: [app({ current: run('c1') })],
    expect: { type: 'terminate', graceSeconds: 10, containersToStop: [{ name: 'app', containerId: 'c1' }] },
  },
  {
    it: 'stops a pod whose load balancer never let go once its deletion timestamp passed, SIGTERM still getting 2 s',
    pod: pod({ grace: 30, metadata: { deletionTimestamp: at(0) }, conditions: [{ type: 'target-health.skiff.io/web', status: 'True', reason: 'Healthy' }] }),
    containers: [app({ current: run('c1') })],
    expect: { type: 'terminate', graceSeconds: 2, containersToStop: [{ name: 'app', containerId: 'c1' }] },
  },
  {
    it: 'does not hold a pod gone from the API',
    podGone: true,
    pod: pod({ grace: 30, metadata: { deletionTimestamp: at(30) }, conditions: [{ type: 'target-health.skiff.io/web', status: 'True', reason: 'Healthy' }] }),
    containers: [app({ current: run('c1') })],
    expect: { type: 'terminate', graceSeconds: 30, containersToStop: [{ name: 'app', containerId: 'c1' }] },
  },
  {
    it: 'stops everything of a pod gone from the API, also a run of a container no longer in the spec',
    podGone: true,
    containers: [app({ current: run('c1') }), { ...emptySnapshot('old'), current: { ...run('c0'), containerName: 'old' } }],
    expect: {
      type: 'terminate',
      graceSeconds: 30,
      containersToStop: [
        { name: 'app', containerId: 'c1' },
        { name: 'old', containerId: 'c0' },
      ],
    },
  },
];

describe('planContainerActions', () => {
  for (const row of rows) {
    it(row.it, () => {
      const actions = planContainerActions(row.pod ?? pod(), row.containers, t0, { backOff: kubeletBackOff, ...(row.podGone ? { podGone: true } : {}) });
      assert.deepEqual(actions, row.expect);
    });
  }

  it('plans the same from the same inputs: it reads no clock of its own', () => {
    const containers = [app({ current: run('c2', { exitCode: 1 }), crashes: 1, decidedExitId: 'c1' })];
    assert.deepEqual(planContainerActions(pod(), containers, t0), planContainerActions(pod(), containers, t0));
    const later = planContainerActions(pod(), containers, t0 + 60_000);
    assert.equal(later.type === 'sync' && later.wakeAtMs, t0 + 70_000);
  });
});

describe('formatDuration', () => {
  const table: [number, string][] = [
    [0, '0s'],
    [10, '10s'],
    [59, '59s'],
    [60, '1m0s'],
    [80, '1m20s'],
    [300, '5m0s'],
  ];
  for (const [seconds, text] of table) it(`writes ${seconds} seconds as ${text}`, () => assert.equal(formatDuration(seconds), text));
});

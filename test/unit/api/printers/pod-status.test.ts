import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { printPod } from '../../../../functions/api/printers/pod-printer.ts';
import type { KubeObject } from '../../../../schemas/meta.ts';

const now = new Date('2026-01-10T12:00:00Z');

function pod(spec: Record<string, unknown>, status: Record<string, unknown>, metadata: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p1', namespace: 'default', creationTimestamp: '2026-01-10T11:00:00Z', ...metadata },
    spec: { containers: [{ name: 'app', image: 'nginx' }], ...spec },
    status,
  };
}

const running = { running: { startedAt: '2026-01-10T11:00:05Z' } };

/** cells: NAME READY STATUS RESTARTS AGE IP NODE NOMINATED-NODE READINESS-GATES */
describe('pod STATUS and READY', () => {
  const cases: Array<{ name: string; pod: KubeObject; ready: string; status: string }> = [
    { name: 'Pending while unscheduled', pod: pod({}, { phase: 'Pending' }), ready: '0/1', status: 'Pending' },
    {
      name: 'ContainerCreating while the image is being started',
      pod: pod(
        {},
        { phase: 'Pending', containerStatuses: [{ name: 'app', ready: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } }] },
      ),
      ready: '0/1',
      status: 'ContainerCreating',
    },
    {
      name: 'Running when the container runs and is ready',
      pod: pod({}, { phase: 'Running', containerStatuses: [{ name: 'app', ready: true, restartCount: 0, state: running }] }),
      ready: '1/1',
      status: 'Running',
    },
    {
      name: 'Completed when the container exited with reason Completed',
      pod: pod(
        {},
        {
          phase: 'Succeeded',
          containerStatuses: [{ name: 'app', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } }],
        },
      ),
      ready: '0/1',
      status: 'Completed',
    },
    {
      name: 'Error when the container failed',
      pod: pod(
        {},
        { phase: 'Failed', containerStatuses: [{ name: 'app', ready: false, restartCount: 0, state: { terminated: { exitCode: 1, reason: 'Error' } } }] },
      ),
      ready: '0/1',
      status: 'Error',
    },
    {
      name: 'ExitCode:N when the terminated container gives no reason',
      pod: pod({}, { phase: 'Failed', containerStatuses: [{ name: 'app', ready: false, state: { terminated: { exitCode: 137 } } }] }),
      ready: '0/1',
      status: 'ExitCode:137',
    },
    {
      name: 'Signal:N when the container was killed by a signal without a reason',
      pod: pod({}, { phase: 'Failed', containerStatuses: [{ name: 'app', ready: false, state: { terminated: { exitCode: 0, signal: 9 } } }] }),
      ready: '0/1',
      status: 'Signal:9',
    },
    {
      name: 'CrashLoopBackOff while waiting to restart',
      pod: pod(
        {},
        { phase: 'Running', containerStatuses: [{ name: 'app', ready: false, restartCount: 4, state: { waiting: { reason: 'CrashLoopBackOff' } } }] },
      ),
      ready: '0/1',
      status: 'CrashLoopBackOff',
    },
    {
      name: 'ErrImagePull when the image cannot be pulled',
      pod: pod({}, { phase: 'Pending', containerStatuses: [{ name: 'app', ready: false, state: { waiting: { reason: 'ErrImagePull' } } }] }),
      ready: '0/1',
      status: 'ErrImagePull',
    },
    {
      name: 'the first container decides when several report reasons',
      pod: pod(
        { containers: [{ name: 'a' }, { name: 'b' }] },
        {
          phase: 'Running',
          containerStatuses: [
            { name: 'a', ready: false, state: { waiting: { reason: 'ImagePullBackOff' } } },
            { name: 'b', ready: false, state: { waiting: { reason: 'CrashLoopBackOff' } } },
          ],
        },
      ),
      ready: '0/2',
      status: 'ImagePullBackOff',
    },
    {
      name: 'Running again (not Completed) while another container still runs and the pod is Ready',
      pod: pod(
        { containers: [{ name: 'a' }, { name: 'b' }] },
        {
          phase: 'Running',
          conditions: [{ type: 'Ready', status: 'True' }],
          containerStatuses: [
            { name: 'a', ready: true, state: running },
            { name: 'b', ready: false, state: { terminated: { exitCode: 0, reason: 'Completed' } } },
          ],
        },
      ),
      ready: '1/2',
      status: 'Running',
    },
    {
      name: 'NotReady when a container completed, another runs, and the pod is not Ready',
      pod: pod(
        { containers: [{ name: 'a' }, { name: 'b' }] },
        {
          phase: 'Running',
          conditions: [{ type: 'Ready', status: 'False' }],
          containerStatuses: [
            { name: 'a', ready: true, state: running },
            { name: 'b', ready: false, state: { terminated: { exitCode: 0, reason: 'Completed' } } },
          ],
        },
      ),
      ready: '1/2',
      status: 'NotReady',
    },
    {
      name: 'Init:0/1 while the first init container runs',
      pod: pod(
        { initContainers: [{ name: 'init' }] },
        {
          phase: 'Pending',
          initContainerStatuses: [{ name: 'init', ready: false, state: running }],
          containerStatuses: [{ name: 'app', ready: false, state: { waiting: { reason: 'PodInitializing' } } }],
        },
      ),
      ready: '0/1',
      status: 'Init:0/1',
    },
    {
      name: 'Init:1/2 once the first of two init containers succeeded',
      pod: pod(
        { initContainers: [{ name: 'one' }, { name: 'two' }] },
        {
          phase: 'Pending',
          initContainerStatuses: [
            { name: 'one', state: { terminated: { exitCode: 0, reason: 'Completed' } } },
            { name: 'two', state: { waiting: { reason: 'PodInitializing' } } },
          ],
        },
      ),
      ready: '0/1',
      status: 'Init:1/2',
    },
    {
      name: 'Init:CrashLoopBackOff when an init container keeps failing',
      pod: pod(
        { initContainers: [{ name: 'init' }] },
        { phase: 'Pending', initContainerStatuses: [{ name: 'init', restartCount: 3, state: { waiting: { reason: 'CrashLoopBackOff' } } }] },
      ),
      ready: '0/1',
      status: 'Init:CrashLoopBackOff',
    },
    {
      name: 'Init:Error when an init container failed',
      pod: pod(
        { initContainers: [{ name: 'init' }] },
        { phase: 'Failed', initContainerStatuses: [{ name: 'init', state: { terminated: { exitCode: 2, reason: 'Error' } } }] },
      ),
      ready: '0/1',
      status: 'Init:Error',
    },
    {
      name: 'a started sidecar init container counts as ready and in the total',
      pod: pod(
        { initContainers: [{ name: 'proxy', restartPolicy: 'Always' }] },
        {
          phase: 'Running',
          conditions: [{ type: 'Initialized', status: 'True' }],
          initContainerStatuses: [{ name: 'proxy', started: true, ready: true, state: running }],
          containerStatuses: [{ name: 'app', ready: true, state: running }],
        },
      ),
      ready: '2/2',
      status: 'Running',
    },
    {
      name: 'Terminating when marked for deletion and still running',
      pod: pod({}, { phase: 'Running', containerStatuses: [{ name: 'app', ready: true, state: running }] }, { deletionTimestamp: '2026-01-10T11:59:00Z' }),
      ready: '1/1',
      status: 'Terminating',
    },
    {
      name: 'Completed, not Terminating, when a finished pod is being deleted',
      pod: pod(
        {},
        { phase: 'Succeeded', containerStatuses: [{ name: 'app', state: { terminated: { exitCode: 0, reason: 'Completed' } } }] },
        { deletionTimestamp: '2026-01-10T11:59:00Z' },
      ),
      ready: '0/1',
      status: 'Completed',
    },
    {
      name: 'Unknown when deleted from a lost node',
      pod: pod({}, { phase: 'Running', reason: 'NodeLost' }, { deletionTimestamp: '2026-01-10T11:59:00Z' }),
      ready: '0/1',
      status: 'Unknown',
    },
    { name: 'the pod status reason, e.g. Evicted', pod: pod({}, { phase: 'Failed', reason: 'Evicted' }), ready: '0/1', status: 'Evicted' },
    {
      name: 'SchedulingGated while a scheduling gate holds the pod',
      pod: pod(
        { schedulingGates: [{ name: 'wait' }] },
        { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' }] },
      ),
      ready: '0/1',
      status: 'SchedulingGated',
    },
  ];
  for (const testCase of cases) {
    it(`shows ${testCase.name}`, () => {
      const { cells } = printPod(testCase.pod, now);
      assert.equal(cells[1], testCase.ready);
      assert.equal(cells[2], testCase.status);
    });
  }
});

describe('pod RESTARTS', () => {
  it('shows 0 for a pod that never restarted', () => {
    const { cells } = printPod(pod({}, { phase: 'Running', containerStatuses: [{ name: 'app', ready: true, restartCount: 0, state: running }] }), now);
    assert.equal(cells[3], '0');
  });

  it('adds how long ago the last container restarted', () => {
    const { cells } = printPod(
      pod(
        { containers: [{ name: 'a' }, { name: 'b' }] },
        {
          phase: 'Running',
          containerStatuses: [
            { name: 'a', ready: true, restartCount: 2, state: running, lastState: { terminated: { exitCode: 1, finishedAt: '2026-01-10T11:40:00Z' } } },
            { name: 'b', ready: true, restartCount: 1, state: running, lastState: { terminated: { exitCode: 1, finishedAt: '2026-01-10T11:55:00Z' } } },
          ],
        },
      ),
      now,
    );
    assert.equal(cells[3], '3 (5m ago)');
  });

  it('shows the bare count when no restart time is known', () => {
    const { cells } = printPod(pod({}, { phase: 'Running', containerStatuses: [{ name: 'app', ready: true, restartCount: 2, state: running }] }), now);
    assert.equal(cells[3], '2');
  });

  it('counts init container restarts while the pod is initializing', () => {
    const { cells } = printPod(
      pod(
        { initContainers: [{ name: 'init' }] },
        { phase: 'Pending', initContainerStatuses: [{ name: 'init', restartCount: 3, state: { waiting: { reason: 'CrashLoopBackOff' } } }] },
      ),
      now,
    );
    assert.equal(cells[3], '3');
  });
});

describe('pod wide columns', () => {
  it('shows <none> for a pod not yet scheduled', () => {
    const { cells } = printPod(pod({}, { phase: 'Pending' }), now);
    assert.deepEqual(cells.slice(5), ['<none>', '<none>', '<none>', '<none>']);
  });

  it('shows the IP, node, nominated node and passing readiness gates', () => {
    const { cells } = printPod(
      pod(
        { nodeName: 'node-1', readinessGates: [{ conditionType: 'example.com/lb' }, { conditionType: 'example.com/dns' }] },
        {
          phase: 'Running',
          podIPs: [{ ip: '10.0.0.7' }],
          podIP: '10.0.0.7',
          nominatedNodeName: 'node-2',
          conditions: [
            { type: 'example.com/lb', status: 'True' },
            { type: 'example.com/dns', status: 'False' },
          ],
        },
      ),
      now,
    );
    assert.deepEqual(cells.slice(4), ['60m', '10.0.0.7', 'node-1', 'node-2', '1/2']);
  });
});

describe('pod row conditions', () => {
  it('marks a succeeded pod Completed for clients that hide finished pods', () => {
    const row = printPod(pod({}, { phase: 'Succeeded' }), now);
    assert.deepEqual(
      row.conditions?.map((c) => [c.type, c.status, c.reason]),
      [['Completed', 'True', 'Succeeded']],
    );
  });

  it('adds no conditions to a running pod', () => {
    assert.equal(printPod(pod({}, { phase: 'Running' }), now).conditions, undefined);
  });
});

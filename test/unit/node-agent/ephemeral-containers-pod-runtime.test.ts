/**
 * Ephemeral containers on a `pod` runtime (ECS: the pod is one task, whose containers are fixed
 * when it starts): the worker reports each waiting with CreateContainerError and one Event, and
 * the pod's own containers run as before.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kubeletBackOff } from '../../../node-agent/back-off.ts';
import type { Clock } from '../../../node-agent/clock.ts';
import type { EventRecorder } from '../../../node-agent/event-recorder.ts';
import type { KubeClient } from '../../../node-agent/kube-client.ts';
import { parsePod } from '../../../node-agent/pod-view.ts';
import { PodWorker } from '../../../node-agent/pod-worker.ts';
import type { ContainerRecord, ContainerRuntime, PodLaunch } from '../../../node-agent/runtime/runtime.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { waitFor } from '../../support/wait.ts';

const silentLog = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };

/** A pod runtime whose tasks run at once. */
function taskRuntime(): ContainerRuntime {
  const records = new Map<string, ContainerRecord>();
  return {
    kind: 'ecs',
    unit: 'pod',
    version: 'test',
    supportsProbes: false,
    imageIdOf: (launch) => `${launch.image}@test`,
    start: () => Promise.reject(new Error('a pod runtime starts pods, not containers')),
    async startPod(launch: PodLaunch) {
      const started = launch.containers.map((container, index) => ({
        id: `task-${index}`,
        containerID: `ecs://task/${container.name}`,
        pod: launch.pod,
        containerName: container.name,
        attempt: launch.attempt,
        image: container.image,
        imageID: `${container.image}@test`,
        startedAt: new Date().toISOString(),
        podIP: '10.0.0.9',
      }));
      for (const record of started) records.set(record.id, record);
      return started;
    },
    containers: () => [...records.values()],
    container: (id) => records.get(id),
    stop: async (id) => records.get(id),
    remove: (id) => void records.delete(id),
    removePod: () => undefined,
    exec: async () => ({ exitCode: 0, output: '' }),
    onExit: () => undefined,
    close: async () => undefined,
  };
}

describe('ephemeral containers on a pod runtime (ECS)', () => {
  it('reports each waiting with CreateContainerError and one Warning Event, the pod running', async () => {
    const raw: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web', namespace: 'default', uid: 'uid-web', resourceVersion: '1' },
      spec: {
        nodeName: 'node-1',
        containers: [{ name: 'app', image: 'nginx' }],
        ephemeralContainers: [{ name: 'debugger', image: 'busybox', command: ['sh'] }],
      },
    };
    const parsed = parsePod(raw);
    if ('error' in parsed) throw new Error(parsed.error);
    const statuses: Record<string, unknown>[] = [];
    const client = {
      async updateStatus(_type: unknown, object: KubeObject) {
        statuses.push(object.status as Record<string, unknown>);
        return { ...object, metadata: { ...object.metadata, resourceVersion: String(statuses.length + 1) } };
      },
    } as unknown as KubeClient;
    const events: string[] = [];
    const recorder = {
      record: (_pod: unknown, type: string, reason: string, message: string, container?: string) =>
        events.push(`${type} ${reason} ${container ?? ''}: ${message}`),
      forgetPod: () => undefined,
    } as unknown as EventRecorder;
    const clock: Clock = { now: () => Date.now(), after: () => () => undefined };
    const worker = new PodWorker(parsed, {
      runtime: taskRuntime(),
      client,
      events: recorder,
      nodeName: 'node-1',
      hostIP: '10.0.0.1',
      backOff: kubeletBackOff,
      allocatePodIp: () => '10.0.0.9',
      releasePodIp: () => undefined,
      onFinished: () => undefined,
      log: silentLog as never,
      clock,
    });
    worker.kick();
    const status = await waitFor('the ephemeral container reported', () =>
      statuses.findLast((candidate) => Array.isArray(candidate.ephemeralContainerStatuses) && Array.isArray(candidate.containerStatuses)),
    );
    const [entry] = status.ephemeralContainerStatuses as { name: string; ready: boolean; state: { waiting?: { reason: string; message: string } } }[];
    assert.equal(entry?.name, 'debugger');
    assert.equal(entry?.state.waiting?.reason, 'CreateContainerError');
    assert.match(entry?.state.waiting?.message ?? '', /not supported by the ecs runtime: a running task cannot take another container/);
    assert.equal(entry?.ready, false);
    assert.equal(status.phase, 'Running');
    const failed = events.filter((event) => event.startsWith('Warning Failed debugger'));
    assert.equal(failed.length, 1, events.join('\n'));
    assert.match(failed[0] ?? '', /Error: ephemeral containers are not supported by the ecs runtime/);
    worker.detach();
  });
});

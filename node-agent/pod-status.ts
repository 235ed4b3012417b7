/**
 * Pod status as the kubelet reports it, computed from what the agent knows about each
 * container. Pure: the same inputs give the same status, so the agent can compare the result
 * with what it last wrote and skip writes that would change nothing.
 */
import { kubeTime } from '../functions/core/kube-time.ts';
import { type ContainerSnapshot, emptySnapshot, initialized } from './pod-actions.ts';
import type { PodView } from './pod-view.ts';
import type { ContainerRecord } from './runtime/runtime.ts';

export type ContainerState =
  | { readonly waiting: { readonly reason: string; readonly message?: string } }
  | { readonly running: { readonly startedAt: string } }
  | {
      readonly terminated: {
        readonly exitCode: number;
        readonly signal?: number;
        readonly reason: string;
        readonly message?: string;
        readonly startedAt: string;
        readonly finishedAt: string;
        readonly containerID?: string;
      };
    };

/** What the agent knows about one container of the pod. */
export interface ContainerReport {
  readonly name: string;
  readonly image: string;
  /** Empty until the image was resolved, as the kubelet leaves it before a pull. */
  readonly imageID: string;
  readonly containerID?: string;
  readonly state: ContainerState;
  readonly lastState?: ContainerState;
  readonly ready: boolean;
  readonly started: boolean;
  readonly restartCount: number;
}

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';

export interface PodCondition {
  readonly type: string;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly lastProbeTime: null;
  readonly lastTransitionTime: string;
  readonly reason?: string;
  readonly message?: string;
}

export interface PodStatusFacts {
  readonly hostIP: string;
  readonly podIP?: string;
  readonly startTime?: string;
  readonly now: string;
}

/**
 * What each container of the spec reports, from the worker's snapshots: its state (running,
 * waiting with a reason, or terminated), the run before it, and whether it is started and
 * ready. A container is ready while running, past its startup probe, passing its readiness
 * probe and not being stopped; with `probesRun` false (a runtime with nothing to probe) the
 * probes count as passed.
 */
export function containerReports(
  pod: PodView,
  containers: readonly ContainerSnapshot[],
  probesRun: boolean,
  which: 'containers' | 'initContainers' | 'ephemeralContainers' = 'containers',
): ContainerReport[] {
  const byName = new Map(containers.map((snapshot) => [snapshot.name, snapshot]));
  // App containers wait with PodInitializing until the last init container has completed.
  const initializing = which === 'containers' && !initialized(pod, containers);
  return (pod.spec[which] as readonly PodView['spec']['containers'][number][]).map((container) => {
    const snapshot = byName.get(container.name) ?? emptySnapshot(container.name);
    const { current, previous } = snapshot;
    const waiting = snapshot.waiting ?? (initializing ? { reason: 'PodInitializing' } : undefined);
    let state: ContainerState;
    let lastState: ContainerState | undefined;
    if (current?.creating) {
      // A pod runtime still creating the run (an ECS task not yet RUNNING).
      state = { waiting: waiting ?? { reason: 'ContainerCreating' } };
      lastState = terminatedState(previous);
    } else if (current && !current.exit) {
      state = { running: { startedAt: kubeTime(Date.parse(current.startedAt)) } };
      lastState = terminatedState(previous);
    } else if (current?.exit) {
      if (waiting) {
        state = { waiting };
        // An image that was never pulled never ran: the run before it is the last state.
        lastState = current.exit.pullFailed ? terminatedState(previous) : terminatedState(current);
      } else {
        state = terminatedState(current) ?? { waiting: { reason: 'ContainerCreating' } };
        lastState = terminatedState(previous);
      }
    } else {
      state = { waiting: waiting ?? { reason: 'ContainerCreating' } };
    }
    const running = 'running' in state;
    const started = running && (!container.startupProbe || !probesRun || snapshot.probes.startup.result === 'success');
    const readyByProbe = !container.readinessProbe || !probesRun || snapshot.probes.readiness.result === 'success';
    // An init container is ready once it has completed successfully, as the kubelet reports it;
    // an ephemeral container is never ready (it serves nothing).
    const completed = 'terminated' in state && state.terminated.exitCode === 0;
    const ready = which === 'ephemeralContainers' ? false : which === 'initContainers' ? completed : running && started && readyByProbe && !snapshot.killing;
    return {
      name: container.name,
      image: container.image,
      imageID: snapshot.imageID,
      ...(current ? { containerID: current.containerID } : {}),
      state,
      ...(lastState ? { lastState } : {}),
      ready,
      started,
      restartCount: snapshot.restartCount,
    };
  });
}

function terminatedState(record: ContainerRecord | undefined): ContainerState | undefined {
  if (!record?.exit) return undefined;
  const exit = record.exit;
  return {
    terminated: {
      exitCode: exit.exitCode,
      ...(exit.signal !== undefined ? { signal: exit.signal } : {}),
      reason: exit.reason,
      ...(exit.message ? { message: exit.message } : {}),
      startedAt: kubeTime(Date.parse(record.startedAt)),
      finishedAt: kubeTime(Date.parse(exit.finishedAt)),
      containerID: record.containerID,
    },
  };
}

/** The kubelet's phase rule (`getPhase`): waiting blocks Running; exits decide by restart policy. */
export function podPhase(restartPolicy: PodView['spec']['restartPolicy'], reports: readonly ContainerReport[]): PodPhase {
  let waiting = 0;
  let running = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const report of reports) {
    if ('running' in report.state) running += 1;
    else if ('terminated' in report.state) {
      stopped += 1;
      if (report.state.terminated.exitCode === 0) succeeded += 1;
    } else if (report.lastState && 'terminated' in report.lastState) stopped += 1;
    else waiting += 1;
  }
  if (waiting > 0) return 'Pending';
  if (running > 0) return 'Running';
  if (stopped > 0) {
    if (restartPolicy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    if (restartPolicy === 'OnFailure') return 'Running';
    return 'Failed';
  }
  return 'Pending';
}

export function containerStatusOf(report: ContainerReport): Record<string, unknown> {
  return {
    name: report.name,
    image: report.image,
    imageID: report.imageID,
    ...(report.containerID ? { containerID: report.containerID } : {}),
    state: report.state,
    lastState: report.lastState ?? {},
    ready: report.ready,
    started: report.started,
    restartCount: report.restartCount,
  };
}

/**
 * The phase while init containers are not all done: Failed once one has failed for good
 * (restartPolicy Never), Pending otherwise; undefined once they are all done.
 */
export function initPhase(restartPolicy: PodView['spec']['restartPolicy'], initReports: readonly ContainerReport[]): PodPhase | undefined {
  for (const report of initReports) {
    if ('terminated' in report.state && report.state.terminated.exitCode === 0) continue;
    if (restartPolicy === 'Never' && 'terminated' in report.state) return 'Failed';
    return 'Pending';
  }
  return undefined;
}

export function computePodStatus(
  pod: PodView,
  reports: readonly ContainerReport[],
  facts: PodStatusFacts,
  initReports: readonly ContainerReport[] = [],
  /** `kubectl debug`'s containers: reported, but no part of the phase or of readiness. */
  ephemeralReports: readonly ContainerReport[] = [],
): Record<string, unknown> {
  const phase = initPhase(pod.spec.restartPolicy, initReports) ?? podPhase(pod.spec.restartPolicy, reports);
  const incomplete = initReports.filter((r) => !r.ready).map((r) => r.name);
  const unready = reports.filter((r) => !r.ready).map((r) => r.name);
  const completed = phase === 'Succeeded' || phase === 'Failed';
  const previous = new Map(pod.status.conditions.map((c) => [c.type, c]));
  const condition = (type: string, status: PodCondition['status'], reason?: string, message?: string): PodCondition => {
    const before = previous.get(type);
    const lastTransitionTime = before && before.status === status && before.lastTransitionTime ? before.lastTransitionTime : facts.now;
    return {
      type,
      status,
      lastProbeTime: null,
      lastTransitionTime,
      ...(reason ? { reason } : {}),
      ...(message ? { message } : {}),
    };
  };
  const containersReady: PodCondition = completed
    ? condition('ContainersReady', 'False', 'PodCompleted')
    : unready.length === 0
      ? condition('ContainersReady', 'True')
      : condition('ContainersReady', 'False', 'ContainersNotReady', `containers with unready status: [${unready.join(' ')}]`);
  // Ready also waits on the pod's readiness gates, whose conditions others write (the kubelet's rule).
  const gateMessages = pod.spec.readinessGates.flatMap(({ conditionType }) => {
    const gate = previous.get(conditionType);
    if (!gate) return [`corresponding condition of pod readiness gate "${conditionType}" does not exist.`];
    return gate.status === 'True' ? [] : [`the status of pod readiness gate "${conditionType}" is not "True", but ${gate.status}`];
  });
  const ready =
    containersReady.status === 'True' && gateMessages.length > 0
      ? condition('Ready', 'False', 'ReadinessGatesNotReady', gateMessages.join(', '))
      : condition('Ready', containersReady.status, containersReady.reason, containersReady.message);
  const kubeletOwned = new Set(['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled']);
  // Conditions others own (readiness gates, DisruptionTarget...) are kept as they are.
  const foreign = pod.status.conditions.filter((c) => !kubeletOwned.has(c.type));
  const conditions = [
    condition('PodReadyToStartContainers', facts.podIP ? 'True' : 'False'),
    incomplete.length === 0
      ? condition('Initialized', 'True')
      : condition('Initialized', 'False', 'ContainersNotInitialized', `containers with incomplete status: [${incomplete.join(' ')}]`),
    ready,
    containersReady,
    condition('PodScheduled', 'True'),
    ...foreign,
  ];
  return {
    phase,
    conditions,
    hostIP: facts.hostIP,
    hostIPs: [{ ip: facts.hostIP }],
    ...(facts.podIP ? { podIP: facts.podIP, podIPs: [{ ip: facts.podIP }] } : {}),
    ...(facts.startTime ? { startTime: facts.startTime } : {}),
    ...(initReports.length > 0 ? { initContainerStatuses: initReports.map(containerStatusOf) } : {}),
    containerStatuses: reports.map(containerStatusOf),
    ...(ephemeralReports.length > 0 ? { ephemeralContainerStatuses: ephemeralReports.map(containerStatusOf) } : {}),
    qosClass: 'BestEffort',
  };
}

/**
 * The parts of a pod status that matter to others (Endpoints, controllers, kubectl): used to
 * notice that someone else (the node lifecycle controller marking pods not ready) changed the
 * status the agent last wrote, without echoing the API's formatting back and forth.
 */
export function statusDigest(status: unknown): string {
  const s = (status ?? {}) as {
    phase?: string;
    podIP?: string;
    conditions?: { type?: string; status?: string }[];
    containerStatuses?: { name?: string; ready?: boolean; restartCount?: number; containerID?: string; state?: Record<string, unknown> }[];
  };
  return JSON.stringify({
    phase: s.phase ?? '',
    podIP: s.podIP ?? '',
    conditions: (s.conditions ?? []).map((c) => `${c.type}=${c.status}`).sort(),
    containers: (s.containerStatuses ?? []).map((c) => [c.name, c.ready, c.restartCount, c.containerID ?? '', Object.keys(c.state ?? {})[0] ?? '']),
  });
}

/**
 * What the agent should do next to one pod, as a pure function of the pod, what it knows of
 * each container and the time: the kubelet's `computePodActions`. The pod worker gathers the
 * snapshots (reading the runtime), calls `planContainerActions`, and carries the plan out
 * (starts, stops, Events, status); every decision about restart policy, crash-loop back-off,
 * an image changed in place, failed liveness and startup probes, and deletion (held while a load
 * balancer drains the pod, docs/adr/094-zero-downtime-targets.md) is made here.
 */
import { type BackOffPolicy, kubeletBackOff, nextCrashCount, restartDelayMs, shouldRestart } from './back-off.ts';
import type { PodView } from './pod-view.ts';
import { initialProbeState, type ProbeKind, type ProbeState } from './probe-state.ts';
import type { ContainerRecord } from './runtime/runtime.ts';
import { terminationGraceSeconds, terminationHold } from './termination-hold.ts';

export interface ContainerWaiting {
  readonly reason: string;
  readonly message?: string;
}

/** What the worker knows about one container of the pod: its runs and its restart bookkeeping. */
export interface ContainerSnapshot {
  readonly name: string;
  /** The latest run, as the runtime last reported it. */
  readonly current?: ContainerRecord;
  /** The run before it (what `kubectl logs --previous` shows, `lastState`). */
  readonly previous?: ContainerRecord;
  readonly restartCount: number;
  /** Crashes in a row: how long the crash-loop back-off is. */
  readonly crashes: number;
  /** The exited run whose restart was already decided. */
  readonly decidedExitId?: string;
  /** No start before this instant (crash-loop, image pull or configuration back-off). */
  readonly nextStartAtMs?: number;
  readonly waiting?: ContainerWaiting;
  /** A stop was asked for the current run and it has not exited yet. */
  readonly killing: boolean;
  /** Empty until the image was resolved. */
  readonly imageID: string;
  /** The probes' results for the current run. */
  readonly probes: Readonly<Record<ProbeKind, ProbeState>>;
}

export function freshProbeStates(): Record<ProbeKind, ProbeState> {
  return { liveness: initialProbeState('liveness'), readiness: initialProbeState('readiness'), startup: initialProbeState('startup') };
}

/** A container the worker has not seen run yet. */
export function emptySnapshot(name: string): ContainerSnapshot {
  return { name, restartCount: 0, crashes: 0, killing: false, imageID: '', probes: freshProbeStates() };
}

export type ContainerAction =
  /** Running as it should, or already being stopped: nothing to do. */
  | { readonly type: 'keep' }
  /** Stop the current run; it is started again once it has exited. */
  | {
      readonly type: 'kill';
      readonly containerId: string;
      readonly graceSeconds: number;
      /** The Killing Event's message, as the kubelet words it. */
      readonly message: string;
      /** A replaced definition starts over: no crash-loop back-off for the new one. */
      readonly resetBackOff: boolean;
    }
  | { readonly type: 'start' }
  /** Exited and to be restarted, but not before `untilMs` (CrashLoopBackOff). */
  | {
      readonly type: 'backOff';
      readonly untilMs: number;
      readonly waiting: ContainerWaiting;
      /** The container was not in CrashLoopBackOff before: the BackOff Event is due. */
      readonly entering: boolean;
    }
  /** Not started yet and waiting out an image pull or configuration back-off. */
  | { readonly type: 'wait'; readonly untilMs: number }
  /** Exited for good: the restart policy keeps it down. */
  | { readonly type: 'done' };

/** A run seen exited for the first time: the bookkeeping the worker keeps from now on. */
export interface ExitDecision {
  readonly containerId: string;
  readonly crashes: number;
  readonly nextStartAtMs: number;
}

export interface ContainerPlan {
  readonly name: string;
  readonly exit?: ExitDecision;
  readonly action: ContainerAction;
}

export type PodActions =
  /**
   * The pod is being deleted but a load balancer still routes to it: keep its containers
   * serving until it has been deregistered and drained, or until `untilMs` (its deletionTimestamp).
   */
  | { readonly type: 'hold'; readonly untilMs: number }
  /** The pod is being deleted (or is gone): stop every running container, then let the pod go. */
  | { readonly type: 'terminate'; readonly graceSeconds: number; readonly containersToStop: readonly { readonly name: string; readonly containerId: string }[] }
  /**
   * One plan per container of the spec, in spec order, then one per ephemeral container, and
   * when to look again; while the pod is `initializing`, the one plan of the init container whose
   * turn it is (and the ephemeral containers': they do not wait for init containers).
   */
  | { readonly type: 'sync'; readonly containers: readonly ContainerPlan[]; readonly wakeAtMs?: number; readonly initializing?: boolean };

export interface PlanOptions {
  /** @default the kubelet's 10 s doubling to 5 min */
  readonly backOff?: BackOffPolicy;
  /** The pod is gone from the API (force-deleted): stop everything as for a deletion. */
  readonly podGone?: boolean;
}

export function planContainerActions(pod: PodView, containers: readonly ContainerSnapshot[], nowMs: number, options: PlanOptions = {}): PodActions {
  const byName = new Map(containers.map((snapshot) => [snapshot.name, snapshot]));
  if (pod.metadata.deletionTimestamp || options.podGone) {
    if (!options.podGone) {
      const untilMs = terminationHold(pod, nowMs);
      if (untilMs !== undefined) return { type: 'hold', untilMs };
    }
    return {
      type: 'terminate',
      graceSeconds: terminationGraceSeconds(pod, nowMs),
      // Every run still going, also of a container no longer in the spec.
      containersToStop: containers.flatMap((snapshot) =>
        snapshot.current && !snapshot.current.exit ? [{ name: snapshot.name, containerId: snapshot.current.id }] : [],
      ),
    };
  }
  const backOff = options.backOff ?? kubeletBackOff;
  // Init containers first, one at a time in order, each to a successful end: the app
  // containers wait until the last has completed (the kubelet's rule). One that fails is run
  // again after a back-off, unless the pod's restartPolicy is Never: then the pod has failed.
  const initPolicy = pod.spec.restartPolicy === 'Never' ? 'Never' : 'OnFailure';
  for (const container of pod.spec.initContainers) {
    const snapshot = byName.get(container.name) ?? emptySnapshot(container.name);
    if (snapshot.current?.exit?.exitCode === 0) continue;
    const plans = [planContainer(pod, container, snapshot, nowMs, backOff, initPolicy), ...planEphemeralContainers(pod, byName, nowMs)];
    return { type: 'sync', containers: plans, ...wakeOf(plans), initializing: true };
  }
  const plans = [
    ...pod.spec.containers.map((container) => planContainer(pod, container, byName.get(container.name) ?? emptySnapshot(container.name), nowMs, backOff)),
    ...planEphemeralContainers(pod, byName, nowMs),
  ];
  return { type: 'sync', containers: plans, ...wakeOf(plans) };
}

/**
 * Ephemeral containers (`kubectl debug`), as the kubelet runs them: started as soon as they are in
 * the spec, even while init containers run; never restarted, whatever the restart policy, and
 * never killed for a probe or a changed definition (they have neither). One whose start failed
 * (its image could not be pulled) is tried again after its back-off.
 */
function planEphemeralContainers(pod: PodView, byName: ReadonlyMap<string, ContainerSnapshot>, nowMs: number): ContainerPlan[] {
  return pod.spec.ephemeralContainers.map(({ name }) => {
    const snapshot = byName.get(name) ?? emptySnapshot(name);
    const { current } = snapshot;
    if (current?.exit) return { name, action: { type: 'done' } };
    if (current) return { name, action: { type: 'keep' } };
    const waiting = snapshot.nextStartAtMs !== undefined && nowMs < snapshot.nextStartAtMs;
    return { name, action: waiting ? { type: 'wait', untilMs: snapshot.nextStartAtMs! } : { type: 'start' } };
  });
}

function wakeOf(plans: readonly ContainerPlan[]): { wakeAtMs?: number } {
  const wakes = plans.flatMap((plan) => (plan.action.type === 'backOff' || plan.action.type === 'wait' ? [plan.action.untilMs] : []));
  return wakes.length > 0 ? { wakeAtMs: Math.min(...wakes) } : {};
}

/** All init containers have completed successfully (none: initialized from the start). */
export function initialized(pod: PodView, containers: readonly ContainerSnapshot[]): boolean {
  const byName = new Map(containers.map((snapshot) => [snapshot.name, snapshot]));
  return pod.spec.initContainers.every((container) => byName.get(container.name)?.current?.exit?.exitCode === 0);
}

function planContainer(
  pod: PodView,
  container: PodView['spec']['containers'][number],
  snapshot: ContainerSnapshot,
  nowMs: number,
  backOff: BackOffPolicy,
  restartPolicy: PodView['spec']['restartPolicy'] = pod.spec.restartPolicy,
): ContainerPlan {
  const { name, current } = snapshot;
  if (!current) {
    const action: ContainerAction =
      snapshot.nextStartAtMs !== undefined && nowMs < snapshot.nextStartAtMs ? { type: 'wait', untilMs: snapshot.nextStartAtMs } : { type: 'start' };
    return { name, action };
  }
  const exited = current.exit;
  if (!exited) return { name, action: planRunning(pod, container, snapshot, current) };
  let exit: ExitDecision | undefined;
  let crashes = snapshot.crashes;
  let nextStartAtMs = snapshot.nextStartAtMs;
  let waiting = snapshot.waiting;
  if (snapshot.decidedExitId !== current.id) {
    const ranForMs = Date.parse(exited.finishedAt) - Date.parse(current.startedAt);
    crashes = nextCrashCount(snapshot.crashes, ranForMs, backOff);
    nextStartAtMs = nowMs + restartDelayMs(crashes, backOff);
    waiting = undefined;
    exit = { containerId: current.id, crashes, nextStartAtMs };
  }
  const withExit = (action: ContainerAction): ContainerPlan => ({ name, ...(exit ? { exit } : {}), action });
  if (!shouldRestart(restartPolicy, exited.exitCode)) return withExit({ type: 'done' });
  if (nextStartAtMs === undefined || nowMs >= nextStartAtMs) return withExit({ type: 'start' });
  const seconds = Math.round(restartDelayMs(crashes, backOff) / 1000);
  const { name: podName, namespace, uid } = pod.metadata;
  return withExit({
    type: 'backOff',
    untilMs: nextStartAtMs,
    waiting: {
      reason: 'CrashLoopBackOff',
      message: `back-off ${formatDuration(seconds)} restarting failed container=${name} pod=${podName}_${namespace}(${uid})`,
    },
    entering: waiting?.reason !== 'CrashLoopBackOff',
  });
}

/** A running container is killed when its definition changed or a liveness or startup probe failed, in that order. */
function planRunning(pod: PodView, container: PodView['spec']['containers'][number], snapshot: ContainerSnapshot, current: ContainerRecord): ContainerAction {
  if (snapshot.killing) return { type: 'keep' };
  const kill = (message: string, resetBackOff: boolean): ContainerAction => ({
    type: 'kill',
    containerId: current.id,
    graceSeconds: pod.spec.terminationGracePeriodSeconds,
    message,
    resetBackOff,
  });
  if (current.image !== container.image) return kill(`Container ${container.name} definition changed, will be restarted`, true);
  for (const kind of ['liveness', 'startup'] as const) {
    if (container[`${kind}Probe`] && snapshot.probes[kind].result === 'failure') {
      return kill(`Container ${container.name} failed ${kind} probe, will be restarted`, false);
    }
  }
  return { type: 'keep' };
}

/** Go's duration format for whole seconds: `10s`, `1m20s`, `5m0s`. */
export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  return `${Math.floor(seconds / 60)}m${seconds % 60}s`;
}

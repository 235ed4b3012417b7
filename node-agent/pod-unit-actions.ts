/**
 * `planContainerActions` for runtimes that run a pod as one unit (the `ecs` runtime: one task
 * holds every container and stops when any of them exits). While the unit runs, each container
 * is kept or killed as the kubelet would (a changed image, a failed liveness or startup probe),
 * and killing one stops the unit. Once nothing in it runs, each container's exit is decided as
 * the kubelet decides it (restart policy, crash-loop back-off), an image that could not be
 * pulled gets the image-pull back-off, and the unit starts again — all of it, when the last of
 * the containers that want a restart may start — or stays down when none does (ADR 130). Pure.
 */
import { type BackOffPolicy, kubeletBackOff, restartDelayMs } from './back-off.ts';
import { type ContainerPlan, type ContainerSnapshot, type ContainerWaiting, emptySnapshot, type PodActions, planContainerActions } from './pod-actions.ts';
import type { PodView } from './pod-view.ts';

/** A container's snapshot with the image pull failures in a row the worker counted. */
export interface UnitContainerSnapshot extends ContainerSnapshot {
  readonly pullFailures: number;
}

/** A run whose image could not be pulled, seen for the first time: the pull back-off from now on. */
export interface PullDecision {
  readonly containerId: string;
  readonly pullFailures: number;
  readonly nextStartAtMs: number;
  readonly waiting: ContainerWaiting;
}

export interface UnitContainerPlan extends ContainerPlan {
  readonly pull?: PullDecision;
}

export type PodUnitActions =
  | Extract<PodActions, { type: 'terminate' | 'hold' }>
  /** The unit runs: each container kept or killed (a kill stops the whole unit). */
  | { readonly type: 'running'; readonly containers: readonly ContainerPlan[] }
  /**
   * Nothing runs. `startAtMs`: when the unit starts (again); absent when every container is done
   * for good. Each container's plan carries its exit or pull decision, and `backOff` when it is
   * the reason to wait.
   */
  | { readonly type: 'stopped'; readonly containers: readonly UnitContainerPlan[]; readonly startAtMs?: number };

export interface UnitPlanOptions {
  readonly backOff?: BackOffPolicy;
  readonly podGone?: boolean;
}

export function planPodUnitActions(pod: PodView, containers: readonly UnitContainerSnapshot[], nowMs: number, options: UnitPlanOptions = {}): PodUnitActions {
  const backOff = options.backOff ?? kubeletBackOff;
  const byName = new Map(containers.map((snapshot) => [snapshot.name, snapshot]));
  const snapshots = pod.spec.containers.map((container) => byName.get(container.name) ?? { ...emptySnapshot(container.name), pullFailures: 0 });
  // A run whose image was never pulled never ran: the container-level plan sees it as not started yet.
  const asContainers = containers.map((snapshot): ContainerSnapshot => {
    if (!snapshot.current?.exit?.pullFailed) return snapshot;
    const { current: _current, ...rest } = snapshot;
    return rest;
  });
  const plan = planContainerActions(pod, asContainers, nowMs, { backOff, ...(options.podGone ? { podGone: true } : {}) });
  if (plan.type === 'terminate' || plan.type === 'hold') return plan;
  const live = snapshots.some((snapshot) => snapshot.current && !snapshot.current.exit);
  if (live) {
    return {
      type: 'running',
      containers: plan.containers.map((containerPlan) => {
        const snapshot = snapshots.find((s) => s.name === containerPlan.name);
        // A container that stopped inside a unit still running waits for the unit to stop.
        const running = snapshot?.current && !snapshot.current.exit;
        return running && containerPlan.action.type === 'kill' ? containerPlan : { name: containerPlan.name, action: { type: 'keep' } };
      }),
    };
  }
  let start = false;
  let startAtMs = nowMs;
  const plans = plan.containers.map((containerPlan): UnitContainerPlan => {
    const snapshot = snapshots.find((s) => s.name === containerPlan.name);
    const current = snapshot?.current;
    if (snapshot && current?.exit?.pullFailed) {
      start = true;
      if (snapshot.decidedExitId === current.id) {
        startAtMs = Math.max(startAtMs, snapshot.nextStartAtMs ?? nowMs);
        return { name: containerPlan.name, action: { type: 'wait', untilMs: snapshot.nextStartAtMs ?? nowMs } };
      }
      const pullFailures = snapshot.pullFailures + 1;
      const nextStartAtMs = nowMs + restartDelayMs(pullFailures + 1, backOff);
      const message = current.exit.message ?? 'the image could not be pulled';
      const waiting =
        pullFailures === 1
          ? { reason: 'ErrImagePull', message }
          : { reason: 'ImagePullBackOff', message: `Back-off pulling image "${current.image}": ${message}` };
      startAtMs = Math.max(startAtMs, nextStartAtMs);
      return {
        name: containerPlan.name,
        action: { type: 'wait', untilMs: nextStartAtMs },
        pull: { containerId: current.id, pullFailures, nextStartAtMs, waiting },
      };
    }
    switch (containerPlan.action.type) {
      case 'start':
        start = true;
        break;
      case 'backOff':
      case 'wait':
        start = true;
        startAtMs = Math.max(startAtMs, containerPlan.action.untilMs);
        break;
      default:
        break;
    }
    return containerPlan;
  });
  return { type: 'stopped', containers: plans, ...(start ? { startAtMs } : {}) };
}

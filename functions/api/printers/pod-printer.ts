/**
 * `kubectl get pods`: READY, the STATUS reason users know (ContainerCreating, CrashLoopBackOff,
 * Init:0/1, Completed, Terminating, ...), RESTARTS with the time of the last restart, and the
 * wide IP / NODE / NOMINATED NODE / READINESS GATES columns. The reason logic follows
 * kube-apiserver's pod printer so that Skiff reads like any cluster.
 */
import type { KubeObject } from '../../../schemas/meta.ts';
import { ageSince } from './human-duration.ts';
import { ageColumn, column, type KindPrinter, nameColumn, nameOf, type PrintedRow, type TableRowCondition, wide } from './kind-printer.ts';
import { at, type Fields, integer, optionalText, record, records, text } from './object-fields.ts';

const podSucceeded: readonly TableRowCondition[] = [{ type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod has completed successfully.' }];
const podFailed: readonly TableRowCondition[] = [{ type: 'Completed', status: 'True', reason: 'Failed', message: 'The pod failed.' }];

/** The node controller's reason for pods on a node that stopped reporting. */
const nodeUnreachableReason = 'NodeLost';

function conditionIsTrue(conditions: readonly Fields[], type: string): boolean {
  return conditions.some((condition) => condition.type === type && condition.status === 'True');
}

/** Latest `lastState.terminated.finishedAt`, as epoch milliseconds (0: never restarted). */
function lastFinish(status: Fields, since: number): number {
  const finishedAt = optionalText(at(status, 'lastState', 'terminated', 'finishedAt'));
  const time = finishedAt ? Date.parse(finishedAt) : Number.NaN;
  return Number.isNaN(time) ? since : Math.max(since, time);
}

function terminatedReason(terminated: Fields, prefix: string): string {
  const reason = text(terminated.reason);
  if (reason) return `${prefix}${reason}`;
  const signal = integer(terminated.signal);
  return signal !== 0 ? `${prefix}Signal:${signal}` : `${prefix}ExitCode:${integer(terminated.exitCode)}`;
}

export function printPod(pod: KubeObject, now: Date): PrintedRow {
  const spec = at(pod, 'spec');
  const status = at(pod, 'status');
  const containers = records(at(spec, 'containers'));
  const initContainers = records(at(spec, 'initContainers'));
  const conditions = records(at(status, 'conditions'));
  const phase = text(at(status, 'phase'));
  const restartableInit = new Set(initContainers.filter((c) => c.restartPolicy === 'Always').map((c) => text(c.name)));

  const totalContainers = containers.length + restartableInit.size;
  let readyContainers = 0;
  let restarts = 0;
  let lastRestart = 0;
  let sidecarRestarts = 0;
  let lastSidecarRestart = 0;

  let reason = text(at(status, 'reason')) || phase;
  if (conditions.some((c) => c.type === 'PodScheduled' && c.reason === 'SchedulingGated')) reason = 'SchedulingGated';

  let initializing = false;
  const initStatuses = records(at(status, 'initContainerStatuses'));
  for (const [index, container] of initStatuses.entries()) {
    restarts += integer(container.restartCount);
    lastRestart = lastFinish(container, lastRestart);
    const isSidecar = restartableInit.has(text(container.name));
    if (isSidecar) {
      sidecarRestarts += integer(container.restartCount);
      lastSidecarRestart = lastFinish(container, lastSidecarRestart);
    }
    const terminated = at(container, 'state', 'terminated');
    const waitingReason = text(at(container, 'state', 'waiting', 'reason'));
    if (terminated !== undefined && integer(at(terminated, 'exitCode')) === 0) continue;
    if (isSidecar && container.started === true) {
      if (container.ready === true) readyContainers++;
      continue;
    }
    if (terminated !== undefined) {
      reason = terminatedReason(record(terminated), 'Init:');
    } else if (waitingReason && waitingReason !== 'PodInitializing') {
      reason = `Init:${waitingReason}`;
    } else {
      reason = `Init:${index}/${initContainers.length}`;
    }
    initializing = true;
    break;
  }

  if (!initializing || conditionIsTrue(conditions, 'Initialized')) {
    restarts = sidecarRestarts;
    lastRestart = lastSidecarRestart;
    let hasRunning = false;
    const statuses = records(at(status, 'containerStatuses'));
    // Last to first, so the first container's state decides the reason, as in Kubernetes.
    for (const container of [...statuses].reverse()) {
      restarts += integer(container.restartCount);
      lastRestart = lastFinish(container, lastRestart);
      const state = at(container, 'state');
      const waitingReason = text(at(state, 'waiting', 'reason'));
      const terminated = at(state, 'terminated');
      if (waitingReason) {
        reason = waitingReason;
      } else if (terminated !== undefined) {
        reason = terminatedReason(record(terminated), '');
      } else if (container.ready === true && at(state, 'running') !== undefined) {
        hasRunning = true;
        readyContainers++;
      }
    }
    if (reason === 'Completed' && hasRunning) {
      reason = conditionIsTrue(conditions, 'Ready') ? 'Running' : 'NotReady';
    }
  }

  const deleting = pod.metadata.deletionTimestamp !== undefined;
  if (deleting && text(at(status, 'reason')) === nodeUnreachableReason) {
    reason = 'Unknown';
  } else if (deleting && phase !== 'Succeeded' && phase !== 'Failed') {
    reason = 'Terminating';
  }

  const restartCell = restarts !== 0 && lastRestart !== 0 ? `${restarts} (${ageSince(new Date(lastRestart).toISOString(), now)} ago)` : `${restarts}`;

  const podIPs = records(at(status, 'podIPs'));
  const podIP = text(podIPs[0]?.ip) || text(at(status, 'podIP')) || '<none>';
  const readinessGates = records(at(spec, 'readinessGates'));
  let gates = '<none>';
  if (readinessGates.length > 0) {
    const passing = readinessGates.filter((gate) => conditions.find((c) => c.type === gate.conditionType)?.status === 'True').length;
    gates = `${passing}/${readinessGates.length}`;
  }

  return {
    cells: [
      nameOf(pod),
      `${readyContainers}/${totalContainers}`,
      reason,
      restartCell,
      ageSince(pod.metadata.creationTimestamp, now),
      podIP,
      text(at(spec, 'nodeName')) || '<none>',
      text(at(status, 'nominatedNodeName')) || '<none>',
      gates,
    ],
    ...(phase === 'Succeeded' ? { conditions: podSucceeded } : phase === 'Failed' ? { conditions: podFailed } : {}),
  };
}

export const podPrinter: KindPrinter = {
  columns: [
    nameColumn,
    column('Ready', 'The aggregate readiness state of this pod for accepting traffic.'),
    column('Status', 'The aggregate status of the containers in this pod.'),
    column('Restarts', 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.'),
    ageColumn,
    wide('IP', 'The IP address allocated to the pod.'),
    wide('Node', 'The node the pod is bound to.'),
    wide('Nominated Node', 'The node the scheduler nominated while preempting others for this pod.'),
    wide('Readiness Gates', 'How many of the pod readiness gates are true.'),
  ],
  print: printPod,
};

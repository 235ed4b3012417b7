/**
 * The probe state machine: a result only flips after `failureThreshold` failures or
 * `successThreshold` successes in a row. Readiness starts as failure (a pod is not ready
 * until proven), liveness as success (a container is alive until proven dead), startup as
 * unknown (liveness and readiness wait for it).
 */
import type { Probe } from './pod-view.ts';

export type ProbeKind = 'liveness' | 'readiness' | 'startup';
export type ProbeResult = 'success' | 'failure' | 'unknown';

export interface ProbeState {
  readonly result: ProbeResult;
  readonly consecutiveSuccesses: number;
  readonly consecutiveFailures: number;
}

export function initialProbeState(kind: ProbeKind): ProbeState {
  const result: ProbeResult = kind === 'liveness' ? 'success' : kind === 'readiness' ? 'failure' : 'unknown';
  return { result, consecutiveSuccesses: 0, consecutiveFailures: 0 };
}

export type ProbeThresholds = Pick<Probe, 'successThreshold' | 'failureThreshold'>;

export function nextProbeState(state: ProbeState, thresholds: ProbeThresholds, succeeded: boolean): ProbeState {
  if (succeeded) {
    const consecutiveSuccesses = state.consecutiveSuccesses + 1;
    const result = consecutiveSuccesses >= thresholds.successThreshold ? 'success' : state.result;
    return { result, consecutiveSuccesses, consecutiveFailures: 0 };
  }
  const consecutiveFailures = state.consecutiveFailures + 1;
  const result = consecutiveFailures >= thresholds.failureThreshold ? 'failure' : state.result;
  return { result, consecutiveSuccesses: 0, consecutiveFailures };
}

/** When a probe first runs after the container started. */
export function firstProbeAtMs(probe: Pick<Probe, 'initialDelaySeconds'>, startedAtMs: number): number {
  return startedAtMs + probe.initialDelaySeconds * 1000;
}

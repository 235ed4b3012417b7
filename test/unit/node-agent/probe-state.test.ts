import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { initialProbeState, nextProbeState, type ProbeState } from '../../../node-agent/probe-state.ts';

function run(start: ProbeState, thresholds: { successThreshold: number; failureThreshold: number }, outcomes: boolean[]): string[] {
  const results: string[] = [];
  let state = start;
  for (const outcome of outcomes) {
    state = nextProbeState(state, thresholds, outcome);
    results.push(state.result);
  }
  return results;
}

describe('probe state machine', () => {
  it('starts liveness as success, readiness as failure and startup as unknown', () => {
    assert.equal(initialProbeState('liveness').result, 'success');
    assert.equal(initialProbeState('readiness').result, 'failure');
    assert.equal(initialProbeState('startup').result, 'unknown');
  });

  it('fails liveness only after failureThreshold failures in a row', () => {
    const results = run(initialProbeState('liveness'), { successThreshold: 1, failureThreshold: 3 }, [false, false, true, false, false, false]);
    assert.deepEqual(results, ['success', 'success', 'success', 'success', 'success', 'failure']);
  });

  it('makes readiness succeed only after successThreshold successes in a row', () => {
    const results = run(initialProbeState('readiness'), { successThreshold: 2, failureThreshold: 1 }, [true, false, true, true]);
    assert.deepEqual(results, ['failure', 'failure', 'failure', 'success']);
  });

  it('takes a ready container out after one failure with failureThreshold 1', () => {
    const results = run(initialProbeState('readiness'), { successThreshold: 1, failureThreshold: 1 }, [true, false, true]);
    assert.deepEqual(results, ['success', 'failure', 'success']);
  });

  it('keeps counting for a startup probe until it decides', () => {
    const results = run(initialProbeState('startup'), { successThreshold: 1, failureThreshold: 2 }, [false, false]);
    assert.deepEqual(results, ['unknown', 'failure']);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ContainerProbes } from '../../../node-agent/container-probes.ts';
import type { Container, Probe } from '../../../node-agent/pod-view.ts';
import { parsePod } from '../../../node-agent/pod-view.ts';
import type { ProbeKind } from '../../../node-agent/probe-state.ts';
import type { ProbeOutcome } from '../../../node-agent/prober.ts';
import { ManualClock } from '../../support/manual-clock.ts';

const t0 = Date.parse('2026-01-01T12:00:00Z');

function container(probes: Partial<Record<`${ProbeKind}Probe`, Record<string, unknown>>>): Container {
  const parsed = parsePod({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'default', uid: 'u' },
    spec: { containers: [{ name: 'app', image: 'nginx', ...probes }] },
  });
  if ('error' in parsed) throw new Error(parsed.error);
  const first = parsed.view.spec.containers[0];
  if (!first) throw new Error('no container');
  return first;
}

/** Probes of one run, with scripted outcomes per kind (the last one repeats) and a log of attempts. */
function probesOf(spec: Container, outcomes: Partial<Record<ProbeKind, boolean[]>>, startedAtMs = t0) {
  const clock = new ManualClock(t0);
  const attempts: string[] = [];
  const results: string[] = [];
  const kindOf = (probe: Probe): ProbeKind => (probe === spec.startupProbe ? 'startup' : probe === spec.livenessProbe ? 'liveness' : 'readiness');
  let release: (() => void) | undefined;
  let holdNext = false;
  const probes = new ContainerProbes({
    container: spec,
    startedAtMs,
    clock,
    async run(probe): Promise<ProbeOutcome> {
      const kind = kindOf(probe);
      attempts.push(`${(clock.now() - t0) / 1000}s ${kind}`);
      if (holdNext) {
        holdNext = false;
        await new Promise<void>((resolve) => {
          release = resolve;
        });
      }
      const script = outcomes[kind] ?? [true];
      const ok = (script.length > 1 ? script.shift() : script[0]) ?? true;
      return ok ? { ok, message: '' } : { ok, message: `${kind} failed` };
    },
    onResult(kind, outcome, before, after) {
      results.push(`${kind} ${outcome.ok ? 'ok' : 'fail'} ${before.result}->${after.result}`);
    },
  });
  return {
    clock,
    probes,
    attempts,
    results,
    hold: () => {
      holdNext = true;
    },
    release: () => release?.(),
  };
}

describe('ContainerProbes', () => {
  it('makes the first attempt initialDelaySeconds after the start, then one every periodSeconds', async () => {
    const { clock, attempts } = probesOf(container({ readinessProbe: { exec: { command: ['true'] }, initialDelaySeconds: 5, periodSeconds: 2 } }), {});
    await clock.advance(4_999);
    assert.deepEqual(attempts, []);
    await clock.advance(5_001);
    assert.deepEqual(attempts, ['5s readiness', '7s readiness', '9s readiness']);
  });

  it('probes at once a run that started longer ago than the initial delay (an adopted container)', async () => {
    const { clock, attempts } = probesOf(container({ livenessProbe: { exec: { command: ['true'] }, initialDelaySeconds: 30 } }), {}, t0 - 60_000);
    await clock.advance(0);
    assert.deepEqual(attempts, ['0s liveness']);
  });

  it('holds liveness and readiness until the startup probe succeeds, then stops probing startup', async () => {
    const spec = container({
      startupProbe: { exec: { command: ['true'] }, periodSeconds: 1, failureThreshold: 10 },
      livenessProbe: { exec: { command: ['true'] }, periodSeconds: 1 },
      readinessProbe: { exec: { command: ['true'] }, periodSeconds: 1 },
    });
    const { clock, probes, attempts, results } = probesOf(spec, { startup: [false, false, true] });
    await clock.advance(1_999);
    assert.deepEqual(attempts, ['0s startup', '1s startup']);
    await clock.advance(1);
    assert.equal(probes.states.startup.result, 'success');
    await clock.advance(1_000);
    // The attempts due at 2 s come after the startup attempt that succeeded at 2 s.
    assert.deepEqual(attempts.slice(2), ['2s startup', '2s liveness', '2s readiness', '3s liveness', '3s readiness']);
    assert.deepEqual(results.slice(0, 5), [
      'startup fail unknown->unknown',
      'startup fail unknown->unknown',
      'startup ok unknown->success',
      'liveness ok success->success',
      'readiness ok failure->success',
    ]);
  });

  it('turns liveness to failure only after failureThreshold failures in a row', async () => {
    const spec = container({ livenessProbe: { exec: { command: ['true'] }, periodSeconds: 1, failureThreshold: 3 } });
    const { clock, probes, results } = probesOf(spec, { liveness: [false, false, true, false, false, false] });
    await clock.advance(4_000);
    assert.equal(probes.states.liveness.result, 'success');
    await clock.advance(1_000);
    assert.equal(probes.states.liveness.result, 'failure');
    assert.equal(results.at(-1), 'liveness fail success->failure');
  });

  it('makes no more attempts once stopped, drops the result of one in flight, and keeps its states', async () => {
    const spec = container({ readinessProbe: { exec: { command: ['true'] }, periodSeconds: 1 } });
    const harness = probesOf(spec, {});
    await harness.clock.advance(1_000);
    assert.equal(harness.probes.states.readiness.result, 'success');
    harness.hold();
    await harness.clock.advance(1_000);
    assert.equal(harness.attempts.length, 3);
    harness.probes.stop();
    harness.release();
    await harness.clock.advance(10_000);
    assert.equal(harness.attempts.length, 3);
    assert.equal(harness.results.length, 2);
    assert.equal(harness.clock.pending, 0);
    assert.equal(harness.probes.states.readiness.result, 'success');
  });
});

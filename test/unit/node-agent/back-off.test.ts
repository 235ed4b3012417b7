import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kubeletBackOff, nextCrashCount, restartDelayMs, shouldRestart } from '../../../node-agent/back-off.ts';

describe('restartDelayMs', () => {
  const table: [crashes: number, delayMs: number][] = [
    [1, 0],
    [2, 10_000],
    [3, 20_000],
    [4, 40_000],
    [5, 80_000],
    [6, 160_000],
    [7, 300_000],
    [20, 300_000],
  ];
  for (const [crashes, delayMs] of table) {
    it(`waits ${delayMs / 1000} s before restarting after crash number ${crashes}`, () => {
      assert.equal(restartDelayMs(crashes), delayMs);
    });
  }

  it('follows a custom policy', () => {
    assert.equal(restartDelayMs(3, { initialMs: 100, maxMs: 250 }), 200);
    assert.equal(restartDelayMs(4, { initialMs: 100, maxMs: 250 }), 250);
  });
});

describe('nextCrashCount', () => {
  it('counts crashes in a row', () => {
    assert.equal(nextCrashCount(3, 1000), 4);
  });
  it('starts over after a run of twice the maximum back-off', () => {
    assert.equal(nextCrashCount(6, 2 * kubeletBackOff.maxMs), 1);
  });
});

describe('shouldRestart', () => {
  const table: [policy: 'Always' | 'OnFailure' | 'Never', exitCode: number, restart: boolean][] = [
    ['Always', 0, true],
    ['Always', 1, true],
    ['OnFailure', 0, false],
    ['OnFailure', 137, true],
    ['Never', 0, false],
    ['Never', 1, false],
  ];
  for (const [policy, exitCode, restart] of table) {
    it(`${restart ? 'restarts' : 'does not restart'} a container that exited ${exitCode} under ${policy}`, () => {
      assert.equal(shouldRestart(policy, exitCode), restart);
    });
  }
});

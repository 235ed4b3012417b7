import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { percentile, summarize } from '../../../bench/percentiles.ts';

describe('bench percentiles', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => 100 - i);

  for (const [fraction, expected] of [
    [0.5, 50],
    [0.99, 99],
    [1, 100],
    [0, 1],
  ] as const) {
    it(`takes the nearest-rank ${fraction * 100}th percentile of 1..100 as ${expected}`, () => {
      assert.equal(percentile(hundred, fraction), expected);
    });
  }

  it('gives the only sample for every percentile of one sample', () => {
    assert.deepEqual(summarize([7.123]), { samples: 1, p50: 7.12, p99: 7.12, max: 7.12 });
  });

  it('reports NaN, not zero, when there are no samples', () => {
    const summary = summarize([]);
    assert.equal(summary.samples, 0);
    assert.ok(Number.isNaN(summary.p50));
    assert.ok(Number.isNaN(summary.p99));
  });

  it('leaves the samples it was given in their order', () => {
    const samples = [3, 1, 2];
    summarize(samples);
    assert.deepEqual(samples, [3, 1, 2]);
  });
});

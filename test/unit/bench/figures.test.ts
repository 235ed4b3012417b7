import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { figureAt, missingFigures, requiredFigures } from '../../../bench/figures.ts';
import { formatTable } from '../../../bench/summary-table.ts';

describe('bench figures', () => {
  it('reads dotted paths through objects and arrays', () => {
    assert.equal(figureAt({ a: { runs: [{ x: 1 }, { x: 2 }] } }, 'a.runs.1.x'), 2);
    assert.equal(figureAt({ a: 1 }, 'a.b.c'), undefined);
  });

  it('names every figure that is missing, not a number, or an empty date', () => {
    const results = { a: { p50: 1, p99: Number.NaN }, b: '', c: '2025-06-01' };
    assert.deepEqual(missingFigures(results, ['a.p50', 'a.p99', 'a.max', 'b', 'c']), ['a.p99', 'a.max', 'b']);
  });

  it('requires the figures issue 5 names: latencies, throughput at three node counts, startup, scale and four cost scenarios', () => {
    for (const path of [
      'apiLatency.listLarge.api.p99',
      'apiLatency.watchDelivery.p99',
      'scheduling.runs.2.podsPerSecond',
      'podStartup.p99',
      'scale.maxPods',
      'cost.scenarios.idleNode.monthlyUsd.total',
      'cost.scenarios.rollout1000Pods.units.webSocketConnectionMinutes',
      'cost.eksMonthlyUsd',
    ]) {
      assert.ok(requiredFigures.includes(path), path);
    }
  });

  it('prints a table row for each figure even when results are missing', () => {
    const table = formatTable({});
    assert.match(table, /API create p50 \/ p99 +n\/a \/ n\/a/);
    assert.match(table, /cost: idle control plane +\$n\/a\/month +EKS \$n\/a\/month/);
  });
});

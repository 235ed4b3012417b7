/**
 * Latency summaries for the benchmark: nearest-rank percentiles, so a p99 of 100 samples is
 * the 99th slowest sample rather than an interpolation between two measured values.
 */

export interface LatencySummary {
  readonly samples: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

/** Nearest-rank percentile of `values` (any order); NaN for no values. */
export function percentile(values: readonly number[], fraction: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(fraction * sorted.length)));
  return sorted[rank - 1] ?? Number.NaN;
}

/** p50 / p99 / max in milliseconds, rounded to 0.01 ms. */
export function summarize(values: readonly number[]): LatencySummary {
  const round = (value: number): number => Math.round(value * 100) / 100;
  return {
    samples: values.length,
    p50: round(percentile(values, 0.5)),
    p99: round(percentile(values, 0.99)),
    max: round(values.length === 0 ? Number.NaN : Math.max(...values)),
  };
}

/**
 * Median and interquartile range of a cell's repeats. tinybench gives
 * percentiles of one task's samples but no first quartile, and a cell's
 * repeats are not one tinybench task (o3ml and the peer alternate between
 * them), so the quartiles are computed here, the way tinybench and Python's
 * `statistics.quantiles(method="inclusive")` compute percentiles: linear
 * interpolation between the closest ranks.
 */

export interface Spread {
  repeats: number;
  median: number;
  q1: number;
  q3: number;
  /** q3 − q1, in the figure's unit. */
  iqr: number;
  /** Every repeat's value, in the order they were measured. */
  values: number[];
}

/** The p-th percentile (0–100) of ascending `sorted`. */
export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  const rank = ((sorted.length - 1) * p) / 100;
  const low = Math.floor(rank);
  const high = Math.min(low + 1, sorted.length - 1);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (rank - low);
}

export function spread(values: number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const q1 = percentile(sorted, 25);
  const q3 = percentile(sorted, 75);
  return { repeats: values.length, median: percentile(sorted, 50), q1, q3, iqr: q3 - q1, values };
}

/** True when two spreads' interquartile ranges do not overlap: a difference the repeats can tell. */
export function distinct(a: Pick<Spread, "q1" | "q3">, b: Pick<Spread, "q1" | "q3">): boolean {
  return a.q3 < b.q1 || b.q3 < a.q1;
}

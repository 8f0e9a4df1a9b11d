import { MIN_PERSONAL_REPORTS } from '@chorus/core';

/** Linear-interpolation quantile of sorted values (NumPy's default), q in [0, 1]. */
export function quantileSorted(sorted: readonly number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/**
 * The distribution over a round's participants of `personalGainPp` (own model's minus the shared
 * model's held-out accuracy, in points), as aggregates only: deciles 1, 5 and 9, the share who
 * gained, and how many reported. Nothing when fewer than MIN_PERSONAL_REPORTS reported.
 */
export function personalGainMetrics(gains: readonly number[]): Record<string, number> {
  const finite = gains.filter((g) => Number.isFinite(g));
  if (finite.length < MIN_PERSONAL_REPORTS) return {};
  const sorted = [...finite].sort((a, b) => a - b);
  return {
    personalGainP10: quantileSorted(sorted, 0.1),
    personalGainMedian: quantileSorted(sorted, 0.5),
    personalGainP90: quantileSorted(sorted, 0.9),
    personalGainImprovedShare: sorted.filter((g) => g > 0).length / sorted.length,
    personalGainClients: sorted.length,
  };
}

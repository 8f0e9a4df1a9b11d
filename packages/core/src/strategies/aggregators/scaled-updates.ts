import type { RoundAggregator } from '../strategy.js';
import { scaleUpdate } from './norm-bound.js';

/**
 * Applies each update's `scale` (FedBuff's staleness weight) only where it reaches the base
 * aggregator. Every wrapper above (norm bound, DP) therefore clips the update as its participant
 * sent it and the weight shrinks the clipped update: a stale update longer than C counts s(τ)·C,
 * not C, and one update still moves the sum by at most C (s ≤ 1), the sensitivity DP's noise is
 * calibrated to. Clipping an already-scaled update would count a clipped stale update in full.
 */
export function createScaledUpdateAggregator(inner: RoundAggregator): RoundAggregator {
  return {
    streaming: inner.streaming,
    add(u) {
      const s = u.scale;
      if (s === undefined || s === 1) return inner.add(u);
      // A weight above 1 would let one update move the sum by more than the clip norm.
      if (!(s > 0 && s <= 1)) return { status: 'rejected', code: 'BAD_REQUEST', reason: `update scale ${s} is outside (0, 1]` };
      const { scale: _applied, ...rest } = u;
      return inner.add({ ...rest, update: scaleUpdate(u.update, s) });
    },
    finish: (failures) => inner.finish(failures),
  };
}

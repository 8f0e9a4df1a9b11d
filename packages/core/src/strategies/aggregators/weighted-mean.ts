import { ChorusError } from '../../errors/chorus-error.js';
import { allocateFoldTarget } from '../../kernels/fold-kernel.js';
import { assertSameLayout } from '../../weights/layout.js';
import type { AddOutcome, AggregateResult, ClientFailure, ClientUpdate, RoundAggregator, RoundContext } from '../strategy.js';
import { createClientMetricsMean } from './weighted-mean-metrics.js';

/**
 * FedAvg's combination rule, streaming: each update is folded, still encoded, into one running sum
 * weighted by its example count, so memory stays O(model) however many clients report. The sum lives
 * in the SIMD fold kernel's memory when the engine has one.
 */
export function createWeightedMeanAggregator(ctx: RoundContext): RoundAggregator {
  const length = ctx.global.length;
  let sum: Float32Array | null = null;
  let totalExamples = 0;
  let updates = 0;
  const seen = new Set<string>();
  const clientMetrics = createClientMetricsMean();
  let finished: { result: AggregateResult | null } | null = null;

  function reject(code: ChorusError['code'], reason: string): AddOutcome {
    return { status: 'rejected', code, reason };
  }

  return {
    streaming: true,

    add(u: ClientUpdate): AddOutcome {
      if (finished) return reject('ROUND_CLOSED', 'the round has already been aggregated');
      if (seen.has(u.participantId)) return reject('DUPLICATE_UPDATE', `client ${u.participantId} already sent an update this round`);
      if (!Number.isFinite(u.numExamples) || u.numExamples <= 0) {
        return reject('BAD_REQUEST', `numExamples must be a positive number, got ${u.numExamples}`);
      }
      if (u.update.length !== length) {
        return reject('SHAPE_MISMATCH', `update has ${u.update.length} values; the model has ${length}`);
      }
      try {
        assertSameLayout(ctx.layout, u.update.layout);
        sum ??= allocateFoldTarget(length);
        u.update.foldInto(sum, u.numExamples);
      } catch (err) {
        const e = ChorusError.from(err);
        return reject(e.code, e.message);
      }
      seen.add(u.participantId);
      updates += 1;
      totalExamples += u.numExamples;
      clientMetrics.add(u.metrics, u.numExamples);
      return { status: 'accepted' };
    },

    finish(failures: readonly ClientFailure[]): AggregateResult | null {
      if (finished) return finished.result;
      if (!sum || updates === 0) {
        finished = { result: null };
        return null;
      }
      const delta = new Float32Array(length);
      const inverse = 1 / totalExamples;
      for (let i = 0; i < length; i++) delta[i] = sum[i]! * inverse;
      // The kernel memory (twice the model) can go now; only the result is kept.
      sum = null;
      const result = {
        delta,
        metrics: { ...clientMetrics.result(), clients: updates, examples: totalExamples, failures: failures.length },
      };
      finished = { result };
      return result;
    },
  };
}

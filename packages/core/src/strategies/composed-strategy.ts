import type { RandomSource } from '../codecs/codec.js';
import { ChorusError } from '../errors/chorus-error.js';
import { createDpController, type PrivacyReport } from '../privacy/dp-aggregator.js';
import type { AggregationOptions } from './aggregation-options.js';
import { checkAggregationOptions } from './aggregation-options.js';
import { getAggregator } from './aggregators/aggregator-registry.js';
import { createNormBoundAggregator } from './aggregators/norm-bound.js';
import { createScaledUpdateAggregator } from './aggregators/scaled-updates.js';
import type { ServerOptimizer } from './server-optimizers/server-optimizer.js';
import { decodeStrategyState, encodeStrategyState } from './state-bytes.js';
import type { FitOverrides, Strategy } from './strategy.js';

/** A strategy that may spend privacy; the server stops the task when `configureFit`/`beginRound` throw BUDGET_EXHAUSTED. */
export interface PrivacyAwareStrategy extends Strategy {
  /** (ε, δ) spent so far, or null when the strategy adds no DP noise. */
  privacySpent(): PrivacyReport | null;
}

export interface ComposedStrategyInit {
  readonly id: string;
  /** Parsed aggregation options (aggregator, norm bound, DP). */
  readonly options: AggregationOptions;
  readonly optimizer: ServerOptimizer;
  /** Added to every round's training config (FedProx's proxMu). */
  readonly fitOverrides?: FitOverrides;
  /** Noise source for DP; the platform CSPRNG unless a test injects one. */
  readonly random?: RandomSource;
}

/**
 * strategy = server optimizer ∘ (DP ∘ norm bound ∘ update scale ∘ aggregator). Each part is chosen by options or by
 * the registered id; nothing here switches on names.
 */
export function createComposedStrategy(init: ComposedStrategyInit): PrivacyAwareStrategy {
  const o = init.options;
  checkAggregationOptions(o);
  const base = getAggregator(o.aggregator)!;
  const dp = o.dp ? createDpController(o.dp, init.random) : null;
  const params = { trimBeta: o.trimBeta, krumF: o.krumF, krumWeighted: o.krumWeighted, ...(o.krumM !== undefined ? { krumM: o.krumM } : {}) };
  const overrides = init.fitOverrides ?? {};

  return {
    id: init.id,
    configureFit() {
      dp?.checkBudget();
      return overrides;
    },
    beginRound(ctx) {
      dp?.checkBudget(ctx);
      // Innermost: the update scale applies after the norm bound's and DP's clipping.
      let agg = createScaledUpdateAggregator(base.create(ctx, params));
      if (o.clipNorm !== undefined) agg = createNormBoundAggregator(agg, o.clipNorm);
      if (dp) agg = dp.wrap(ctx, agg);
      return agg;
    },
    applyAggregate(global, result) {
      if (result.delta.length !== global.length) {
        throw new ChorusError('SHAPE_MISMATCH', `${init.id}: aggregated delta has ${result.delta.length} values; the model has ${global.length}`);
      }
      return init.optimizer.step(global, result.delta);
    },
    exportState() {
      const arrays = init.optimizer.exportState();
      if (arrays.length === 0 && !dp) return null;
      return encodeStrategyState({ meta: dp ? { dp: dp.exportState() } : {}, arrays });
    },
    importState(bytes) {
      const state = decodeStrategyState(bytes);
      init.optimizer.importState(state.arrays);
      if (dp && state.meta.dp) dp.importState(state.meta.dp as Record<string, unknown>);
    },
    privacySpent: () => (dp ? dp.privacySpent() : null),
  };
}

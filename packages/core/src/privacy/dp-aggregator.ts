import type { RandomSource } from '../codecs/codec.js';
import { ChorusError } from '../errors/chorus-error.js';
import { scaleUpdate } from '../strategies/aggregators/norm-bound.js';
import type { RoundAggregator, RoundContext } from '../strategies/strategy.js';
import { countStddev, deltaNoiseMultiplier, type DpOptions } from './dp-options.js';
import { addGaussianNoise, createSecureRandom, gaussianSample } from './gaussian-noise.js';
import { createRdpAccountant } from './rdp-accountant.js';

export interface PrivacyReport {
  readonly epsilon: number;
  readonly delta: number;
}

/** Cross-round DP state: clip norm, accountant, budget. Wraps each round's aggregator. */
export interface DpController {
  /** Throws BUDGET_EXHAUSTED when one more round at `sampleRate` would take ε above the budget. */
  checkBudget(ctx?: Pick<RoundContext, 'selected' | 'population'>): void;
  wrap(ctx: RoundContext, inner: RoundAggregator): RoundAggregator;
  privacySpent(): PrivacyReport;
  clipNorm(): number;
  exportState(): Record<string, unknown>;
  importState(meta: Record<string, unknown>): void;
}

function roundSampleRate(o: DpOptions, ctx?: Pick<RoundContext, 'selected' | 'population'>): number {
  if (o.sampleRate !== undefined) return o.sampleRate;
  if (ctx && ctx.population > 0) return Math.min(1, ctx.selected / ctx.population);
  return 1;
}

/**
 * DP-FedAvg (McMahan et al. 2018), server side. Each update is clipped to C and counted with weight
 * 1 (example counts would let one client's influence exceed C). The sum gets N(0, (z_Δ·C)²) noise
 * and is divided by `expectedClients` (or the count received), so the average's noise std is
 * z_Δ·C/D. The inner aggregator must be the streaming mean.
 *
 * With secure aggregation the participants clip (strictly, after quantization) and the server only
 * sees their mean: an update with `meanOf: n` counts as n clipped updates of weight 1, so the sum,
 * the noise and the accountant's step are exactly those of a plain round with the same n.
 */
export function createDpController(o: DpOptions, random: RandomSource = createSecureRandom()): DpController {
  let clip = o.clipNorm;
  let lastRate: number | undefined = o.sampleRate;
  const accountant = createRdpAccountant({ noiseMultiplier: o.noiseMultiplier, sampleRate: o.sampleRate ?? 1, delta: o.targetDelta });
  const zDelta = deltaNoiseMultiplier(o);
  const sb = countStddev(o);
  const spent = (): PrivacyReport => ({ epsilon: o.noiseMultiplier === 0 ? Infinity : accountant.epsilon(), delta: o.targetDelta });

  return {
    checkBudget(ctx) {
      if (o.epsilonBudget === undefined) return;
      const rate = ctx ? roundSampleRate(o, ctx) : lastRate;
      const now = spent().epsilon;
      const next = rate === undefined ? now : o.noiseMultiplier === 0 ? Infinity : accountant.epsilonAfter(1, rate);
      if (next > o.epsilonBudget) {
        throw new ChorusError('BUDGET_EXHAUSTED', `privacy budget spent: ε = ${now.toFixed(3)} (δ = ${o.targetDelta}); one more round would reach ${next.toFixed(3)} > epsilonBudget ${o.epsilonBudget}`);
      }
    },
    wrap(ctx, inner) {
      const c = clip;
      let count = 0;
      let clipped = 0;
      /** Updates that came already clipped, inside a secure round's mean: how many of them were clipped is unknown. */
      let summed = 0;
      // The mean of n updates clipped to C is within C of zero; a longer one was not clipped to this C.
      // (The slack is float32 rounding of the decoded mean, never a whole quantization step.)
      const addMean = (u: Parameters<RoundAggregator['add']>[0], norm: number): ReturnType<RoundAggregator['add']> => {
        const n = u.meanOf!;
        if (!Number.isInteger(n) || n < 1) return { status: 'rejected', code: 'BAD_REQUEST', reason: `a mean of ${n} updates` };
        // Adaptive clipping moves C by the share of updates that needed clipping, unknown inside a sum.
        if (o.adaptiveClipping) return { status: 'rejected', code: 'INVALID_CONFIG', reason: 'adaptive clipping needs each update\'s norm; a securely aggregated mean does not tell it' };
        if (norm > c * (1 + 1e-5)) {
          return { status: 'rejected', code: 'OUT_OF_BOUNDS', reason: `the mean of ${n} updates has norm ${norm.toPrecision(4)}, above the DP clip norm ${c.toPrecision(4)} each was to be clipped to` };
        }
        const outcome = inner.add({ ...u, numExamples: n });
        if (outcome.status !== 'accepted') return outcome;
        count += n;
        summed += n;
        return outcome;
      };
      return {
        streaming: inner.streaming,
        add(u) {
          const norm = u.update.l2Norm();
          if (!Number.isFinite(norm)) return { status: 'rejected', code: 'NON_FINITE', reason: 'update norm is not finite' };
          if (u.meanOf !== undefined) return addMean(u, norm);
          const over = norm > c;
          const outcome = inner.add({ ...u, numExamples: 1, update: over ? scaleUpdate(u.update, c / norm) : u.update });
          if (outcome.status !== 'accepted') return outcome;
          count++;
          if (!over) return outcome;
          clipped++;
          return { status: 'accepted', note: `clipped from ${norm.toPrecision(4)} to ${c.toPrecision(4)} for DP` };
        },
        finish(failures) {
          const r = inner.finish(failures);
          if (!r || count === 0) return r;
          const d = o.expectedClients ?? count;
          const delta = r.delta.slice();
          const scale = count / d;
          for (let i = 0; i < delta.length; i++) delta[i]! *= scale;
          const noiseStd = (zDelta * c) / d;
          addGaussianNoise(delta, noiseStd, random);
          const rate = roundSampleRate(o, ctx);
          lastRate = rate;
          accountant.step(1, rate);
          if (o.adaptiveClipping) {
            // No draw at all when σ_b = 0, so a noiseless run never touches the noise source.
            const unclippedShare = (count - clipped + (sb > 0 ? gaussianSample(sb, random) : 0)) / d;
            clip = c * Math.exp(-o.adaptiveClipping.learningRate * (unclippedShare - o.adaptiveClipping.targetQuantile));
          }
          const { epsilon, delta: dlt } = spent();
          return {
            ...r,
            delta,
            metrics: { ...r.metrics, clipNorm: c, noiseStd, ...(summed < count ? { fractionClipped: clipped / (count - summed) } : {}), sampleRate: rate, epsilon, delta: dlt },
          };
        },
      };
    },
    privacySpent: spent,
    clipNorm: () => clip,
    exportState: () => ({ clipNorm: clip, rdp: accountant.exportRdp(), ...(lastRate !== undefined ? { lastRate } : {}) }),
    importState(meta) {
      if (typeof meta.clipNorm !== 'number' || !Array.isArray(meta.rdp)) throw new ChorusError('BAD_REQUEST', 'strategy state: DP section lacks clipNorm or rdp');
      clip = meta.clipNorm;
      accountant.importRdp(meta.rdp as number[]);
      if (typeof meta.lastRate === 'number') lastRate = meta.lastRate;
    },
  };
}

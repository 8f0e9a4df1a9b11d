import { describe, expect, it } from 'vitest';
import { createSeededRandom } from '../random/seeded-random.js';
import { createWeightedMeanAggregator } from '../strategies/aggregators/weighted-mean.js';
import { OPTIMIZER_STRATEGIES } from '../strategies/optimizer-strategies.js';
import type { PrivacyAwareStrategy } from '../strategies/composed-strategy.js';
import { float32Update, roundContext, vectorLayout } from '../strategies/update-fixtures.test-helper.js';
import { createDpController } from './dp-aggregator.js';
import { dpOptionsSchema, type DpOptionsInput } from './dp-options.js';
import { computeRdp, DEFAULT_RDP_ORDERS, rdpToEpsilon } from './rdp-accountant.js';

const dp = (o: DpOptionsInput, seed = 1) => createDpController(dpOptionsSchema.parse(o), createSeededRandom(seed));

function dpRound(ctl: ReturnType<typeof dp>, length: number, updates: number[][], selected = 10, population = 100) {
  const ctx = roundContext(new Array(length).fill(0), 1, selected, population);
  const agg = ctl.wrap(ctx, createWeightedMeanAggregator(ctx));
  const outcomes = updates.map((u, i) => agg.add(float32Update(`c${i}`, u, 100 * (i + 1))));
  return { outcomes, result: agg.finish([])! };
}

describe('DP-FedAvg aggregation', () => {
  it('clips each update to C and averages unweighted over expectedClients', () => {
    // Prepare
    const ctl = dp({ clipNorm: 1, noiseMultiplier: 0, expectedClients: 4 });
    // Execute: example counts 100 and 200 must not matter
    const { outcomes, result } = dpRound(ctl, 2, [[3, 4], [0.1, 0]]);
    // Assert
    expect(outcomes[0]).toEqual({ status: 'accepted', note: 'clipped from 5.000 to 1.000 for DP' });
    expect([...result.delta].map((v) => +v.toFixed(6))).toEqual([0.175, 0.2]);
    expect(result.metrics).toMatchObject({ clipNorm: 1, noiseStd: 0, fractionClipped: 0.5, epsilon: Infinity, delta: 1e-5 });
  });

  it('adds noise with std z·C/D to the average', () => {
    const ctl = dp({ clipNorm: 2, noiseMultiplier: 1, expectedClients: 4 }, 3);
    const zeros = new Array(20_000).fill(0);
    const { result } = dpRound(ctl, 20_000, [zeros, zeros]);
    const std = Math.sqrt(result.delta.reduce((s, v) => s + v * v, 0) / result.delta.length);
    expect(result.metrics.noiseStd).toBe(0.5);
    expect(std).toBeGreaterThan(0.49);
    expect(std).toBeLessThan(0.51);
  });

  it('reports the accountant ε per round at the round sampling rate selected/population', () => {
    const ctl = dp({ clipNorm: 1, noiseMultiplier: 1.2 });
    dpRound(ctl, 2, [[1, 0]]);
    const { result } = dpRound(ctl, 2, [[1, 0]]);
    const want = rdpToEpsilon(DEFAULT_RDP_ORDERS, computeRdp(0.1, 1.2, 2), 1e-5).epsilon;
    expect(result.metrics.epsilon).toBeCloseTo(want, 10);
    expect(result.metrics.sampleRate).toBe(0.1);
    expect(ctl.privacySpent()).toEqual({ epsilon: result.metrics.epsilon, delta: 1e-5 });
  });

  it('adaptive clipping shrinks C when every update is under it and grows it when all are clipped', () => {
    const opts = { clipNorm: 1, noiseMultiplier: 0.5, expectedClients: 10, adaptiveClipping: { countStddev: 0.3 } };
    const small = dp(opts);
    dpRound(small, 2, new Array(10).fill([0.01, 0]));
    expect(small.clipNorm()).toBeGreaterThan(Math.exp(-0.1) - 0.01);
    expect(small.clipNorm()).toBeLessThan(Math.exp(-0.1) + 0.01);
    const big = dp(opts);
    dpRound(big, 2, new Array(10).fill([5, 0]));
    expect(big.clipNorm()).toBeGreaterThan(Math.exp(0.1) - 0.01);
    expect(big.clipNorm()).toBeLessThan(Math.exp(0.1) + 0.01);
  });

  it('adds no noise to the clipped count when the noise multiplier is 0 (Flower parity)', () => {
    // Prepare: C = 1, γ = 0.5, η_C = 0.2; 3 of 4 updates are under C, so b̄ = 0.75 exactly.
    // Expected: C·exp(−0.2·(0.75 − 0.5)) = exp(−0.05), the same for every noise seed.
    const opts = { clipNorm: 1, noiseMultiplier: 0, adaptiveClipping: {} };
    const updates = [[0.5, 0], [0, 0.5], [0.3, 0.4], [3, 4]];
    const a = dp(opts, 1);
    const b = dp(opts, 2);
    // Execute
    dpRound(a, 2, updates);
    dpRound(b, 2, updates);
    // Assert
    expect(a.clipNorm()).toBe(0.951229424500714);
    expect(b.clipNorm()).toBe(0.951229424500714);
  });

  it('honours an explicit countStddev even without update noise (as Flower does)', () => {
    const opts = { clipNorm: 1, noiseMultiplier: 0, adaptiveClipping: { countStddev: 0.5 } };
    const a = dp(opts, 1);
    dpRound(a, 2, [[0.5, 0], [0, 0.5], [0.3, 0.4], [3, 4]]);
    expect(a.clipNorm()).not.toBe(0.951229424500714);
  });

  it('still needs expectedClients for adaptive clipping with noise', () => {
    const r = dpOptionsSchema.safeParse({ clipNorm: 1, noiseMultiplier: 0.5, adaptiveClipping: {} });
    expect(r.error?.issues[0]).toMatchObject({ path: ['expectedClients'], message: 'is required with adaptiveClipping and noise (the count noise is scaled by it)' });
  });

  it('rejects count noise too small for the noise multiplier', () => {
    const r = dpOptionsSchema.safeParse({ clipNorm: 1, noiseMultiplier: 1, expectedClients: 10, adaptiveClipping: {} });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toBe('count noise 0.5 is too small for noiseMultiplier 1: need 2·countStddev > noiseMultiplier');
  });
});

describe('DP strategy budget and checkpoints', () => {
  const strategy = (extra: Record<string, unknown> = {}) =>
    OPTIMIZER_STRATEGIES.find((r) => r.id === 'fedavgm')!.create(
      { momentum: 0, dp: { clipNorm: 1, noiseMultiplier: 1, sampleRate: 0.5, ...extra } },
      vectorLayout(2),
    ) as PrivacyAwareStrategy;

  function play(s: PrivacyAwareStrategy, r: number) {
    s.configureFit(r);
    const ctx = roundContext([0, 0], r);
    const agg = s.beginRound(ctx);
    agg.add(float32Update('a', [1, 0]));
    return s.applyAggregate(ctx.global, agg.finish([])!, r);
  }

  it('throws BUDGET_EXHAUSTED before the round that would exceed epsilonBudget', () => {
    // Prepare: budget that allows exactly two rounds at q = 0.5, σ = 1
    const two = rdpToEpsilon(DEFAULT_RDP_ORDERS, computeRdp(0.5, 1, 2), 1e-5).epsilon;
    const s = strategy({ epsilonBudget: two + 1e-9 });
    // Execute
    play(s, 1);
    play(s, 2);
    // Assert
    expect(() => s.configureFit(3)).toThrow(expect.objectContaining({ code: 'BUDGET_EXHAUSTED' }));
    expect(() => s.beginRound(roundContext([0, 0], 3))).toThrow(/epsilonBudget/);
    expect(s.privacySpent()?.epsilon).toBeCloseTo(two, 10);
  });

  it('restores the accountant and clip norm from exportState', () => {
    const a = strategy({ expectedClients: 20, adaptiveClipping: { countStddev: 1 } });
    play(a, 1);
    play(a, 2);
    const b = strategy({ expectedClients: 20, adaptiveClipping: { countStddev: 1 } });
    b.importState(a.exportState()!);
    expect(b.privacySpent()).toEqual(a.privacySpent());
    expect(b.exportState()).toEqual(a.exportState());
  });
});

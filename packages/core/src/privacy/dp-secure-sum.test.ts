import { describe, expect, it } from 'vitest';
import { createSeededRandom, gaussian } from '../random/seeded-random.js';
import { createWeightedMeanAggregator } from '../strategies/aggregators/weighted-mean.js';
import { float32Update, roundContext } from '../strategies/update-fixtures.test-helper.js';
import { createDpController } from './dp-aggregator.js';
import { dpOptionsSchema, type DpOptionsInput } from './dp-options.js';
import { planPrivacy } from './privacy-plan.js';

// Central DP on a secure round: the strategy gets one update, the mean of n updates that their
// participants clipped to C, marked `meanOf: n`. Sum, noise and accountant must be a plain round's.

const LENGTH = 20_000;
const controller = (o: DpOptionsInput, seed: number) => createDpController(dpOptionsSchema.parse(o), createSeededRandom(seed));

/** n updates of norm `norm` in random directions. */
function updates(n: number, norm: number, seed: number): number[][] {
  const random = createSeededRandom(seed);
  return Array.from({ length: n }, () => {
    const v = Array.from({ length: LENGTH }, () => gaussian(random));
    const s = norm / Math.sqrt(v.reduce((a, x) => a + x * x, 0));
    return v.map((x) => x * s);
  });
}

function clippedMean(us: number[][], c: number): number[] {
  const mean = new Array(LENGTH).fill(0);
  for (const u of us) {
    const norm = Math.sqrt(u.reduce((a, x) => a + x * x, 0));
    const f = norm > c ? c / norm : 1;
    for (let i = 0; i < LENGTH; i++) mean[i] += (u[i]! * f) / us.length;
  }
  return mean;
}

function round(ctl: ReturnType<typeof controller>, add: (agg: ReturnType<ReturnType<typeof controller>['wrap']>) => void, selected = 10, population = 100) {
  const ctx = roundContext(new Array(LENGTH).fill(0), 1, selected, population);
  const agg = ctl.wrap(ctx, createWeightedMeanAggregator(ctx));
  add(agg);
  return agg.finish([])!;
}

describe('central DP on a securely aggregated mean', () => {
  const opts: DpOptionsInput = { clipNorm: 1, noiseMultiplier: 0.8, sampleRate: 0.05 };
  const us = updates(5, 3, 11);
  const mean = clippedMean(us, 1);

  it('without noise, the mean of n clipped updates gives exactly the plain round\'s delta', () => {
    const quiet = { ...opts, noiseMultiplier: 0 };
    const plain = round(controller(quiet, 1), (agg) => us.forEach((u, i) => agg.add(float32Update(`c${i}`, u, 10 * (i + 1)))));
    const secure = round(controller(quiet, 1), (agg) => agg.add({ ...float32Update('secure-aggregate', mean, 5), meanOf: 5 }));
    for (let i = 0; i < LENGTH; i += 997) expect(secure.delta[i]!).toBeCloseTo(plain.delta[i]!, 6);
    // Nobody knows how many of the five needed clipping: no fractionClipped is made up.
    expect(secure.metrics.fractionClipped).toBeUndefined();
    expect(plain.metrics.fractionClipped).toBe(1);
  });

  it('adds N(0, (z·C/n)²) to every value: the std measured over 20,000 values', () => {
    const result = round(controller(opts, 7), (agg) => agg.add({ ...float32Update('secure-aggregate', mean, 5), meanOf: 5 }));
    const residual = Array.from(result.delta, (v, i) => v - mean[i]!);
    const avg = residual.reduce((a, x) => a + x, 0) / LENGTH;
    const std = Math.sqrt(residual.reduce((a, x) => a + (x - avg) ** 2, 0) / LENGTH);
    // z·C/n = 0.8 / 5 = 0.16; the estimate's own spread is 0.16/√(2·20,000) ≈ 0.0008.
    expect(result.metrics.noiseStd).toBeCloseTo(0.16, 12);
    expect(std).toBeGreaterThan(0.16 * 0.98);
    expect(std).toBeLessThan(0.16 * 1.02);
    expect(Math.abs(avg)).toBeLessThan((4 * 0.16) / Math.sqrt(LENGTH));
  });

  it('divides by expectedClients as a plain round does: the noise is z·C/D whatever n survived', () => {
    const mean5 = (o: DpOptionsInput, seed: number) => round(controller(o, seed), (agg) => agg.add({ ...float32Update('secure-aggregate', mean, 5), meanOf: 5 }));
    // The signal is the sum over the 5 divided by 8.
    const quiet = mean5({ ...opts, noiseMultiplier: 0, expectedClients: 8 }, 9);
    for (let i = 0; i < LENGTH; i += 997) expect(quiet.delta[i]!).toBeCloseTo((mean[i]! * 5) / 8, 6);
    const noisy = mean5({ ...opts, expectedClients: 8 }, 9);
    const residual = Array.from(noisy.delta, (v, i) => v - (mean[i]! * 5) / 8);
    const std = Math.sqrt(residual.reduce((a, x) => a + x * x, 0) / LENGTH);
    expect(noisy.metrics.noiseStd).toBeCloseTo(0.1, 12);
    expect(std).toBeGreaterThan(0.1 * 0.98);
    expect(std).toBeLessThan(0.1 * 1.02);
  });

  it('the accountant advances exactly as for a plain DP round with the same settings', () => {
    const plainCtl = controller(opts, 1);
    const secureCtl = controller(opts, 2);
    for (let r = 0; r < 3; r++) {
      round(plainCtl, (agg) => us.forEach((u, i) => agg.add(float32Update(`c${i}`, u, 1))));
      round(secureCtl, (agg) => agg.add({ ...float32Update('secure-aggregate', mean, 5), meanOf: 5 }));
    }
    const want = planPrivacy({ noiseMultiplier: 0.8, sampleRate: 0.05, delta: 1e-5, rounds: 3 }).epsilon;
    expect(secureCtl.privacySpent().epsilon).toBeCloseTo(plainCtl.privacySpent().epsilon, 12);
    expect(secureCtl.privacySpent().epsilon).toBeCloseTo(want, 9);
    expect(Number.isFinite(want) && want > 0).toBe(true);
  });

  it('refuses a mean longer than C (its participants did not clip to this C) and counts nothing', () => {
    const ctl = controller(opts, 3);
    const long = mean.map((x) => x * 10);
    const ctx = roundContext(new Array(LENGTH).fill(0), 1, 10, 100);
    const agg = ctl.wrap(ctx, createWeightedMeanAggregator(ctx));
    const outcome = agg.add({ ...float32Update('secure-aggregate', long, 5), meanOf: 5 });
    expect(outcome).toMatchObject({ status: 'rejected', code: 'OUT_OF_BOUNDS' });
    expect(agg.finish([])).toBeNull();
    expect(ctl.privacySpent().epsilon).toBe(controller(opts, 4).privacySpent().epsilon);
  });
});

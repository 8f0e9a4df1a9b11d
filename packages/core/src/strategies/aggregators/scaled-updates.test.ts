import { describe, expect, it } from 'vitest';
import '../../index.js';
import { createSeededRandom } from '../../random/seeded-random.js';
import { createDpController } from '../../privacy/dp-aggregator.js';
import { dpOptionsSchema } from '../../privacy/dp-options.js';
import { createStrategy } from '../registry.js';
import { float32Update, roundContext, vectorLayout } from '../update-fixtures.test-helper.js';
import { createScaledUpdateAggregator } from './scaled-updates.js';
import { createWeightedMeanAggregator } from './weighted-mean.js';

const rounded = (v: Float32Array) => [...v].map((x) => +x.toFixed(6));

describe('update scale (staleness weight) after clipping', () => {
  it('DP clips a stale update to C first, then weighs it: [3,4] at s = 0.5 counts 0.5·C', () => {
    // Prepare: C = 1, no noise; the mean is over the two updates received.
    const ctl = createDpController(dpOptionsSchema.parse({ clipNorm: 1, noiseMultiplier: 0 }), createSeededRandom(1));
    const ctx = roundContext([0, 0]);
    const agg = ctl.wrap(ctx, createScaledUpdateAggregator(createWeightedMeanAggregator(ctx)));
    // Execute
    const stale = agg.add({ ...float32Update('stale', [3, 4]), scale: 0.5 });
    const fresh = agg.add(float32Update('fresh', [0.1, 0]));
    const result = agg.finish([])!;
    // Assert: clipped [0.6, 0.8], scaled [0.3, 0.4]; mean with [0.1, 0] = [0.2, 0.2].
    // (Scaling first would give [2.5·0.6, …] clipped back to [0.6, 0.8]: mean [0.35, 0.4].)
    expect(stale).toEqual({ status: 'accepted', note: 'clipped from 5.000 to 1.000 for DP' });
    expect(fresh).toEqual({ status: 'accepted' });
    expect(rounded(result.delta)).toEqual([0.2, 0.2]);
    expect(result.metrics).toMatchObject({ clipNorm: 1, fractionClipped: 0.5 });
  });

  it('a composed strategy applies it after the norm bound, and refuses a scale above 1', () => {
    const strategy = createStrategy({ id: 'fedavg', options: { clipNorm: 1 } }, vectorLayout(2));
    const agg = strategy.beginRound(roundContext([0, 0], 1, 1, 1));
    expect(agg.add({ ...float32Update('a', [0, 2]), scale: 0.25 })).toMatchObject({ status: 'accepted' });
    expect(agg.add({ ...float32Update('b', [1, 0]), scale: 1.5 })).toEqual({ status: 'rejected', code: 'BAD_REQUEST', reason: 'update scale 1.5 is outside (0, 1]' });
    // Only a: clipped to [0, 1], then × 0.25.
    expect(rounded(agg.finish([])!.delta)).toEqual([0, 0.25]);
  });
});

import { describe, expect, it } from 'vitest';
import { float32Update, roundContext } from '../update-fixtures.test-helper.js';
import { createWeightedMeanAggregator } from './weighted-mean.js';
import { createNormBoundAggregator } from './norm-bound.js';
import { createKrumAggregator, createMedianAggregator, createTrimmedMeanAggregator } from './robust-aggregators.js';

const ctx = roundContext([0, 0]);

describe('buffering robust aggregators', () => {
  it('median says it is not streaming and returns the coordinate median', () => {
    // Prepare
    const agg = createMedianAggregator(ctx);
    // Execute
    for (const [id, v] of [['a', [1, 5]], ['b', [2, 4]], ['c', [300, -100]]] as const) agg.add(float32Update(id, [...v], 1000));
    const r = agg.finish([]);
    // Assert: example counts do not give anyone extra say
    expect(agg.streaming).toBe(false);
    expect([...r!.delta]).toEqual([2, 4]);
    expect(r!.metrics.clients).toBe(3);
  });

  it('rejects a second update from the same client and a wrong length', () => {
    const agg = createMedianAggregator(ctx);
    expect(agg.add(float32Update('a', [1, 1])).status).toBe('accepted');
    expect(agg.add(float32Update('a', [1, 1]))).toMatchObject({ status: 'rejected', code: 'DUPLICATE_UPDATE' });
    expect(agg.add(float32Update('b', [1, 1, 1]))).toMatchObject({ status: 'rejected', code: 'SHAPE_MISMATCH' });
  });

  it('returns null when nothing arrived', () => {
    expect(createMedianAggregator(ctx).finish([])).toBeNull();
  });

  it('trimmed mean notes the client trimmed in most coordinates', () => {
    const agg = createTrimmedMeanAggregator(ctx, 0.2);
    const rows = [[1, 2], [2, 3], [3, 4], [4, 5], [100, -100]];
    rows.forEach((v, i) => agg.add(float32Update(`c${i}`, v)));
    const r = agg.finish([])!;
    expect([...r.delta]).toEqual([3, 3]);
    expect(r.notes?.get('c4')).toBe('trimmed in 100% of coordinates by trimmed-mean');
    expect(r.notes?.has('c2')).toBe(false);
  });

  it('multi-krum averages the best m and notes the discarded with their score', () => {
    const agg = createKrumAggregator(ctx, 1, 3, 'multi-krum');
    const rows = [[0, 0], [1, 0], [0, 1], [1, 1], [10, 10]];
    rows.forEach((v, i) => agg.add(float32Update(`c${i}`, v)));
    const r = agg.finish([])!;
    expect([...r.delta]).toEqual([Math.fround(1 / 3), Math.fround(1 / 3)]);
    expect(r.notes?.get('c4')).toBe('discarded by multi-krum (score 343.0)');
    expect(r.notes?.get('c3')).toBe('discarded by multi-krum (score 2.000)');
  });

  it('krum keeps exactly one update', () => {
    const agg = createKrumAggregator(ctx, 1, undefined, 'krum');
    [[0, 0], [1, 0], [0, 1], [1, 1], [10, 10]].forEach((v, i) => agg.add(float32Update(`c${i}`, v)));
    const r = agg.finish([])!;
    expect([...r.delta]).toEqual([0, 0]);
    expect(r.notes?.size).toBe(4);
  });
});

describe('norm bounding', () => {
  it('scales large updates to the bound, streams, and says so', () => {
    // Prepare
    const agg = createNormBoundAggregator(createWeightedMeanAggregator(ctx), 1);
    // Execute
    const big = agg.add(float32Update('a', [30, 40]));
    const small = agg.add(float32Update('b', [0.6, 0]));
    const r = agg.finish([])!;
    // Assert
    expect(agg.streaming).toBe(true);
    expect(big).toEqual({ status: 'accepted', note: 'clipped from 50.00 to 1' });
    expect(small).toEqual({ status: 'accepted' });
    expect([...r.delta].map((v) => +v.toFixed(6))).toEqual([0.6, 0.4]);
    expect(r.metrics.normBoundClippedFraction).toBe(0.5);
  });

  it("multi-krum with krumWeighted averages its picks by example count, as Flower's MultiKrum does", () => {
    // Expected from a NumPy re-run of Flower's aggregate_krum(to_keep=3): scores 5, 6, 9, 23, 262;
    // picks (0,0)×1, (1,0)×2, (0,2)×3 → (2/6, 6/6).
    const rows = [[0, 0], [1, 0], [0, 2], [3, 3], [10, 10]];
    const counts = [1, 2, 3, 4, 100];
    const weighted = createKrumAggregator(ctx, 1, 3, 'multi-krum', true);
    const plain = createKrumAggregator(ctx, 1, 3, 'multi-krum');
    rows.forEach((v, i) => {
      weighted.add(float32Update(`c${i}`, v, counts[i]));
      plain.add(float32Update(`c${i}`, v, counts[i]));
    });
    expect([...weighted.finish([])!.delta]).toEqual([Math.fround(1 / 3), 1]);
    expect([...plain.finish([])!.delta]).toEqual([Math.fround(1 / 3), Math.fround(2 / 3)]);
  });
});

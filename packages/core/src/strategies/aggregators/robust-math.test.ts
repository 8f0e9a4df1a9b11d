import { describe, expect, it } from 'vitest';
import { aggregateWeightedMean, aggregateMedian, aggregateTrimmedMean, krumScores, multiKrumSelect, pairwiseSquaredDistances } from './robust-math.js';

const f32 = (...xs: number[]) => Float32Array.from(xs);

describe('aggregateMedian', () => {
  it('takes the middle value per coordinate for an odd count', () => {
    // Prepare
    const vectors = [f32(1, 5, 3), f32(2, 4, 9), f32(3, -1, 0)];
    // Execute
    const out = aggregateMedian(vectors);
    // Assert
    expect([...out]).toEqual([2, 4, 3]);
  });

  it('averages the two middle values for an even count', () => {
    const vectors = [f32(1, 5, 3), f32(2, 4, 9), f32(3, -1, 0), f32(10, 0, 1)];
    expect([...aggregateMedian(vectors)]).toEqual([2.5, 2, 2]);
  });

  it('names the vector whose length differs', () => {
    expect(() => aggregateMedian([f32(1, 2), f32(1)])).toThrow(/vector #1 has 1 values/);
  });
});

describe('aggregateTrimmedMean', () => {
  it('drops floor(beta·k) values from each end before averaging', () => {
    // Prepare: one outlier per coordinate at either end
    const vectors = [f32(1, -50), f32(2, 2), f32(3, 4), f32(4, 6), f32(100, 8)];
    // Execute
    const out = aggregateTrimmedMean(vectors, 0.2);
    // Assert: col0 keeps 2,3,4; col1 keeps 2,4,6
    expect([...out]).toEqual([3, 4]);
  });

  it('is the plain mean when beta·k < 1', () => {
    expect([...aggregateTrimmedMean([f32(1), f32(2), f32(6)], 0.1)]).toEqual([3]);
  });

  it('rejects beta outside [0, 0.5)', () => {
    expect(() => aggregateTrimmedMean([f32(1)], 0.5)).toThrow(/beta must be in \[0, 0.5\)/);
  });
});

describe('Krum', () => {
  // Four close points and one far away.
  const vectors = [f32(0, 0), f32(1, 0), f32(0, 1), f32(1, 1), f32(10, 10)];

  it('computes pairwise squared distances', () => {
    const d = pairwiseSquaredDistances(vectors.slice(0, 3));
    expect([...d]).toEqual([0, 1, 1, 1, 0, 2, 1, 2, 0]);
  });

  it('scores each vector by its k−f−2 nearest squared distances', () => {
    // Execute: k = 5, f = 1 → 2 neighbours
    const scores = krumScores(vectors, 1);
    // Assert: the far point's two nearest are (1,1) at 162 and (1,0) at 181
    expect([...scores]).toEqual([2, 2, 2, 2, 343]);
  });

  it('multi-krum selects the m best, never the outlier', () => {
    expect(multiKrumSelect(vectors, 1, 3)).toEqual([0, 1, 2]);
    expect(multiKrumSelect(vectors, 1, 4)).toEqual([0, 1, 2, 3]);
    expect(multiKrumSelect(vectors, 1, 1)).toEqual([0]);
  });
});

describe('aggregateWeightedMean', () => {
  it('weights each vector by its example count', () => {
    expect([...aggregateWeightedMean([f32(1, 0), f32(4, 3)], [2, 1])]).toEqual([2, 1]);
  });

  it('refuses weights that sum to 0 or are negative', () => {
    expect(() => aggregateWeightedMean([f32(1)], [0])).toThrow(/weights sum to 0/);
    expect(() => aggregateWeightedMean([f32(1), f32(2)], [1, -1])).toThrow(/must be ≥ 0 and finite, got -1/);
  });
});

import { describe, expect, it } from 'vitest';
import { float32Update, roundContext } from '../update-fixtures.test-helper.js';
import { aggregateBulyan, bulyanMinimum, createBulyanAggregator } from './bulyan.js';

const f32 = (...xs: number[]) => Float32Array.from(xs);

// Seven updates, one of them (#5) far away. Expected values come from a NumPy re-run of Flower's
// aggregate_bulyan (Krum first rule, np.median, _aggregate_n_closest_weights), not from this code.
const rows = [
  [0, 1, -1],
  [0.5, 0.75, -2],
  [1, 1.5, 0],
  [0.25, -0.5, -1.5],
  [-0.75, 1.25, -0.25],
  [20, -20, 20],
  [0.125, 0.5, -3],
];

describe('aggregateBulyan', () => {
  it("matches Flower's Bulyan: Krum picks θ = k − 2f one by one, then β = θ − 2f nearest the median are averaged", () => {
    // Prepare
    const vectors = rows.map((r) => f32(...r));
    // Execute
    const r = aggregateBulyan(vectors, 1);
    // Assert
    expect(r.selected).toEqual([0, 1, 4, 3, 2]);
    expect(r.beta).toBe(3);
    expect([...r.delta]).toEqual([0.25, 1, Math.fround(-0.9166666666666666)]);
  });

  it('refuses fewer than 4f + 3 updates, naming the numbers', () => {
    const vectors = rows.slice(0, 6).map((r) => f32(...r));
    expect(bulyanMinimum(1)).toBe(7);
    expect(() => aggregateBulyan(vectors, 1)).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG', message: 'bulyan with krumF = 1 needs at least 7 updates (4f + 3); 6 arrived' }));
  });

  it('with f = 0 it is the coordinate mean of every update', () => {
    expect([...aggregateBulyan([f32(1, 2), f32(3, 4), f32(5, 12)], 0).delta]).toEqual([3, 6]);
  });
});

describe('bulyan aggregator', () => {
  it('notes the clients Krum never picked, whatever their example counts', () => {
    // Prepare
    const agg = createBulyanAggregator(roundContext([0, 0, 0]), 1);
    // Execute
    rows.forEach((r, i) => agg.add(float32Update(`c${i}`, r, i === 5 ? 10_000 : 10)));
    const out = agg.finish([])!;
    // Assert
    expect(agg.streaming).toBe(false);
    expect([...out.delta]).toEqual([0.25, 1, Math.fround(-0.9166666666666666)]);
    expect(out.metrics).toMatchObject({ clients: 7, bulyanSelected: 5, bulyanBeta: 3 });
    expect([...out.notes!.keys()].sort()).toEqual(['c5', 'c6']);
    expect(out.notes!.get('c5')).toBe('discarded by bulyan (not among the Krum picks)');
  });
});

import { describe, expect, it } from 'vitest';
import { personalGainMetrics, quantileSorted } from './personal-gains.js';

describe('personal gain aggregates', () => {
  it('interpolates quantiles linearly, as NumPy does', () => {
    // np.quantile([-2, 0, 1, 4, 10], [0.1, 0.5, 0.9]) = [-1.2, 1, 7.6]
    expect(quantileSorted([-2, 0, 1, 4, 10], 0.1)).toBeCloseTo(-1.2, 12);
    expect(quantileSorted([-2, 0, 1, 4, 10], 0.5)).toBe(1);
    expect(quantileSorted([-2, 0, 1, 4, 10], 0.9)).toBeCloseTo(7.6, 12);
  });

  it('reports deciles, the share who gained and the count, never single values', () => {
    const m = personalGainMetrics([4, -2, 10, 0, 1]);
    expect(m.personalGainP10).toBeCloseTo(-1.2, 12);
    expect(m).toMatchObject({ personalGainMedian: 1, personalGainImprovedShare: 0.6, personalGainClients: 5 });
    expect(personalGainMetrics([3, 5])).toEqual({});
    expect(personalGainMetrics([3, 5, Number.NaN])).toEqual({});
  });
});

import { describe, expect, it } from 'vitest';
import { METRIC_LIMITS, boundMetrics, metricsSchema } from './metrics.js';

describe('metrics', () => {
  it('bounds what a sender reports to exactly what the schema accepts', () => {
    // Prepare: too many metrics, a long name, and non-finite values.
    const raw: Record<string, unknown> = { ['x'.repeat(100)]: 1, nan: Number.NaN, inf: Infinity, text: 'no' };
    for (let i = 0; i < 40; i++) raw[`m${i}`] = i;

    // Execute
    const bounded = boundMetrics(raw);

    // Assert
    expect(metricsSchema.safeParse(raw).success).toBe(false);
    expect(metricsSchema.safeParse(bounded).success).toBe(true);
    expect(Object.keys(bounded)[0]).toBe('x'.repeat(METRIC_LIMITS.maxNameLength));
    expect(Object.keys(bounded).length).toBe(METRIC_LIMITS.maxMetrics - 3);
  });
});

import { describe, expect, it } from 'vitest';
import { aggregatorRegistry, getAggregator, listAggregators, registerAggregator, unregisterAggregator } from './aggregator-registry.js';
import { strategyRegistry } from '../registry.js';

describe('aggregator and strategy registries', () => {
  it('hold the built-ins without any other import', () => {
    expect(listAggregators().map((a) => a.id)).toEqual(['mean', 'median', 'trimmed-mean', 'krum', 'multi-krum', 'bulyan']);
    expect(strategyRegistry.list().map((s) => s.id)).toEqual(['fedavg', 'fedavgm', 'fedadagrad', 'fedadam', 'fedyogi', 'fedprox']);
  });

  it('register, get and unregister an aggregator by id', () => {
    const mean = getAggregator('mean')!;
    registerAggregator({ ...mean, id: 'my-mean' });
    expect(aggregatorRegistry.get('my-mean')?.streaming).toBe(true);
    expect(unregisterAggregator('my-mean')).toBe(true);
    expect(getAggregator('my-mean')).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  aggregationOptionsShape,
  createFedAvgStrategy,
  createStrategy,
  createWeightedMeanAggregator,
  parseStrategyOptions,
  registerAggregator,
  registerStrategy,
  strategyCatalog,
  type StrategyCatalog,
} from '@chorus/core';
import { aggregatorFields, DEFAULT_STRATEGY_FORM, strategyErrorInWords, strategyFields, strategyOptionsFromForm } from './strategy-form-model.js';

// A strategy and an aggregator that exist only in this test: each option is declared once, in its
// zod schema, and reaches the console's fields through the same catalog GET /api/strategies serves.
const throwawaySchema = z.strictObject({
  ...aggregationOptionsShape,
  warmupRounds: z.number().int().min(0).max(50).default(3).meta({ title: 'Warm-up rounds', description: 'Rounds at the plain FedAvg step before this strategy takes over.' }),
  decay: z.enum(['none', 'linear']).default('none').meta({ title: 'Decay' }),
});
registerStrategy({
  id: 'throwaway',
  description: 'Test-only strategy.',
  optionsSchema: throwawaySchema,
  create: (options) => {
    const { warmupRounds: _warmup, decay: _decay, ...shared } = parseStrategyOptions(throwawaySchema, options);
    return createFedAvgStrategy(shared);
  },
});
registerAggregator({
  id: 'throwaway-mean',
  streaming: true,
  description: 'Test-only aggregator.',
  optionsSchema: z.strictObject({ floor: z.number().positive().default(0.5).meta({ title: 'Floor' }) }),
  create: (ctx) => createWeightedMeanAggregator(ctx),
});

/** What the console gets: the catalog after a trip through JSON, as over HTTP. */
const catalog = (): StrategyCatalog => JSON.parse(JSON.stringify(strategyCatalog())) as StrategyCatalog;

describe('strategy form model', () => {
  it("draws a new strategy's options, defaults and bounds from its schema", () => {
    // Prepare / Execute
    const fields = strategyFields(catalog(), 'throwaway');
    // Assert: the strategy's own options only; the shared aggregation options have their fieldsets
    expect(fields).toEqual([
      { key: 'warmupRounds', label: 'Warm-up rounds', description: 'Rounds at the plain FedAvg step before this strategy takes over.', kind: 'integer', defaultValue: 3, minimum: 0, maximum: 50 },
      { key: 'decay', label: 'Decay', kind: 'enum', defaultValue: 'none', choices: ['none', 'linear'] },
    ]);
  });

  it('turns the form into options the strategy accepts, defaults and typed values alike', () => {
    const c = catalog();
    const byDefault = strategyOptionsFromForm(c, 'throwaway', DEFAULT_STRATEGY_FORM, 10);
    expect(byDefault).toEqual({ warmupRounds: 3, decay: 'none', aggregator: 'mean' });
    const typed = strategyOptionsFromForm(c, 'throwaway', { ...DEFAULT_STRATEGY_FORM, server: { warmupRounds: '7', decay: 'linear' } }, 10);
    expect(typed).toEqual({ warmupRounds: 7, decay: 'linear', aggregator: 'mean' });
    expect(() => createStrategy({ id: 'throwaway', options: typed }, [{ name: 'w', shape: [2] }])).not.toThrow();
  });

  it("draws the chosen aggregator's options", () => {
    const c = catalog();
    expect(aggregatorFields(c, 'throwaway-mean')).toEqual([{ key: 'floor', label: 'Floor', kind: 'number', defaultValue: 0.5, minimum: 0 }]);
    expect(aggregatorFields(c, 'multi-krum').map((f) => [f.key, f.defaultValue])).toEqual([['krumF', 1], ['krumM', undefined], ['krumWeighted', false]]);
    const form = { ...DEFAULT_STRATEGY_FORM, aggregator: 'trimmed-mean', aggregatorOptions: { trimBeta: '0.2' } };
    expect(strategyOptionsFromForm(c, 'fedavg', form, 10)).toEqual({ serverLearningRate: 1, aggregator: 'trimmed-mean', trimBeta: 0.2 });
  });

  it("keeps the built-in strategies' options and defaults (Flower's bias correction on for fedadam and fedyogi)", () => {
    const c = catalog();
    const defaults = (id: string) => Object.fromEntries(strategyFields(c, id).map((f) => [f.key, f.defaultValue]));
    expect(defaults('fedavg')).toEqual({ serverLearningRate: 1 });
    expect(defaults('fedavgm')).toEqual({ eta: 1, momentum: 0.9 });
    expect(defaults('fedadagrad')).toEqual({ eta: 0.1, beta1: 0, tau: 1e-9 });
    expect(defaults('fedadam')).toEqual({ eta: 0.1, beta1: 0.9, beta2: 0.99, tau: 1e-9, biasCorrection: true });
    expect(defaults('fedyogi')).toEqual({ eta: 0.01, beta1: 0.9, beta2: 0.99, tau: 1e-3, biasCorrection: true });
    expect(defaults('fedprox')).toEqual({ mu: 0.01 });
  });

  it("names the field of a server refusal by the option's schema title", () => {
    const c = catalog();
    expect(strategyErrorInWords('config.strategy.options.warmupRounds: must be ≤ 50', c)).toBe('Warm-up rounds must be ≤ 50');
    expect(strategyErrorInWords('config.strategy.options.trimBeta: must be in [0, 0.5)', c)).toBe('Fraction trimmed at each end (β) must be in [0, 0.5)');
    expect(strategyErrorInWords('config.strategy.options.dp.clipNorm: must be > 0', c)).toBe('Differential privacy: clip norm must be > 0');
    expect(strategyErrorInWords('config.template: unknown', c)).toBeNull();
  });
});

import { z } from 'zod';
import { ChorusError } from '../errors/chorus-error.js';
import { createWeightedMeanAggregator } from './aggregators/weighted-mean.js';
import { parseStrategyOptions } from './parse-options.js';
import type { StrategyRegistration } from './registry.js';
import type { AggregateResult, Strategy } from './strategy.js';

export const fedAvgOptionsSchema = z
  .object({
    /** Server step size η: next = global + η × mean delta. 1 is the paper's FedAvg. @default 1 */
    serverLearningRate: z.number().positive().max(100).default(1),
  })
  .strict();
export type FedAvgOptions = z.infer<typeof fedAvgOptionsSchema>;

/** FedAvg (McMahan et al. 2017): the example-weighted mean of client deltas, streamed. */
export function createFedAvgStrategy(options: Readonly<Record<string, unknown>>): Strategy {
  const { serverLearningRate } = parseStrategyOptions(fedAvgOptionsSchema, options);
  return {
    id: 'fedavg',
    configureFit: () => ({}),
    beginRound: (ctx) => createWeightedMeanAggregator(ctx),
    applyAggregate(global: Float32Array, result: AggregateResult): Float32Array {
      if (result.delta.length !== global.length) {
        throw new ChorusError('SHAPE_MISMATCH', `fedavg: aggregated delta has ${result.delta.length} values; the model has ${global.length}`);
      }
      const next = new Float32Array(global.length);
      for (let i = 0; i < next.length; i++) next[i] = global[i]! + serverLearningRate * result.delta[i]!;
      return next;
    },
    exportState: () => null,
    importState: () => {},
  };
}

export const fedAvgRegistration: StrategyRegistration = {
  id: 'fedavg',
  description: 'FedAvg: example-weighted mean of client deltas, streamed in O(model) memory; serverLearningRate scales the step.',
  create: createFedAvgStrategy,
};

import { z } from 'zod';
import { aggregationOptionsShape } from './aggregation-options.js';
import { createComposedStrategy, type PrivacyAwareStrategy } from './composed-strategy.js';
import { parseStrategyOptions } from './parse-options.js';
import type { StrategyRegistration } from './strategy-registration.js';
import { createSgdServerOptimizer } from './server-optimizers/server-optimizer.js';

export const fedAvgOptionsSchema = z.strictObject({
  ...aggregationOptionsShape,
  serverLearningRate: z.number().positive('must be > 0').max(100, 'must be ≤ 100').default(1).meta({
    title: 'Server learning rate η',
    description: "Server step size: next = global + η × aggregated delta. 1 is the paper's FedAvg.",
  }),
});
export type FedAvgOptions = z.infer<typeof fedAvgOptionsSchema>;

/**
 * FedAvg (McMahan et al. 2017): the example-weighted mean of client deltas, streamed in O(model)
 * memory. Takes the shared aggregation options too (robust aggregator, norm bound, DP), so
 * `{ id: 'fedavg', options: { aggregator: 'median' } }` is FedMedian.
 */
export function createFedAvgStrategy(options: Readonly<Record<string, unknown>>): PrivacyAwareStrategy {
  const { serverLearningRate, ...aggregation } = parseStrategyOptions(fedAvgOptionsSchema, options);
  return createComposedStrategy({ id: 'fedavg', options: aggregation, optimizer: createSgdServerOptimizer(serverLearningRate) });
}

export const fedAvgRegistration: StrategyRegistration = {
  id: 'fedavg',
  description: 'FedAvg: example-weighted mean of client deltas (streamed); takes the robust-aggregation, clipping and DP options; serverLearningRate scales the step.',
  optionsSchema: fedAvgOptionsSchema,
  create: createFedAvgStrategy,
};

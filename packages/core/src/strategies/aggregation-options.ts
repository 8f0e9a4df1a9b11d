import { z } from 'zod';
import { ChorusError } from '../errors/chorus-error.js';
import { dpOptionsSchema } from '../privacy/dp-options.js';
import { getAggregator, listAggregators } from './aggregators/aggregator-registry.js';

/**
 * Options every Chorus strategy accepts besides its server-optimizer ones: how client deltas are
 * combined (`aggregator`), optional norm bounding and optional DP. Any aggregator works with any
 * server optimizer: the strategy id picks the optimizer, these options pick the rest.
 */
export const aggregationOptionsShape = {
  /** Registry id of the aggregator: 'mean' | 'median' | 'trimmed-mean' | 'krum' | 'multi-krum'. @default 'mean' */
  aggregator: z.string().min(1, 'must name an aggregator').default('mean'),
  /** trimmed-mean: fraction dropped at each end of every coordinate. @default 0.1 */
  trimBeta: z.number().min(0, 'must be in [0, 0.5)').lt(0.5, 'must be in [0, 0.5)').default(0.1),
  /** krum / multi-krum: Byzantine clients assumed (f). @default 1 */
  krumF: z.number().int('must be an integer').min(0, 'must be ≥ 0').default(1),
  /** multi-krum: updates averaged (m). @default clients received − krumF */
  krumM: z.number().int('must be an integer').min(1, 'must be ≥ 1').optional(),
  /** Norm bounding: scale every update with a larger L2 norm down to this. @default none */
  clipNorm: z.number().positive('must be > 0').optional(),
  /** Differential privacy (DP-FedAvg); see privacy/dp-options.ts. @default none */
  dp: dpOptionsSchema.optional(),
};

export type AggregationOptions = z.infer<z.ZodObject<typeof aggregationOptionsShape>>;

/** Checks that need the aggregator registry, after zod has parsed the options. */
export function checkAggregationOptions(o: AggregationOptions, prefix = 'strategy.options'): void {
  if (!getAggregator(o.aggregator)) {
    const known = listAggregators().map((a) => a.id).join(', ');
    throw new ChorusError('INVALID_CONFIG', `${prefix}.aggregator: unknown aggregator "${o.aggregator}" (known: ${known})`);
  }
  if (o.dp && o.aggregator !== 'mean') {
    throw new ChorusError('INVALID_CONFIG', `${prefix}.dp: differential privacy needs aggregator "mean" (its noise is calibrated to the mean's sensitivity), not "${o.aggregator}"`);
  }
}

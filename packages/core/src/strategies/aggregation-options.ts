import { ChorusError } from '../errors/chorus-error.js';
import { getAggregator, listAggregators } from './aggregators/aggregator-registry.js';
import type { AggregationOptions } from './aggregation-option-schemas.js';

export { aggregationOptionsShape, type AggregationOptions } from './aggregation-option-schemas.js';

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

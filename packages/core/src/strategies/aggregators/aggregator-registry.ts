import type { z } from 'zod';
import { ChorusError } from '../../errors/chorus-error.js';
import type { RoundAggregator, RoundContext } from '../strategy.js';

/** Parameters every aggregator may read; each uses only its own. */
export interface AggregatorParams {
  /** Fraction trimmed from each end by trimmed-mean. */
  readonly trimBeta: number;
  /** Byzantine clients Krum assumes. */
  readonly krumF: number;
  /** Updates Multi-Krum averages (default k − f). */
  readonly krumM?: number;
}

export interface AggregatorRegistration {
  readonly id: string;
  /** False when the aggregator keeps every update until the round ends (O(model × clients) memory). */
  readonly streaming: boolean;
  readonly description: string;
  /** The strategy options this aggregator reads (a subset of aggregationOptionsShape); the console draws them when it is picked. */
  readonly optionsSchema: z.ZodObject;
  create(ctx: RoundContext, params: AggregatorParams): RoundAggregator;
}

/** How client deltas are combined, looked up by id (the `aggregator` option of every strategy). */
const aggregators = new Map<string, AggregatorRegistration>();

export function registerAggregator(reg: AggregatorRegistration): void {
  if (aggregators.has(reg.id)) throw new ChorusError('INVALID_CONFIG', `aggregator "${reg.id}" is already registered`);
  aggregators.set(reg.id, reg);
}

export function getAggregator(id: string): AggregatorRegistration | undefined {
  return aggregators.get(id);
}

export function listAggregators(): AggregatorRegistration[] {
  return [...aggregators.values()];
}

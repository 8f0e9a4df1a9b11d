import { createRegistry, type Registry } from '../../registry/create-registry.js';
import type { RoundAggregator, RoundContext } from '../strategy.js';
import { BUILTIN_AGGREGATORS } from './builtin-aggregators.js';

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
  create(ctx: RoundContext, params: AggregatorParams): RoundAggregator;
}

/** How client deltas are combined, looked up by id (the `aggregator` option of every strategy). */
export const aggregatorRegistry: Registry<AggregatorRegistration> = createRegistry({
  kind: 'aggregator',
  idOf: (r) => r.id,
  field: 'strategy.options.aggregator',
  initial: BUILTIN_AGGREGATORS,
});

export function registerAggregator(reg: AggregatorRegistration): void {
  aggregatorRegistry.register(reg);
}

export function getAggregator(id: string): AggregatorRegistration | undefined {
  return aggregatorRegistry.get(id);
}

export function unregisterAggregator(id: string): boolean {
  return aggregatorRegistry.unregister(id);
}

export function listAggregators(): AggregatorRegistration[] {
  return aggregatorRegistry.list();
}

import { createRegistry, type Registry } from '../../registry/create-registry.js';
import type { AggregatorRegistration } from './aggregator-registration.js';
import { BUILTIN_AGGREGATORS } from './builtin-aggregators.js';

export type { AggregatorParams, AggregatorRegistration } from './aggregator-registration.js';

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

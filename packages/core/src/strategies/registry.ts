import { createRegistry, type Registry } from '../registry/create-registry.js';
import type { StrategyConfig } from '../protocol/task.js';
import { BUILTIN_STRATEGIES } from './builtin-strategies.js';
import type { TensorSpec } from '../weights/layout.js';
import type { Strategy } from './strategy.js';
import type { StrategyRegistration } from './strategy-registration.js';

export type { StrategyFactory, StrategyRegistration } from './strategy-registration.js';

/** The strategy registry, starting with the built-ins (no import needed for them to exist). */
export const strategyRegistry: Registry<StrategyRegistration> = createRegistry({
  kind: 'strategy',
  idOf: (r) => r.id,
  field: 'strategy.id',
  initial: BUILTIN_STRATEGIES,
});

export function registerStrategy(reg: StrategyRegistration): void {
  strategyRegistry.register(reg);
}

export function getStrategy(id: string): StrategyRegistration | undefined {
  return strategyRegistry.get(id);
}

export function unregisterStrategy(id: string): boolean {
  return strategyRegistry.unregister(id);
}

export function listStrategies(): StrategyRegistration[] {
  return strategyRegistry.list();
}

export function createStrategy(config: StrategyConfig, layout: readonly TensorSpec[]): Strategy {
  return strategyRegistry.require(config.id).create(config.options, layout);
}

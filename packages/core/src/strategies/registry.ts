import type { z } from 'zod';
import { ChorusError } from '../errors/chorus-error.js';
import type { StrategyConfig } from '../protocol/task.js';
import type { TensorSpec } from '../weights/layout.js';
import type { Strategy } from './strategy.js';

/**
 * Strategies are looked up by id (tfjs-style registry): adding one never edits a switch elsewhere.
 * A factory validates its own options and throws INVALID_CONFIG naming the bad option.
 */
export type StrategyFactory = (options: Readonly<Record<string, unknown>>, layout: readonly TensorSpec[]) => Strategy;

export interface StrategyRegistration {
  readonly id: string;
  /** One line for docs and the admin console. */
  readonly description: string;
  /**
   * The options `create` accepts. The single source for validation, defaults, the JSON Schema that
   * GET /api/strategies serves and the fields the console draws: a new option is one edit here.
   */
  readonly optionsSchema: z.ZodType;
  readonly create: StrategyFactory;
}

const registry = new Map<string, StrategyRegistration>();

export function registerStrategy(reg: StrategyRegistration): void {
  if (registry.has(reg.id)) throw new ChorusError('INVALID_CONFIG', `strategy "${reg.id}" is already registered`);
  registry.set(reg.id, reg);
}

export function listStrategies(): StrategyRegistration[] {
  return [...registry.values()];
}

export function createStrategy(config: StrategyConfig, layout: readonly TensorSpec[]): Strategy {
  const reg = registry.get(config.id);
  if (!reg) {
    const known = [...registry.keys()].join(', ');
    throw new ChorusError('INVALID_CONFIG', `strategy.id: unknown strategy "${config.id}" (known: ${known})`);
  }
  return reg.create(config.options, layout);
}

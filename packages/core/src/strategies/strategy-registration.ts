import type { z } from 'zod';
import type { TensorSpec } from '../weights/layout.js';
import type { Strategy } from './strategy.js';

// The registration shape lives apart from the registry: the built-ins the registry starts with
// import it, and importing the registry itself would make an import circle.

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

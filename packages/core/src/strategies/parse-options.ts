import type { z } from 'zod';
import { zodChorusError } from '../errors/zod-error.js';

/**
 * Validates strategy options with a zod schema; the first problem becomes INVALID_CONFIG naming the
 * option by its full path (e.g. `strategy.options.beta1: must be in [0, 1)`), so an operator can fix
 * the task config without reading code.
 */
export function parseStrategyOptions<S extends z.ZodType>(schema: S, options: unknown, prefix = 'strategy.options'): z.infer<S> {
  const parsed = schema.safeParse(options ?? {});
  if (parsed.success) return parsed.data;
  throw zodChorusError('INVALID_CONFIG', parsed.error, prefix);
}

import type { z } from 'zod';
import { ChorusError, type ErrorCode } from './chorus-error.js';

/** The first problem zod found, in plain words: the dotted field path and what was wrong with it. */
export interface ZodProblem {
  /** `prefix.field.path`; just `prefix` when the value itself was wrong. */
  readonly path: string;
  readonly message: string;
}

/**
 * The one formatter for zod errors (socket handlers, HTTP routes, config and strategy options).
 * An unknown key is named in the path, so `strategy.options.bogus: unknown option` reads the same
 * everywhere.
 */
export function describeZodProblem(error: z.ZodError, prefix = ''): ZodProblem {
  const issue = error.issues[0];
  if (!issue) return { path: prefix, message: 'invalid' };
  const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
  const parts = [prefix, ...issue.path.map(String), ...(keys.length ? [keys[0]!] : [])].filter((p) => p.length > 0);
  return { path: parts.join('.'), message: keys.length ? 'unknown option' : issue.message };
}

/** "field.path: message" for the first zod issue. */
export function describeZodError(error: z.ZodError, prefix = ''): string {
  const { path, message } = describeZodProblem(error, prefix);
  return path ? `${path}: ${message}` : message;
}

/** A ChorusError (BAD_REQUEST or INVALID_CONFIG, usually) naming the field that was wrong in `path`. */
export function zodChorusError(code: ErrorCode, error: z.ZodError, prefix = ''): ChorusError {
  const { path } = describeZodProblem(error, prefix);
  return new ChorusError(code, describeZodError(error, prefix), { cause: error, ...(path ? { path } : {}) });
}

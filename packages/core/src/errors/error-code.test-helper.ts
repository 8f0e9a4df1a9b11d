import { ChorusError } from './chorus-error.js';

/** Test kit: the ChorusError code `fn` throws, a note when it throws something else, undefined when it returns. */
export function errorCode(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof ChorusError ? err.code : `not a ChorusError: ${String(err)}`;
  }
  return undefined;
}

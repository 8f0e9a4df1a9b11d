import { ChorusError } from '@chorus/core';

export interface BackoffOptions {
  /** First delay in ms. @default 250 */
  readonly initialMs?: number;
  /** Largest delay in ms. @default 5_000 */
  readonly maxMs?: number;
  /** Attempts in all, the first included. @default 4 */
  readonly attempts?: number;
}

/** Exponential delay with full jitter, so many clients retrying together do not stampede. */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const initial = options.initialMs ?? 250;
  const max = options.maxMs ?? 5_000;
  const ceiling = Math.min(max, initial * 2 ** attempt);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortError(signal!));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function abortError(signal: AbortSignal): ChorusError {
  const reason: unknown = signal.reason;
  if (reason instanceof ChorusError) return reason;
  return new ChorusError('ROUND_CLOSED', typeof reason === 'string' ? reason : 'the round was cancelled');
}

/**
 * Runs `fn` until it succeeds, it throws a non-retryable error, `shouldRetry` says no, the attempts
 * run out, or the signal aborts. Every error comes out as a ChorusError.
 */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  options: BackoffOptions & { signal?: AbortSignal; shouldRetry?: (err: ChorusError) => boolean } = {},
): Promise<T> {
  const attempts = options.attempts ?? 4;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (raw) {
      const err = ChorusError.from(raw);
      if (options.signal?.aborted) throw abortError(options.signal);
      const retry = err.retryable && (options.shouldRetry?.(err) ?? true) && attempt + 1 < attempts;
      if (!retry) throw err;
      await sleep(backoffDelay(attempt, options), options.signal);
    }
  }
}

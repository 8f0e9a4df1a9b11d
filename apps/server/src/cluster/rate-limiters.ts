import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, type RateLimiterAbstract } from 'rate-limiter-flexible';

export interface LimiterSpec {
  readonly keyPrefix: string;
  readonly points: number;
  /** Window in seconds. */
  readonly duration: number;
}

/** Makes the rate limiters of the participant guard and the login throttle. */
export type LimiterFactory = (spec: LimiterSpec) => RateLimiterAbstract;

/** One process: counts in memory. */
export const memoryLimiters: LimiterFactory = (spec) => new RateLimiterMemory({ ...spec });

/**
 * Several processes: counts in Redis, so a limit holds across every process behind the front (a
 * guesser spread over processes still meets one counter). While Redis is unreachable each process
 * falls back to its own memory counters (insurance limiter) instead of refusing everyone.
 */
export function redisLimiters(redis: Redis, prefix: string): LimiterFactory {
  return (spec) =>
    new RateLimiterRedis({
      storeClient: redis,
      ...spec,
      keyPrefix: `${prefix}:rl:${spec.keyPrefix}`,
      insuranceLimiter: new RateLimiterMemory({ ...spec }),
    });
}

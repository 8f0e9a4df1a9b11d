import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

/** Redis for tests (127.0.0.1:6379 on the project's machines; scripts/ensure-services.sh starts it). */
export const TEST_REDIS_URL = process.env.CHORUS_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A key prefix of this run's own, so runs sharing the Redis never see each other's keys. */
export const testRedisPrefix = (): string => `chorus-test-${process.pid}-${randomBytes(4).toString('hex')}`;

/** Deletes every key under `prefix`. */
export async function dropRedisPrefix(prefix: string): Promise<void> {
  const redis = new Redis(TEST_REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

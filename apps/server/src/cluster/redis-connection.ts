import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { ChorusError } from '@chorus/core';

/** Whether a CHORUS_REDIS value is a redis:// or rediss:// URL with a host. */
export function redisUrlValid(url: string): boolean {
  try {
    const u = new URL(url);
    return (u.protocol === 'redis:' || u.protocol === 'rediss:') && u.hostname.length > 0;
  } catch {
    return false;
  }
}

/**
 * Connects to Redis before the server listens: an unreachable Redis at start-up is an UNAVAILABLE
 * error, not a server that silently runs alone. Afterwards ioredis reconnects by itself; losing and
 * regaining the connection is logged.
 */
export async function connectRedis(url: string, logger: Logger): Promise<Redis> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 3, connectTimeout: 5_000 });
  let lost = false;
  redis.on('error', (err: Error) => {
    if (!lost) logger.warn({ err: err.message }, 'Redis connection error (reconnecting)');
    lost = true;
  });
  redis.on('ready', () => {
    if (lost) logger.info('Redis connection back');
    lost = false;
  });
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    throw new ChorusError('UNAVAILABLE', `redis: cannot reach Redis at ${url.replace(/(\/\/[^:/@]*:)[^@]*@/, '$1***@')}: ${(err as Error).message}`, { cause: err });
  }
  return redis;
}

import type { Storage } from '../storage/storage.js';

export type Readiness = { ready: true } | { ready: false; message: string };

/** What a Redis client must answer for readiness (ioredis's `ping`). */
export interface PingableRedis {
  ping(): Promise<unknown>;
}

/** Rejects after `ms`: a database that does not answer quickly is not ready (a pool would wait 10 s for a connection). */
function within<T>(ms: number, work: Promise<T>): Promise<T> {
  return Promise.race([work, new Promise<never>((_, fail) => setTimeout(() => fail(new Error(`no answer within ${ms / 1000} s`)), ms).unref())]);
}

/** Whether this process can serve: its database answers, and Redis when several processes share it. */
export async function checkReadiness(storage: Pick<Storage, 'ping'>, redis: PingableRedis | null | undefined, timeoutMs = 2000): Promise<Readiness> {
  try {
    await within(timeoutMs, storage.ping());
  } catch (err) {
    return { ready: false, message: `database not ready: ${(err as Error).message}` };
  }
  if (redis) {
    try {
      await within(timeoutMs, redis.ping());
    } catch (err) {
      return { ready: false, message: `redis not ready: ${(err as Error).message}` };
    }
  }
  return { ready: true };
}

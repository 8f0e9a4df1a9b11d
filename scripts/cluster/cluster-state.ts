/**
 * Throw-away cluster state for tests and benchmarks: a schema and a Redis key prefix of the run's
 * own (DESIGN.md: runs sharing the machine's PostgreSQL and Redis must not see each other), and
 * their removal afterwards.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';

/** A schema name and Redis prefix no other run uses. */
export function uniqueClusterState(label: string): { dbSchema: string; redisPrefix: string } {
  const id = `${process.pid}_${randomBytes(4).toString('hex')}`;
  return { dbSchema: `chorus_${label}_${id}`, redisPrefix: `chorus-${label}-${id}` };
}

/** Drops the schema (and every table in it) and deletes every Redis key under the prefix. */
export async function dropClusterState(state: { db: string; dbSchema: string; redis: string; redisPrefix: string }): Promise<void> {
  if (!/^[a-z_][a-z0-9_]*$/.test(state.dbSchema)) throw new Error(`dropClusterState: unexpected schema name "${state.dbSchema}"`);
  const client = new pg.Client({ connectionString: state.db });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${state.dbSchema}" CASCADE`);
  } finally {
    await client.end();
  }
  const redis = new Redis(state.redis, { lazyConnect: true, maxRetriesPerRequest: 2 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${state.redisPrefix}:*`, 'COUNT', 500);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

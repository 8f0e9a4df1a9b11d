import pg from 'pg';

/** BIGINT (timestamps, counts, sequence numbers) as a JS number: every value we store is below 2^53. */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

export interface PgDb {
  query<R extends pg.QueryResultRow = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<pg.QueryResult<R>>;
  /** Runs `fn` in one transaction on one connection; rolls back when it throws. */
  tx<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T>;
}

export function createPool(url: string, schema: string, onError: (err: Error) => void): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, options: `-c search_path="${schema}"`, types, max: 10, connectionTimeoutMillis: 10_000 });
  // An idle connection that dies (PostgreSQL restarted) emits here; unhandled, it would end the process.
  pool.on('error', onError);
  return pool;
}

export function pgDb(pool: pg.Pool): PgDb {
  return {
    query: (sql, params) => pool.query(sql, params as unknown[]),
    async tx(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const out = await fn(client);
        await client.query('COMMIT');
        return out;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
  };
}

/** PostgreSQL's unique_violation. */
export const isUniqueViolation = (err: unknown): boolean => (err as { code?: string }).code === '23505';

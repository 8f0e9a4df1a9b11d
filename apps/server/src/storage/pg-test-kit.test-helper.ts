import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * PostgreSQL for tests: the project's machines run it on 127.0.0.1:5432 with trust auth
 * (scripts/ensure-services.sh starts it when it is down). CHORUS_TEST_PG_URL points elsewhere.
 */
export const TEST_PG_URL = process.env.CHORUS_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A schema name of this run's own, so test runs (and parallel test files) never share tables. */
export function testSchemaName(prefix = 'chorus_t'): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

/** Drops a test schema and everything in it. */
export async function dropTestSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_PG_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

import { describe, expect, it } from 'vitest';
import { PG_MIGRATIONS } from './pg-migrations.js';
import { PgStorage } from './pg-storage.js';
import { dropTestSchema, TEST_PG_URL, testSchemaName } from './pg-test-kit.test-helper.js';
import { describeStorage } from './storage-contract.test-helper.js';

describeStorage('PostgreSQL', async () => {
  const schema = testSchemaName();
  return {
    open: (retention) => PgStorage.open({ url: TEST_PG_URL, schema, ...(retention ? { retention } : {}) }),
    destroy: () => dropTestSchema(schema),
  };
});

describe('PgStorage', () => {
  it('migrates once when several processes start together (advisory lock), and records it in one ledger', async () => {
    const schema = testSchemaName();
    try {
      // Execute: five "processes" open the same empty schema at once.
      const all = await Promise.all(Array.from({ length: 5 }, () => PgStorage.open({ url: TEST_PG_URL, schema })));
      const [first] = all;

      // Assert: every migration ran exactly once, and every opener works on the same tables.
      await first!.auth.setSetting('k', 'v');
      expect(await Promise.all(all.map((s) => s.auth.getSetting('k')))).toEqual(['v', 'v', 'v', 'v', 'v']);
      for (const s of all) await s.close();
      const again = await PgStorage.open({ url: TEST_PG_URL, schema });
      await again.close();
      const pg = await import('pg');
      const client = new pg.default.Client({ connectionString: TEST_PG_URL });
      await client.connect();
      const { rows } = await client.query(`SELECT version FROM "${schema}".chorus_migrations ORDER BY version`);
      await client.end();
      expect(rows.map((r) => r.version)).toEqual(PG_MIGRATIONS.map((_, i) => i + 1));
    } finally {
      await dropTestSchema(schema);
    }
  });

  it('refuses a malformed URL or schema with INVALID_CONFIG before connecting, and an unreachable server with UNAVAILABLE', async () => {
    await expect(PgStorage.open({ url: 'postgres://', schema: 'x' })).rejects.toMatchObject({ code: 'INVALID_CONFIG', message: expect.stringMatching(/^db: /) });
    await expect(PgStorage.open({ url: 'postgres://u:secret@127.0.0.1:5432', schema: 'x' })).rejects.toMatchObject({ code: 'INVALID_CONFIG', message: expect.not.stringContaining('secret') });
    await expect(PgStorage.open({ url: TEST_PG_URL, schema: 'Robert"; DROP' })).rejects.toMatchObject({ code: 'INVALID_CONFIG', message: expect.stringMatching(/^dbSchema: /) });
    // Port 1 on loopback: nothing listens there.
    await expect(PgStorage.open({ url: 'postgres://u:secret@127.0.0.1:1/db', schema: 'x' })).rejects.toMatchObject({ code: 'UNAVAILABLE', message: expect.not.stringContaining('secret') });
  });
});

import type { PoolClient } from 'pg';

/**
 * PostgreSQL twins of the SQLite migrations (same numbering, same tables and column names, so the
 * row mappers are shared). `chorus_migrations` is the one ledger. Never edit a shipped migration.
 */
export const PG_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE tasks (
    id TEXT PRIMARY KEY,
    config TEXT NOT NULL,
    topology TEXT NOT NULL,
    layout TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
  );
  CREATE TABLE model_versions (
    task_id TEXT NOT NULL REFERENCES tasks(id),
    version INTEGER NOT NULL,
    round INTEGER NOT NULL,
    payload BYTEA NOT NULL,
    strategy_state BYTEA,
    metrics TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    PRIMARY KEY (task_id, version)
  );
  CREATE TABLE rounds (
    task_id TEXT NOT NULL REFERENCES tasks(id),
    round INTEGER NOT NULL,
    round_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    state TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    closed_at BIGINT,
    selected INTEGER NOT NULL,
    participants INTEGER NOT NULL DEFAULT 0,
    failures TEXT NOT NULL DEFAULT '[]',
    bytes_up BIGINT NOT NULL DEFAULT 0,
    bytes_down BIGINT NOT NULL DEFAULT 0,
    metrics TEXT NOT NULL DEFAULT '{}',
    abandon_reason TEXT,
    PRIMARY KEY (task_id, round)
  );
  CREATE TABLE participants (
    task_id TEXT NOT NULL REFERENCES tasks(id),
    id TEXT NOT NULL,
    capabilities TEXT NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    contributions INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (task_id, id)
  );
  CREATE TABLE update_receipts (
    seq BIGSERIAL PRIMARY KEY,
    task_id TEXT NOT NULL,
    round INTEGER NOT NULL,
    participant_id TEXT NOT NULL,
    bytes BIGINT NOT NULL,
    l2_norm DOUBLE PRECISION,
    accepted INTEGER NOT NULL,
    code TEXT,
    reason TEXT,
    at BIGINT NOT NULL
  );
  CREATE INDEX update_receipts_round ON update_receipts (task_id, round);
  `,
  `
  CREATE TABLE admin_users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'operator')),
    created_at BIGINT NOT NULL,
    created_by TEXT
  );
  CREATE TABLE admin_sessions (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES admin_users(id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
  );
  CREATE TABLE audit_log (
    seq BIGSERIAL PRIMARY KEY,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    outcome TEXT NOT NULL,
    status INTEGER NOT NULL,
    ip TEXT,
    detail TEXT
  );
  CREATE TABLE server_settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );
  `,
  `
  CREATE TABLE partner_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    allowed_origins TEXT NOT NULL,
    allowed_tasks TEXT NOT NULL,
    quota_per_day INTEGER NOT NULL,
    active INTEGER NOT NULL,
    storage_fallback TEXT NOT NULL DEFAULT 'memory'
  );
  CREATE TABLE partner_visits (
    key_id TEXT NOT NULL REFERENCES partner_keys(id) ON DELETE CASCADE,
    day TEXT NOT NULL,
    visitor TEXT NOT NULL,
    PRIMARY KEY (key_id, day, visitor)
  );
  CREATE TABLE partner_participants (
    key_id TEXT NOT NULL REFERENCES partner_keys(id) ON DELETE CASCADE,
    participant_id TEXT NOT NULL,
    task_id TEXT NOT NULL,
    first_day TEXT NOT NULL,
    PRIMARY KEY (key_id, participant_id)
  );
  CREATE TABLE partner_participant_days (
    key_id TEXT NOT NULL REFERENCES partner_keys(id) ON DELETE CASCADE,
    day TEXT NOT NULL,
    participant_id TEXT NOT NULL,
    PRIMARY KEY (key_id, day, participant_id)
  );
  CREATE TABLE partner_updates (
    key_id TEXT NOT NULL REFERENCES partner_keys(id) ON DELETE CASCADE,
    day TEXT NOT NULL,
    accepted INTEGER NOT NULL,
    PRIMARY KEY (key_id, day)
  );
  CREATE TABLE participant_tokens (
    task_id TEXT NOT NULL,
    participant_id TEXT NOT NULL,
    generation INTEGER NOT NULL,
    connection_id TEXT,
    revoked_at BIGINT,
    PRIMARY KEY (task_id, participant_id)
  );
  `,
  `CREATE TABLE task_fence (task_id TEXT PRIMARY KEY, token BIGINT NOT NULL);`,
  // 5: client selection — each participant's round history (pseudonymous ids only) and why a round's participants were picked.
  `
  CREATE TABLE participant_history (
    task_id TEXT NOT NULL REFERENCES tasks(id),
    participant_id TEXT NOT NULL,
    invited INTEGER NOT NULL DEFAULT 0,
    completed INTEGER NOT NULL DEFAULT 0,
    dropped INTEGER NOT NULL DEFAULT 0,
    last_loss DOUBLE PRECISION,
    last_examples INTEGER NOT NULL DEFAULT 0,
    last_duration_ms DOUBLE PRECISION,
    last_round INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (task_id, participant_id)
  );
  CREATE TABLE round_selections (
    task_id TEXT NOT NULL REFERENCES tasks(id),
    round INTEGER NOT NULL,
    policy TEXT NOT NULL,
    reasons TEXT NOT NULL,
    PRIMARY KEY (task_id, round)
  );
  `,
  // Each version's exact difference from the one before, so every process serves it (not only the one that committed it).
  `ALTER TABLE model_versions ADD COLUMN IF NOT EXISTS delta BYTEA`,
  // 7: the selection policy's own state (Oort's ε), so a restart does not explore as if new.
  `CREATE TABLE selection_state (task_id TEXT PRIMARY KEY REFERENCES tasks(id), state TEXT NOT NULL);`,
  // 8: each participant's coverage signature (JSON numbers), for Oort's diversity term.
  `ALTER TABLE participant_history ADD COLUMN signature TEXT`,
];

/**
 * Applies the migrations this schema has not run, in one transaction holding an advisory lock
 * named for the schema: processes starting together wait for the first one and then find nothing
 * to do. Returns how many ran.
 */
export async function migratePg(client: PoolClient, schema: string): Promise<number> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`chorus-migrate:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await client.query(`SET LOCAL search_path TO "${schema}"`);
    await client.query('CREATE TABLE IF NOT EXISTS chorus_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)');
    const { rows } = await client.query<{ n: number | null }>('SELECT MAX(version) AS n FROM chorus_migrations');
    const done = rows[0]?.n ?? 0;
    for (let i = done; i < PG_MIGRATIONS.length; i++) {
      await client.query(PG_MIGRATIONS[i]!);
      await client.query('INSERT INTO chorus_migrations (version, applied_at) VALUES ($1, $2)', [i + 1, Date.now()]);
    }
    await client.query('COMMIT');
    return PG_MIGRATIONS.length - done;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

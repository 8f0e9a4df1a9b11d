import type Database from 'better-sqlite3';

/** A step is SQL, or a function for a step that must look at what an older database holds. */
export type SqliteMigration = string | ((db: Database.Database) => void);

/**
 * The partner tables' steps from when they had a ledger of their own (`partner_schema.version`);
 * migration 3 runs the ones a database has not run yet and drops that ledger. Never edit.
 */
const PARTNER_STEPS: readonly string[] = [
  // Keys and the per-day visitor log (the quota). IF NOT EXISTS: databases made before the partner
  // ledger already hold these tables.
  `CREATE TABLE IF NOT EXISTS partner_keys (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     allowed_origins TEXT NOT NULL,
     allowed_tasks TEXT NOT NULL,
     quota_per_day INTEGER NOT NULL,
     active INTEGER NOT NULL
   );
   CREATE TABLE IF NOT EXISTS partner_visits (
     key_id TEXT NOT NULL REFERENCES partner_keys(id) ON DELETE CASCADE,
     day TEXT NOT NULL,
     visitor TEXT NOT NULL,
     PRIMARY KEY (key_id, day, visitor)
   );`,
  // Usage per key: which participants came through it (all time and by day) and how many of their
  // updates were accepted, by day.
  `CREATE TABLE partner_participants (
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
   );`,
  // What a visit does where the browser blocks the frame's storage ('memory' or 'link').
  `ALTER TABLE partner_keys ADD COLUMN storage_fallback TEXT NOT NULL DEFAULT 'memory';`,
];

/**
 * Schema migrations, applied in order; `PRAGMA user_version` is the one ledger of how many have
 * run. Never edit a shipped migration: add a new one (and its PostgreSQL twin in pg-migrations.ts).
 */
export const MIGRATIONS: readonly SqliteMigration[] = [
  `
  CREATE TABLE tasks (
    id TEXT PRIMARY KEY,
    config TEXT NOT NULL,
    topology TEXT NOT NULL,
    layout TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE TABLE model_versions (
    task_id TEXT NOT NULL REFERENCES tasks(id),
    version INTEGER NOT NULL,
    round INTEGER NOT NULL,
    payload BLOB NOT NULL,
    strategy_state BLOB,
    metrics TEXT NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL,
    PRIMARY KEY (task_id, version)
  );
  CREATE TABLE rounds (
    task_id TEXT NOT NULL REFERENCES tasks(id),
    round INTEGER NOT NULL,
    round_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    state TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    closed_at INTEGER,
    selected INTEGER NOT NULL,
    participants INTEGER NOT NULL DEFAULT 0,
    failures TEXT NOT NULL DEFAULT '[]',
    bytes_up INTEGER NOT NULL DEFAULT 0,
    bytes_down INTEGER NOT NULL DEFAULT 0,
    metrics TEXT NOT NULL DEFAULT '{}',
    abandon_reason TEXT,
    PRIMARY KEY (task_id, round)
  );
  CREATE TABLE participants (
    task_id TEXT NOT NULL REFERENCES tasks(id),
    id TEXT NOT NULL,
    capabilities TEXT NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    contributions INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (task_id, id)
  );
  CREATE TABLE update_receipts (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id TEXT NOT NULL,
    round INTEGER NOT NULL,
    participant_id TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    l2_norm REAL,
    accepted INTEGER NOT NULL,
    code TEXT,
    reason TEXT,
    at INTEGER NOT NULL
  );
  CREATE INDEX update_receipts_round ON update_receipts (task_id, round);
  `,
  // 2: admin accounts, revocable sessions, the audit log, and server-generated secrets.
  `
  CREATE TABLE admin_users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'operator')),
    created_at INTEGER NOT NULL,
    created_by TEXT
  );
  CREATE TABLE admin_sessions (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES admin_users(id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
  );
  CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
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
  // 3: partner keys and participant tokens join the one ledger. Before, the partner tables kept
  // their own (partner_schema) and participant_tokens was created if missing at every start.
  (db) => {
    const ledger = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'partner_schema'").get();
    const done = ledger ? ((db.prepare('SELECT version FROM partner_schema').get() as { version: number } | undefined)?.version ?? 0) : 0;
    for (let i = done; i < PARTNER_STEPS.length; i++) db.exec(PARTNER_STEPS[i]!);
    if (ledger) db.exec('DROP TABLE partner_schema');
    db.exec(`CREATE TABLE IF NOT EXISTS participant_tokens (
      task_id TEXT NOT NULL,
      participant_id TEXT NOT NULL,
      generation INTEGER NOT NULL,
      connection_id TEXT,
      revoked_at INTEGER,
      PRIMARY KEY (task_id, participant_id)
    )`);
  },
  // 4: the fencing token of each task's current owner (several server processes on one database).
  `CREATE TABLE task_fence (task_id TEXT PRIMARY KEY, token INTEGER NOT NULL);`,
  // 5: client selection — each participant's round history (pseudonymous ids only) and why a round's participants were picked.
  `
  CREATE TABLE participant_history (
    task_id TEXT NOT NULL REFERENCES tasks(id),
    participant_id TEXT NOT NULL,
    invited INTEGER NOT NULL DEFAULT 0,
    completed INTEGER NOT NULL DEFAULT 0,
    dropped INTEGER NOT NULL DEFAULT 0,
    last_loss REAL,
    last_examples INTEGER NOT NULL DEFAULT 0,
    last_duration_ms REAL,
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
  // Each version's exact difference from the one before, served after a restart too.
  `ALTER TABLE model_versions ADD COLUMN delta BLOB`,
  // 7: the selection policy's own state (Oort's ε), so a restart does not explore as if new.
  `CREATE TABLE selection_state (task_id TEXT PRIMARY KEY REFERENCES tasks(id), state TEXT NOT NULL);`,
  // 8: each participant's coverage signature (JSON numbers), for Oort's diversity term.
  `ALTER TABLE participant_history ADD COLUMN signature TEXT`,
];

export function migrate(db: Database.Database): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  for (let i = current; i < MIGRATIONS.length; i++) {
    db.transaction(() => {
      const step = MIGRATIONS[i]!;
      if (typeof step === 'string') db.exec(step);
      else step(db);
      db.pragma(`user_version = ${i + 1}`);
    })();
  }
  return MIGRATIONS.length;
}

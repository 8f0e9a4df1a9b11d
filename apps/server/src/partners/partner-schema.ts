import type Database from 'better-sqlite3';

/**
 * The partner tables' own schema steps, applied in order; `partner_schema.version` records how many
 * have run. Kept apart from the core storage migrations (and their `user_version`) so partner keys
 * stay an add-on. Never edit a step that has shipped: append one.
 */
export const PARTNER_SCHEMA_STEPS: readonly string[] = [
  // 1: keys and the per-day visitor log (the quota). IF NOT EXISTS: databases made before this
  // versioning already hold these tables.
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
  // 2: usage per key: which participants came through it (all time and by day) and how many of
  // their updates were accepted, by day.
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
  // 3: what a visit does where the browser blocks the frame's storage ('memory' or 'link').
  `ALTER TABLE partner_keys ADD COLUMN storage_fallback TEXT NOT NULL DEFAULT 'memory';`,
];

/** Applies the steps this database has not run yet, each in its own transaction. */
export function migratePartnerSchema(db: Database.Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS partner_schema (version INTEGER NOT NULL)');
  const row = db.prepare('SELECT version FROM partner_schema').get() as { version: number } | undefined;
  if (!row) db.prepare('INSERT INTO partner_schema (version) VALUES (0)').run();
  const current = row?.version ?? 0;
  for (let i = current; i < PARTNER_SCHEMA_STEPS.length; i++) {
    db.transaction(() => {
      db.exec(PARTNER_SCHEMA_STEPS[i]!);
      db.prepare('UPDATE partner_schema SET version = ?').run(i + 1);
    })();
  }
}

import type Database from 'better-sqlite3';
import { ChorusError } from '@chorus/core';
import { checkOriginPattern, PARTNER_KEY_PATTERN, type PartnerKey } from './partner-key.js';

/**
 * Partner keys and the per-day visitor log, in the server's SQLite database. The tables are this
 * module's own (created if missing), so the core Storage interface and its migrations stay untouched.
 */
export interface PartnerKeyStore {
  get(id: string): PartnerKey | null;
  list(): PartnerKey[];
  /** Creates or replaces a key. Throws on a malformed id or origin pattern. */
  put(key: PartnerKey): void;
  /**
   * Records that `visitor` came through `keyId` on `day`, unless the key's quota for that day is
   * already used up by other visitors. Returns whether the visit counts as allowed.
   */
  admitVisitor(key: PartnerKey, day: string, visitor: string): boolean;
  visitorsOn(keyId: string, day: string): number;
}

type Row = { id: string; name: string; allowed_origins: string; allowed_tasks: string; quota_per_day: number; active: number };

const toKey = (r: Row): PartnerKey => ({
  id: r.id,
  name: r.name,
  allowedOrigins: JSON.parse(r.allowed_origins) as string[],
  allowedTasks: JSON.parse(r.allowed_tasks) as string[],
  quotaPerDay: r.quota_per_day,
  active: r.active === 1,
});

export function createPartnerKeyStore(db: Database.Database): PartnerKeyStore {
  db.exec(`
    CREATE TABLE IF NOT EXISTS partner_keys (
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
    );
  `);
  const getStmt = db.prepare('SELECT * FROM partner_keys WHERE id = ?');
  const countStmt = db.prepare('SELECT count(*) AS n FROM partner_visits WHERE key_id = ? AND day = ?');
  const seenStmt = db.prepare('SELECT 1 FROM partner_visits WHERE key_id = ? AND day = ? AND visitor = ?');
  const insertVisit = db.prepare('INSERT OR IGNORE INTO partner_visits (key_id, day, visitor) VALUES (?, ?, ?)');
  // Count-then-insert in one transaction, so two simultaneous visitors cannot both take the last slot.
  const admit = db.transaction((key: PartnerKey, day: string, visitor: string): boolean => {
    if (seenStmt.get(key.id, day, visitor)) return true;
    const n = (countStmt.get(key.id, day) as { n: number }).n;
    if (key.quotaPerDay > 0 && n >= key.quotaPerDay) return false;
    insertVisit.run(key.id, day, visitor);
    return true;
  });

  return {
    get: (id) => {
      const r = getStmt.get(id) as Row | undefined;
      return r ? toKey(r) : null;
    },
    list: () => (db.prepare('SELECT * FROM partner_keys ORDER BY id').all() as Row[]).map(toKey),
    put(key) {
      if (!PARTNER_KEY_PATTERN.test(key.id)) throw new ChorusError('INVALID_CONFIG', `id: a partner key looks like "pk_…", got "${key.id}"`);
      key.allowedOrigins.forEach(checkOriginPattern);
      if (!Number.isInteger(key.quotaPerDay) || key.quotaPerDay < 0) throw new ChorusError('INVALID_CONFIG', `quotaPerDay: expected an integer ≥ 0, got ${key.quotaPerDay}`);
      db.prepare(
        `INSERT INTO partner_keys (id, name, allowed_origins, allowed_tasks, quota_per_day, active) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, allowed_origins = excluded.allowed_origins,
           allowed_tasks = excluded.allowed_tasks, quota_per_day = excluded.quota_per_day, active = excluded.active`,
      ).run(key.id, key.name, JSON.stringify(key.allowedOrigins), JSON.stringify(key.allowedTasks), key.quotaPerDay, key.active ? 1 : 0);
    },
    admitVisitor: (key, day, visitor) => admit(key, day, visitor),
    visitorsOn: (keyId, day) => (countStmt.get(keyId, day) as { n: number }).n,
  };
}

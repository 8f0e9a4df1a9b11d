import type Database from 'better-sqlite3';
import { ChorusError, STORAGE_FALLBACKS, type PartnerKeyUsage } from '@chorus/core';
import { checkOriginPattern, PARTNER_KEY_PATTERN, type PartnerKey } from './partner-key.js';
import { migratePartnerSchema } from './partner-schema.js';

/** What came through one key: the console's partner page shows it. */
export type { PartnerKeyUsage } from '@chorus/core';

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
  /** Deletes a key with its visitor log and usage. Returns whether it existed. */
  remove(id: string): boolean;
  /** Remembers that `participantId` joined `taskId` through `keyId` on `day`. */
  recordParticipant(keyId: string, taskId: string, participantId: string, day: string): void;
  /** Counts one accepted update contributed through `keyId` on `day`. */
  recordAcceptedUpdate(keyId: string, day: string): void;
  usage(keyId: string, day: string): PartnerKeyUsage;
}

type Row = { id: string; name: string; allowed_origins: string; allowed_tasks: string; quota_per_day: number; active: number; storage_fallback: string };

const toKey = (r: Row): PartnerKey => ({
  id: r.id,
  name: r.name,
  allowedOrigins: JSON.parse(r.allowed_origins) as string[],
  allowedTasks: JSON.parse(r.allowed_tasks) as string[],
  quotaPerDay: r.quota_per_day,
  active: r.active === 1,
  storageFallback: r.storage_fallback === 'link' ? 'link' : 'memory',
});

export function createPartnerKeyStore(db: Database.Database): PartnerKeyStore {
  migratePartnerSchema(db);
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
  const insertParticipant = db.prepare('INSERT OR IGNORE INTO partner_participants (key_id, participant_id, task_id, first_day) VALUES (?, ?, ?, ?)');
  const insertParticipantDay = db.prepare('INSERT OR IGNORE INTO partner_participant_days (key_id, day, participant_id) VALUES (?, ?, ?)');
  const addUpdate = db.prepare('INSERT INTO partner_updates (key_id, day, accepted) VALUES (?, ?, 1) ON CONFLICT(key_id, day) DO UPDATE SET accepted = accepted + 1');
  const usageStmt = db.prepare(`SELECT
      (SELECT count(*) FROM partner_participant_days WHERE key_id = @id AND day = @day) AS participantsToday,
      (SELECT count(*) FROM partner_participants WHERE key_id = @id) AS participantsAllTime,
      (SELECT coalesce(sum(accepted), 0) FROM partner_updates WHERE key_id = @id AND day = @day) AS updatesToday,
      (SELECT coalesce(sum(accepted), 0) FROM partner_updates WHERE key_id = @id) AS updatesAllTime`);
  // Children first: the foreign keys cascade only where the connection turned them on.
  const removeKey = db.transaction((id: string): boolean => {
    for (const table of ['partner_visits', 'partner_participants', 'partner_participant_days', 'partner_updates']) db.prepare(`DELETE FROM ${table} WHERE key_id = ?`).run(id);
    return db.prepare('DELETE FROM partner_keys WHERE id = ?').run(id).changes > 0;
  });
  const recordParticipant = db.transaction((keyId: string, taskId: string, participantId: string, day: string) => {
    insertParticipant.run(keyId, participantId, taskId, day);
    insertParticipantDay.run(keyId, day, participantId);
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
      if (!(STORAGE_FALLBACKS as readonly string[]).includes(key.storageFallback)) {
        throw new ChorusError('INVALID_CONFIG', `storageFallback: expected ${STORAGE_FALLBACKS.join(' or ')}, got "${String(key.storageFallback)}"`);
      }
      db.prepare(
        `INSERT INTO partner_keys (id, name, allowed_origins, allowed_tasks, quota_per_day, active, storage_fallback) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, allowed_origins = excluded.allowed_origins,
           allowed_tasks = excluded.allowed_tasks, quota_per_day = excluded.quota_per_day, active = excluded.active,
           storage_fallback = excluded.storage_fallback`,
      ).run(key.id, key.name, JSON.stringify(key.allowedOrigins), JSON.stringify(key.allowedTasks), key.quotaPerDay, key.active ? 1 : 0, key.storageFallback);
    },
    admitVisitor: (key, day, visitor) => admit(key, day, visitor),
    visitorsOn: (keyId, day) => (countStmt.get(keyId, day) as { n: number }).n,
    remove: (id) => removeKey(id),
    recordParticipant: (keyId, taskId, participantId, day) => recordParticipant(keyId, taskId, participantId, day),
    recordAcceptedUpdate: (keyId, day) => void addUpdate.run(keyId, day),
    usage: (keyId, day) => usageStmt.get({ id: keyId, day }) as PartnerKeyUsage,
  };
}

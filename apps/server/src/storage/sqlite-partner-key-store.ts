import type Database from 'better-sqlite3';
import type { PartnerKeyUsage } from '@chorus/core';
import type { PartnerKey } from '../partners/partner-key.js';
import { checkPartnerKey, partnerKeyFromRow, type PartnerKeyRow, type PartnerKeyStore } from '../partners/partner-key-store.js';

/** Partner keys, visitor log and usage in SQLite (tables from migration 3). */
export function createSqlitePartnerKeyStore(db: Database.Database): PartnerKeyStore {
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
    async get(id) {
      const r = getStmt.get(id) as PartnerKeyRow | undefined;
      return r ? partnerKeyFromRow(r) : null;
    },
    list: async () => (db.prepare('SELECT * FROM partner_keys ORDER BY id').all() as PartnerKeyRow[]).map(partnerKeyFromRow),
    async put(key) {
      checkPartnerKey(key);
      db.prepare(
        `INSERT INTO partner_keys (id, name, allowed_origins, allowed_tasks, quota_per_day, active, storage_fallback) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, allowed_origins = excluded.allowed_origins,
           allowed_tasks = excluded.allowed_tasks, quota_per_day = excluded.quota_per_day, active = excluded.active,
           storage_fallback = excluded.storage_fallback`,
      ).run(key.id, key.name, JSON.stringify(key.allowedOrigins), JSON.stringify(key.allowedTasks), key.quotaPerDay, key.active ? 1 : 0, key.storageFallback);
    },
    admitVisitor: async (key, day, visitor) => admit(key, day, visitor),
    visitorsOn: async (keyId, day) => (countStmt.get(keyId, day) as { n: number }).n,
    remove: async (id) => removeKey(id),
    recordParticipant: async (keyId, taskId, participantId, day) => recordParticipant(keyId, taskId, participantId, day),
    async recordAcceptedUpdate(keyId, day) {
      addUpdate.run(keyId, day);
    },
    usage: async (keyId, day) => usageStmt.get({ id: keyId, day }) as PartnerKeyUsage,
  };
}

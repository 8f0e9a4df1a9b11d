import type { PartnerKeyUsage } from '@chorus/core';
import { checkPartnerKey, partnerKeyFromRow, type PartnerKeyRow, type PartnerKeyStore } from '../partners/partner-key-store.js';
import type { PgDb } from './pg-db.js';

/** Partner keys, visitor log and usage in PostgreSQL (tables from migration 3). */
export function createPgPartnerKeyStore(db: PgDb): PartnerKeyStore {
  const visitors = async (keyId: string, day: string): Promise<number> =>
    (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM partner_visits WHERE key_id = $1 AND day = $2', [keyId, day])).rows[0]!.n;
  return {
    async get(id) {
      const r = (await db.query<PartnerKeyRow>('SELECT * FROM partner_keys WHERE id = $1', [id])).rows[0];
      return r ? partnerKeyFromRow(r) : null;
    },
    list: async () => (await db.query<PartnerKeyRow>('SELECT * FROM partner_keys ORDER BY id')).rows.map(partnerKeyFromRow),
    async put(key) {
      checkPartnerKey(key);
      await db.query(
        `INSERT INTO partner_keys (id, name, allowed_origins, allowed_tasks, quota_per_day, active, storage_fallback) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, allowed_origins = excluded.allowed_origins,
           allowed_tasks = excluded.allowed_tasks, quota_per_day = excluded.quota_per_day, active = excluded.active,
           storage_fallback = excluded.storage_fallback`,
        [key.id, key.name, JSON.stringify(key.allowedOrigins), JSON.stringify(key.allowedTasks), key.quotaPerDay, key.active ? 1 : 0, key.storageFallback],
      );
    },
    admitVisitor: (key, day, visitor) =>
      db.tx(async (c) => {
        // Count-then-insert under a lock per key and day: visitors arriving at several processes
        // together cannot both take the last slot.
        await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`partner-quota:${key.id}:${day}`]);
        if ((await c.query('SELECT 1 FROM partner_visits WHERE key_id = $1 AND day = $2 AND visitor = $3', [key.id, day, visitor])).rowCount) return true;
        const n = (await c.query<{ n: number }>('SELECT count(*)::int AS n FROM partner_visits WHERE key_id = $1 AND day = $2', [key.id, day])).rows[0]!.n;
        if (key.quotaPerDay > 0 && n >= key.quotaPerDay) return false;
        await c.query('INSERT INTO partner_visits (key_id, day, visitor) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [key.id, day, visitor]);
        return true;
      }),
    visitorsOn: visitors,
    remove: async (id) => ((await db.query('DELETE FROM partner_keys WHERE id = $1', [id])).rowCount ?? 0) > 0,
    recordParticipant: (keyId, taskId, participantId, day) =>
      db.tx(async (c) => {
        await c.query('INSERT INTO partner_participants (key_id, participant_id, task_id, first_day) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [keyId, participantId, taskId, day]);
        await c.query('INSERT INTO partner_participant_days (key_id, day, participant_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [keyId, day, participantId]);
      }),
    async recordAcceptedUpdate(keyId, day) {
      await db.query('INSERT INTO partner_updates (key_id, day, accepted) VALUES ($1, $2, 1) ON CONFLICT (key_id, day) DO UPDATE SET accepted = partner_updates.accepted + 1', [keyId, day]);
    },
    usage: async (keyId, day) =>
      (
        await db.query<PartnerKeyUsage>(
          `SELECT
             (SELECT count(*)::int FROM partner_participant_days WHERE key_id = $1 AND day = $2) AS "participantsToday",
             (SELECT count(*)::int FROM partner_participants WHERE key_id = $1) AS "participantsAllTime",
             (SELECT coalesce(sum(accepted), 0)::int FROM partner_updates WHERE key_id = $1 AND day = $2) AS "updatesToday",
             (SELECT coalesce(sum(accepted), 0)::int FROM partner_updates WHERE key_id = $1) AS "updatesAllTime"`,
          [keyId, day],
        )
      ).rows[0]!,
  };
}

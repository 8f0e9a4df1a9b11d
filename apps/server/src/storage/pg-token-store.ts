import type { ParticipantTokenStore } from '../auth/participant-token-store.js';
import type { PgDb } from './pg-db.js';

/** Participant token generations in PostgreSQL (table from migration 3). Compare-and-set in single statements. */
export function createPgTokenStore(db: PgDb): ParticipantTokenStore {
  return {
    async get(taskId, participantId) {
      const r = (await db.query<{ generation: number; connection_id: string | null; revoked_at: number | null }>(
        'SELECT generation, connection_id, revoked_at FROM participant_tokens WHERE task_id = $1 AND participant_id = $2',
        [taskId, participantId],
      )).rows[0];
      return r ? { generation: r.generation, connectionId: r.connection_id, revoked: r.revoked_at !== null } : null;
    },
    async advance(taskId, participantId, from, connectionId) {
      const res =
        from === null
          ? await db.query('INSERT INTO participant_tokens (task_id, participant_id, generation, connection_id) VALUES ($1, $2, 1, $3) ON CONFLICT DO NOTHING', [taskId, participantId, connectionId])
          : await db.query('UPDATE participant_tokens SET generation = generation + 1, connection_id = $1 WHERE task_id = $2 AND participant_id = $3 AND generation = $4 AND revoked_at IS NULL', [
              connectionId,
              taskId,
              participantId,
              from,
            ]);
      return res.rowCount === 1;
    },
    async revoke(taskId, participantId, at) {
      await db.query('UPDATE participant_tokens SET revoked_at = $1 WHERE task_id = $2 AND participant_id = $3 AND revoked_at IS NULL', [at, taskId, participantId]);
    },
  };
}

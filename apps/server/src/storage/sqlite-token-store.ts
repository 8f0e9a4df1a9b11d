import type Database from 'better-sqlite3';
import type { ParticipantTokenStore } from '../auth/participant-token-store.js';

/** Participant token generations in SQLite (table from migration 3). */
export function createSqliteTokenStore(db: Database.Database): ParticipantTokenStore {
  const get = db.prepare('SELECT generation, connection_id, revoked_at FROM participant_tokens WHERE task_id = ? AND participant_id = ?');
  const insert = db.prepare('INSERT OR IGNORE INTO participant_tokens (task_id, participant_id, generation, connection_id) VALUES (?, ?, 1, ?)');
  const bump = db.prepare('UPDATE participant_tokens SET generation = generation + 1, connection_id = ? WHERE task_id = ? AND participant_id = ? AND generation = ? AND revoked_at IS NULL');
  const revoke = db.prepare('UPDATE participant_tokens SET revoked_at = ? WHERE task_id = ? AND participant_id = ? AND revoked_at IS NULL');
  return {
    async get(taskId, participantId) {
      const r = get.get(taskId, participantId) as { generation: number; connection_id: string | null; revoked_at: number | null } | undefined;
      return r ? { generation: r.generation, connectionId: r.connection_id, revoked: r.revoked_at !== null } : null;
    },
    async advance(taskId, participantId, from, connectionId) {
      if (from === null) return insert.run(taskId, participantId, connectionId).changes === 1;
      return bump.run(connectionId, taskId, participantId, from).changes === 1;
    },
    async revoke(taskId, participantId, at) {
      revoke.run(at, taskId, participantId);
    },
  };
}

import type Database from 'better-sqlite3';

/** What the server remembers about one participant's token: which generation is current. */
export interface TokenGeneration {
  /** The generation the next join must present. */
  readonly generation: number;
  /** The connection that was issued the current generation (it may retry a join whose ack it lost). */
  readonly connectionId: string | null;
  readonly revoked: boolean;
}

/**
 * Participant token generations, in the server's SQLite database (a table of its own, created if
 * missing, so the core storage migrations stay untouched). Persisted so that a restart does not make
 * an old, replayed token valid again.
 */
export class ParticipantTokenStore {
  constructor(private readonly db: Database.Database) {
    db.exec(`CREATE TABLE IF NOT EXISTS participant_tokens (
      task_id TEXT NOT NULL,
      participant_id TEXT NOT NULL,
      generation INTEGER NOT NULL,
      connection_id TEXT,
      revoked_at INTEGER,
      PRIMARY KEY (task_id, participant_id)
    )`);
  }

  get(taskId: string, participantId: string): TokenGeneration | null {
    const r = this.db.prepare('SELECT generation, connection_id, revoked_at FROM participant_tokens WHERE task_id = ? AND participant_id = ?').get(taskId, participantId) as
      | { generation: number; connection_id: string | null; revoked_at: number | null }
      | undefined;
    return r ? { generation: r.generation, connectionId: r.connection_id, revoked: r.revoked_at !== null } : null;
  }

  /**
   * Moves the participant from generation `from` (null: no row yet) to `from + 1`, recording the
   * connection. Compare-and-set: false when another join got there first (the token was used twice).
   */
  advance(taskId: string, participantId: string, from: number | null, connectionId: string): boolean {
    if (from === null) {
      const r = this.db.prepare('INSERT OR IGNORE INTO participant_tokens (task_id, participant_id, generation, connection_id) VALUES (?, ?, 1, ?)').run(taskId, participantId, connectionId);
      return r.changes === 1;
    }
    const r = this.db
      .prepare('UPDATE participant_tokens SET generation = generation + 1, connection_id = ? WHERE task_id = ? AND participant_id = ? AND generation = ? AND revoked_at IS NULL')
      .run(connectionId, taskId, participantId, from);
    return r.changes === 1;
  }

  /** After a replay: no token of this participant works any more; its browser joins afresh. */
  revoke(taskId: string, participantId: string, at: number): void {
    this.db.prepare('UPDATE participant_tokens SET revoked_at = ? WHERE task_id = ? AND participant_id = ? AND revoked_at IS NULL').run(at, taskId, participantId);
  }
}

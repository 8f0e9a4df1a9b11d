import type Database from 'better-sqlite3';
import type { ParticipantHistory, RoundSelection, SelectionStorage } from './selection-records.js';
import { toParticipantHistory, type Row } from './storage-rows.js';

/** Client-selection history and per-round picks in SQLite (tables of migration 3). */
export function createSqliteSelectionStore(db: Database.Database): SelectionStorage {
  const upsert = db.prepare(
    `INSERT INTO participant_history (task_id, participant_id, invited, completed, dropped, last_loss, last_examples, last_duration_ms, last_round)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (task_id, participant_id) DO UPDATE SET invited = excluded.invited, completed = excluded.completed, dropped = excluded.dropped,
       last_loss = excluded.last_loss, last_examples = excluded.last_examples, last_duration_ms = excluded.last_duration_ms, last_round = excluded.last_round`,
  );
  const saveMany = db.transaction((taskId: string, rows: readonly ParticipantHistory[]) => {
    for (const h of rows) upsert.run(taskId, h.participantId, h.invited, h.completed, h.dropped, h.lastLoss, h.lastExamples, h.lastDurationMs, h.lastRound);
  });
  return {
    async loadParticipantHistory(taskId) {
      return (db.prepare('SELECT * FROM participant_history WHERE task_id = ?').all(taskId) as Row[]).map(toParticipantHistory);
    },
    async saveParticipantHistory(taskId, rows) {
      saveMany(taskId, rows);
    },
    async saveRoundSelection(taskId, round, selection) {
      db.prepare('INSERT OR REPLACE INTO round_selections (task_id, round, policy, reasons) VALUES (?, ?, ?, ?)').run(taskId, round, selection.policy, JSON.stringify(selection.reasons));
    },
    async getRoundSelection(taskId, round) {
      const row = db.prepare('SELECT policy, reasons FROM round_selections WHERE task_id = ? AND round = ?').get(taskId, round) as { policy: string; reasons: string } | undefined;
      return row ? ({ policy: row.policy, reasons: JSON.parse(row.reasons) } as RoundSelection) : null;
    },
  };
}

import type Database from 'better-sqlite3';
import { mergeReasons, type ParticipantHistory, type RoundSelection, type SelectionReason, type SelectionStorage } from './selection-records.js';
import { signatureColumn, toParticipantHistory, type Row } from './storage-rows.js';

/** Client-selection history and per-round picks (tables of migration 5) and the selector's state (migration 7) in SQLite. */
export function createSqliteSelectionStore(db: Database.Database): SelectionStorage {
  const upsert = db.prepare(
    `INSERT INTO participant_history (task_id, participant_id, invited, completed, dropped, last_loss, last_examples, last_duration_ms, last_round, signature)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (task_id, participant_id) DO UPDATE SET invited = excluded.invited, completed = excluded.completed, dropped = excluded.dropped,
       last_loss = excluded.last_loss, last_examples = excluded.last_examples, last_duration_ms = excluded.last_duration_ms, last_round = excluded.last_round, signature = excluded.signature`,
  );
  const saveMany = db.transaction((taskId: string, rows: readonly ParticipantHistory[]) => {
    for (const h of rows) upsert.run(taskId, h.participantId, h.invited, h.completed, h.dropped, h.lastLoss, h.lastExamples, h.lastDurationMs, h.lastRound, signatureColumn(h.signature));
  });
  const replace = db.prepare('INSERT OR REPLACE INTO round_selections (task_id, round, policy, reasons) VALUES (?, ?, ?, ?)');
  const reasonsOf = db.prepare('SELECT reasons FROM round_selections WHERE task_id = ? AND round = ?');
  const add = db.transaction((taskId: string, round: number, selection: RoundSelection) => {
    const row = reasonsOf.get(taskId, round) as { reasons: string } | undefined;
    const earlier = row ? (JSON.parse(row.reasons) as SelectionReason[]) : [];
    replace.run(taskId, round, selection.policy, JSON.stringify(mergeReasons(earlier, selection.reasons)));
  });
  return {
    async loadParticipantHistory(taskId) {
      return (db.prepare('SELECT * FROM participant_history WHERE task_id = ?').all(taskId) as Row[]).map(toParticipantHistory);
    },
    async saveParticipantHistory(taskId, rows) {
      saveMany(taskId, rows);
    },
    async loadSelectorState(taskId) {
      const row = db.prepare('SELECT state FROM selection_state WHERE task_id = ?').get(taskId) as { state: string } | undefined;
      return row ? (JSON.parse(row.state) as unknown) : null;
    },
    async saveSelectorState(taskId, state) {
      db.prepare('INSERT INTO selection_state (task_id, state) VALUES (?, ?) ON CONFLICT (task_id) DO UPDATE SET state = excluded.state').run(taskId, JSON.stringify(state));
    },
    async saveRoundSelection(taskId, round, selection) {
      replace.run(taskId, round, selection.policy, JSON.stringify(selection.reasons));
    },
    async addRoundSelection(taskId, round, selection) {
      add(taskId, round, selection);
    },
    async getRoundSelection(taskId, round) {
      const row = db.prepare('SELECT policy, reasons FROM round_selections WHERE task_id = ? AND round = ?').get(taskId, round) as { policy: string; reasons: string } | undefined;
      return row ? ({ policy: row.policy, reasons: JSON.parse(row.reasons) } as RoundSelection) : null;
    },
  };
}

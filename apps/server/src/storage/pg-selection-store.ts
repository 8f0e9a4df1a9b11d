import type { PgDb } from './pg-db.js';
import { mergeReasons, type ParticipantHistory, type RoundSelection, type SelectionReason, type SelectionStorage } from './selection-records.js';
import { signatureColumn, toParticipantHistory, type Row } from './storage-rows.js';

/** Client-selection history and per-round picks (tables of migration 5) and the selector's state (migration 7) in PostgreSQL. */
export function createPgSelectionStore(db: PgDb): SelectionStorage {
  return {
    async loadParticipantHistory(taskId) {
      return (await db.query<Row>('SELECT * FROM participant_history WHERE task_id = $1', [taskId])).rows.map(toParticipantHistory);
    },
    async saveParticipantHistory(taskId, rows: readonly ParticipantHistory[]) {
      if (rows.length === 0) return;
      // One statement for the whole batch (a round closes with hundreds of rows): arrays unnested server-side.
      const col = <K extends keyof ParticipantHistory>(k: K) => rows.map((h) => h[k]);
      await db.query(
        `INSERT INTO participant_history (task_id, participant_id, invited, completed, dropped, last_loss, last_examples, last_duration_ms, last_round, signature)
         SELECT $1, * FROM unnest($2::text[], $3::int[], $4::int[], $5::int[], $6::float8[], $7::int[], $8::float8[], $9::int[], $10::text[])
         ON CONFLICT (task_id, participant_id) DO UPDATE SET invited = excluded.invited, completed = excluded.completed, dropped = excluded.dropped,
           last_loss = excluded.last_loss, last_examples = excluded.last_examples, last_duration_ms = excluded.last_duration_ms, last_round = excluded.last_round, signature = excluded.signature`,
        [taskId, col('participantId'), col('invited'), col('completed'), col('dropped'), col('lastLoss'), col('lastExamples'), col('lastDurationMs'), col('lastRound'), rows.map((h) => signatureColumn(h.signature))],
      );
    },
    async loadSelectorState(taskId) {
      const row = (await db.query<{ state: string }>('SELECT state FROM selection_state WHERE task_id = $1', [taskId])).rows[0];
      return row ? (JSON.parse(row.state) as unknown) : null;
    },
    async saveSelectorState(taskId, state) {
      await db.query('INSERT INTO selection_state (task_id, state) VALUES ($1, $2) ON CONFLICT (task_id) DO UPDATE SET state = excluded.state', [taskId, JSON.stringify(state)]);
    },
    async addRoundSelection(taskId, round, selection) {
      await db.tx(async (c) => {
        // The row exists before it is locked: two first picks of a buffer cannot both insert.
        await c.query(`INSERT INTO round_selections (task_id, round, policy, reasons) VALUES ($1, $2, $3, '[]') ON CONFLICT (task_id, round) DO NOTHING`, [taskId, round, selection.policy]);
        const row = (await c.query<{ reasons: string }>('SELECT reasons FROM round_selections WHERE task_id = $1 AND round = $2 FOR UPDATE', [taskId, round])).rows[0]!;
        const merged = mergeReasons(JSON.parse(row.reasons) as SelectionReason[], selection.reasons);
        await c.query('UPDATE round_selections SET policy = $3, reasons = $4 WHERE task_id = $1 AND round = $2', [taskId, round, selection.policy, JSON.stringify(merged)]);
      });
    },
    async saveRoundSelection(taskId, round, selection) {
      await db.query(
        `INSERT INTO round_selections (task_id, round, policy, reasons) VALUES ($1, $2, $3, $4)
         ON CONFLICT (task_id, round) DO UPDATE SET policy = excluded.policy, reasons = excluded.reasons`,
        [taskId, round, selection.policy, JSON.stringify(selection.reasons)],
      );
    },
    async getRoundSelection(taskId, round) {
      const row = (await db.query<{ policy: string; reasons: string }>('SELECT policy, reasons FROM round_selections WHERE task_id = $1 AND round = $2', [taskId, round])).rows[0];
      return row ? ({ policy: row.policy, reasons: JSON.parse(row.reasons) } as RoundSelection) : null;
    },
  };
}

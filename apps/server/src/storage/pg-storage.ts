import type pg from 'pg';
import { ChorusError, type TaskStatus } from '@chorus/core';
import type { AuditLog } from '../admin/audit-log.js';
import type { AuthStore } from '../auth/auth-store.js';
import type { ParticipantTokenStore } from '../auth/participant-token-store.js';
import type { PartnerKeyStore } from '../partners/partner-key-store.js';
import { createPgAuditLog } from './pg-audit-log.js';
import { createPgAuthStore } from './pg-auth-store.js';
import { createPool, isUniqueViolation, pgDb, type PgDb } from './pg-db.js';
import { checkPostgresUrl, PG_SCHEMA_PATTERN } from './postgres-url.js';
import { migratePg } from './pg-migrations.js';
import { createPgPartnerKeyStore } from './pg-partner-key-store.js';
import { createPgSelectionStore } from './pg-selection-store.js';
import { createPgTokenStore } from './pg-token-store.js';
import type { SelectionStorage } from './selection-records.js';
import { json, parse, toReceipt, toRound, toSummary, toTask, toVersion, type Row } from './storage-rows.js';
import { fenced } from './task-fence.js';
import { DEFAULT_RETENTION, type NewVersion, type RoundClose, type Storage, type StoredParticipant, type StoredReceipt, type StoredRound, type StoredTask, type StoredVersion, type VersionRetention, type VersionSummary } from './storage.js';

export interface PgStorageOptions {
  /** postgres://user[:password]@host[:port]/database */
  readonly url: string;
  /** Schema holding Chorus's tables (created when missing): one per deployment or per test run. @default 'public' */
  readonly schema?: string;
  /** Which versions a commit keeps. @default DEFAULT_RETENTION */
  readonly retention?: VersionRetention;
  /** Told about errors of idle connections (PostgreSQL restarted); queries report their own. */
  readonly onError?: (err: Error) => void;
}

const VERSION_COLUMNS = 'task_id, version, round, metrics, octet_length(payload) AS byte_length, created_at';
const bytea = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/** PostgreSQL storage (node-postgres pool). Open with `PgStorage.open`, which migrates under an advisory lock. */
export class PgStorage implements Storage {
  readonly auth: AuthStore;
  readonly audit: AuditLog;
  readonly partnerKeys: PartnerKeyStore;
  readonly participantTokens: ParticipantTokenStore;
  private readonly db: PgDb;

  private constructor(
    private readonly pool: pg.Pool,
    readonly schema: string,
    private readonly retention: VersionRetention,
  ) {
    this.db = pgDb(pool);
    this.auth = createPgAuthStore(this.db);
    this.audit = createPgAuditLog(this.db);
    this.partnerKeys = createPgPartnerKeyStore(this.db);
    this.participantTokens = createPgTokenStore(this.db);
    this.selection = createPgSelectionStore(this.db);
  }

  private readonly selection: SelectionStorage;
  loadParticipantHistory: SelectionStorage['loadParticipantHistory'] = (taskId) => this.selection.loadParticipantHistory(taskId);
  saveParticipantHistory: SelectionStorage['saveParticipantHistory'] = (taskId, rows) => this.selection.saveParticipantHistory(taskId, rows);
  loadSelectorState: SelectionStorage['loadSelectorState'] = (taskId) => this.selection.loadSelectorState(taskId);
  saveSelectorState: SelectionStorage['saveSelectorState'] = (taskId, state) => this.selection.saveSelectorState(taskId, state);
  saveRoundSelection: SelectionStorage['saveRoundSelection'] = (taskId, round, selection) => this.selection.saveRoundSelection(taskId, round, selection);
  addRoundSelection: SelectionStorage['addRoundSelection'] = (taskId, round, selection) => this.selection.addRoundSelection(taskId, round, selection);
  getRoundSelection: SelectionStorage['getRoundSelection'] = (taskId, round) => this.selection.getRoundSelection(taskId, round);

  /** Checks the URL (INVALID_CONFIG naming `db`), connects and runs the migrations this schema lacks. */
  static async open(options: PgStorageOptions): Promise<PgStorage> {
    const shown = checkPostgresUrl(options.url);
    const schema = options.schema ?? 'public';
    if (!PG_SCHEMA_PATTERN.test(schema)) throw new ChorusError('INVALID_CONFIG', `dbSchema: "${schema}" is not a plain lower-case schema name`);
    const pool = createPool(options.url, schema, options.onError ?? (() => undefined));
    try {
      const client = await pool.connect().catch((err: unknown) => {
        throw new ChorusError('UNAVAILABLE', `db: cannot reach PostgreSQL at ${shown}: ${(err as Error).message}`, { cause: err });
      });
      try {
        await migratePg(client, schema);
      } finally {
        client.release();
      }
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw err;
    }
    return new PgStorage(pool, schema, options.retention ?? DEFAULT_RETENTION);
  }

  async ping(): Promise<void> {
    await this.db.query('SELECT 1');
  }

  async createTask(task: Omit<StoredTask, 'updatedAt'>, initial: NewVersion): Promise<void> {
    try {
      await this.db.tx(async (c) => {
        await c.query('INSERT INTO tasks (id, config, topology, layout, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)', [
          task.id,
          json(task.config),
          json(task.topology),
          json(task.layout),
          task.status,
          task.createdAt,
        ]);
        await insertVersion(c, initial);
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new ChorusError('INVALID_CONFIG', `task id: "${task.id}" already exists`);
      throw err;
    }
  }

  async getTask(id: string): Promise<StoredTask | null> {
    const r = (await this.db.query('SELECT * FROM tasks WHERE id = $1', [id])).rows[0];
    return r ? toTask(r) : null;
  }

  async listTasks(): Promise<StoredTask[]> {
    return (await this.db.query('SELECT * FROM tasks ORDER BY created_at, id')).rows.map(toTask);
  }

  async setTaskStatus(id: string, status: TaskStatus, at: number): Promise<void> {
    const res = await this.db.query('UPDATE tasks SET status = $1, updated_at = $2 WHERE id = $3', [status, at, id]);
    if (res.rowCount === 0) throw new ChorusError('NOT_FOUND', `task "${id}" does not exist`);
  }

  async latestVersion(taskId: string): Promise<StoredVersion | null> {
    const r = (await this.db.query(`SELECT ${VERSION_COLUMNS}, payload, strategy_state FROM model_versions WHERE task_id = $1 ORDER BY version DESC LIMIT 1`, [taskId])).rows[0];
    return r ? toVersion(r) : null;
  }

  async getVersion(taskId: string, version: number): Promise<StoredVersion | null> {
    const r = (await this.db.query(`SELECT ${VERSION_COLUMNS}, payload, strategy_state FROM model_versions WHERE task_id = $1 AND version = $2`, [taskId, version])).rows[0];
    return r ? toVersion(r) : null;
  }

  async getVersionDelta(taskId: string, version: number): Promise<Uint8Array | null> {
    const r = (await this.db.query<{ delta: Buffer | null }>('SELECT delta FROM model_versions WHERE task_id = $1 AND version = $2', [taskId, version])).rows[0];
    return r?.delta ? new Uint8Array(r.delta.buffer, r.delta.byteOffset, r.delta.byteLength) : null;
  }

  async listVersions(taskId: string, limit: number): Promise<VersionSummary[]> {
    return (await this.db.query(`SELECT ${VERSION_COLUMNS} FROM model_versions WHERE task_id = $1 ORDER BY version DESC LIMIT $2`, [taskId, limit])).rows.map(toSummary);
  }

  async addVersionMetrics(taskId: string, version: number, metrics: Readonly<Record<string, number>>): Promise<void> {
    await this.db.tx(async (c) => {
      const v = (await c.query<Row>('SELECT round, metrics FROM model_versions WHERE task_id = $1 AND version = $2 FOR UPDATE', [taskId, version])).rows[0];
      if (!v) throw new ChorusError('NOT_FOUND', `task "${taskId}" has no version ${version}`);
      await c.query('UPDATE model_versions SET metrics = $1 WHERE task_id = $2 AND version = $3', [json({ ...parse<object>(v.metrics), ...metrics }), taskId, version]);
      const r = (await c.query<Row>('SELECT metrics FROM rounds WHERE task_id = $1 AND round = $2 FOR UPDATE', [taskId, v.round])).rows[0];
      if (r) await c.query('UPDATE rounds SET metrics = $1 WHERE task_id = $2 AND round = $3', [json({ ...parse<object>(r.metrics), ...metrics }), taskId, v.round]);
    });
  }

  async openRound(round: Parameters<Storage['openRound']>[0]): Promise<void> {
    await this.db.query("INSERT INTO rounds (task_id, round, round_id, version, state, started_at, selected) VALUES ($1, $2, $3, $4, 'collecting', $5, $6)", [
      round.taskId,
      round.round,
      round.roundId,
      round.version,
      round.startedAt,
      round.selected,
    ]);
  }

  async commitRound(close: RoundClose, version: NewVersion, fence?: number): Promise<void> {
    await this.db.tx(async (c) => {
      // FOR SHARE: a takeover's raiseFence waits for this commit, and this commit sees any raise before it.
      if (fence !== undefined) {
        const row = (await c.query<{ token: number }>('SELECT token FROM task_fence WHERE task_id = $1 FOR SHARE', [version.taskId])).rows[0];
        if (row?.token !== fence) throw fenced(version.taskId, fence);
      }
      await insertVersion(c, version);
      await closeRound(c, close, 'committed', null);
      const accepted = close.receipts.filter((r) => r.accepted).map((r) => r.participantId);
      // One statement for every contributor; a participant listed twice counts twice, as in SQLite.
      if (accepted.length > 0) {
        await c.query('UPDATE participants p SET contributions = p.contributions + n.k FROM (SELECT id, count(*)::int AS k FROM unnest($2::text[]) AS id GROUP BY id) n WHERE p.task_id = $1 AND p.id = n.id', [
          close.taskId,
          accepted,
        ]);
      }
      await this.pruneVersions(c, version.taskId);
    });
  }

  async abandonRound(close: RoundClose, reason: string): Promise<void> {
    await this.db.tx((c) => closeRound(c, close, 'abandoned', reason));
  }

  async abandonOpenRounds(taskId: string, reason: string, at: number): Promise<number> {
    return (await this.db.query("UPDATE rounds SET state = 'abandoned', abandon_reason = $1, closed_at = $2 WHERE task_id = $3 AND state = 'collecting'", [reason, at, taskId])).rowCount ?? 0;
  }

  async listRounds(taskId: string, limit: number): Promise<StoredRound[]> {
    return (await this.db.query('SELECT * FROM rounds WHERE task_id = $1 ORDER BY round DESC LIMIT $2', [taskId, limit])).rows.map(toRound);
  }

  async lastRoundNumber(taskId: string): Promise<number> {
    const n = (await this.db.query<{ n: number | null }>('SELECT MAX(round) AS n FROM rounds WHERE task_id = $1', [taskId])).rows[0]?.n;
    return n == null ? 0 : Number(n);
  }

  async listReceipts(taskId: string, round: number): Promise<StoredReceipt[]> {
    return (await this.db.query('SELECT * FROM update_receipts WHERE task_id = $1 AND round = $2 ORDER BY seq', [taskId, round])).rows.map(toReceipt);
  }

  async addReceipt(receipt: StoredReceipt): Promise<void> {
    await insertReceipts(this.db, [receipt]);
  }

  async upsertParticipant(taskId: string, id: string, capabilities: unknown, at: number): Promise<void> {
    await this.db.query(
      `INSERT INTO participants (task_id, id, capabilities, first_seen, last_seen) VALUES ($1, $2, $3, $4, $4)
       ON CONFLICT (task_id, id) DO UPDATE SET capabilities = excluded.capabilities, last_seen = excluded.last_seen`,
      [taskId, id, json(capabilities), at],
    );
  }

  async getParticipant(taskId: string, id: string): Promise<StoredParticipant | null> {
    const r = (await this.db.query('SELECT * FROM participants WHERE task_id = $1 AND id = $2', [taskId, id])).rows[0];
    if (!r) return null;
    return { taskId, id, capabilities: parse(r.capabilities), firstSeen: Number(r.first_seen), lastSeen: Number(r.last_seen), contributions: Number(r.contributions) };
  }

  async getParticipants(taskId: string, ids: readonly string[]): Promise<StoredParticipant[]> {
    if (ids.length === 0) return [];
    const rows = (await this.db.query('SELECT * FROM participants WHERE task_id = $1 AND id = ANY($2::text[])', [taskId, ids])).rows;
    return rows.map((r) => ({ taskId, id: String(r.id), capabilities: parse(r.capabilities), firstSeen: Number(r.first_seen), lastSeen: Number(r.last_seen), contributions: Number(r.contributions) }));
  }

  async close(): Promise<void> {
    if (!this.pool.ended) await this.pool.end();
  }

  async raiseFence(taskId: string, token: number): Promise<void> {
    const res = await this.db.query(
      'INSERT INTO task_fence (task_id, token) VALUES ($1, $2) ON CONFLICT (task_id) DO UPDATE SET token = excluded.token WHERE task_fence.token <= excluded.token',
      [taskId, token],
    );
    if (res.rowCount === 0) throw fenced(taskId, token);
  }

  async fenceToken(taskId: string): Promise<number> {
    const row = (await this.db.query<{ token: string | number }>('SELECT token FROM task_fence WHERE task_id = $1', [taskId])).rows[0];
    return row ? Number(row.token) : 0;
  }

  /** Deletes the versions the retention policy lets go (see VersionRetention). */
  private async pruneVersions(c: pg.PoolClient, taskId: string): Promise<void> {
    const { keepLast, keepEvery } = this.retention;
    if (keepLast <= 0) return;
    await c.query(
      `DELETE FROM model_versions WHERE task_id = $1
         AND version <= (SELECT MAX(version) FROM model_versions WHERE task_id = $1) - $2
         AND ($3 = 0 OR version % $3 <> 0)
         AND version NOT IN (SELECT version FROM rounds WHERE task_id = $1 AND state = 'collecting')`,
      [taskId, keepLast, keepEvery],
    );
  }
}

async function insertVersion(c: pg.PoolClient, v: NewVersion): Promise<void> {
  await c.query('INSERT INTO model_versions (task_id, version, round, payload, strategy_state, metrics, created_at, delta) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [
    v.taskId,
    v.version,
    v.round,
    bytea(v.payload),
    v.strategyState ? bytea(v.strategyState) : null,
    json(v.metrics),
    v.createdAt,
    v.delta ? bytea(v.delta) : null,
  ]);
}

async function closeRound(c: pg.PoolClient, close: RoundClose, state: 'committed' | 'abandoned', reason: string | null): Promise<void> {
  const res = await c.query(
    `UPDATE rounds SET state = $1, closed_at = $2, participants = $3, failures = $4, bytes_up = $5, bytes_down = $6, metrics = $7, abandon_reason = $8
     WHERE task_id = $9 AND round = $10 AND state = 'collecting'`,
    [state, close.closedAt, close.participants, json(close.failures), close.bytesUp, close.bytesDown, json(close.metrics), reason, close.taskId, close.round],
  );
  if (res.rowCount !== 1) throw new ChorusError('INTERNAL', `round ${close.round} of task "${close.taskId}" is not open`);
  await insertReceipts(c, close.receipts);
}

/** All of a round's receipts in one INSERT (a round of 1,000 updates is one round trip, not 1,000). */
async function insertReceipts(c: { query(sql: string, params: unknown[]): Promise<unknown> }, receipts: readonly StoredReceipt[]): Promise<void> {
  if (receipts.length === 0) return;
  await c.query(
    `INSERT INTO update_receipts (task_id, round, participant_id, bytes, l2_norm, accepted, code, reason, at)
     SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::bigint[], $5::float8[], $6::int[], $7::text[], $8::text[], $9::bigint[])`,
    [
      receipts.map((r) => r.taskId),
      receipts.map((r) => r.round),
      receipts.map((r) => r.participantId),
      receipts.map((r) => r.bytes),
      receipts.map((r) => r.l2Norm),
      receipts.map((r) => (r.accepted ? 1 : 0)),
      receipts.map((r) => r.code),
      receipts.map((r) => r.reason),
      receipts.map((r) => r.at),
    ],
  );
}

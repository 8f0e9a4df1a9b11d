import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { ChorusError, type TaskStatus } from '@chorus/core';
import type { AuditLog } from '../admin/audit-log.js';
import type { AuthStore } from '../auth/auth-store.js';
import type { ParticipantTokenStore } from '../auth/participant-token-store.js';
import type { PartnerKeyStore } from '../partners/partner-key-store.js';
import { createSqliteAuditLog } from './sqlite-audit-log.js';
import { createSqliteAuthStore } from './sqlite-auth-store.js';
import { migrate } from './sqlite-migrations.js';
import { cachePreparedStatements } from './sqlite-statement-cache.js';
import { createSqlitePartnerKeyStore } from './sqlite-partner-key-store.js';
import { createSqliteTokenStore } from './sqlite-token-store.js';
import { json, parse, toReceipt, toRound, toSummary, toTask, toVersion, type Row } from './storage-rows.js';
import { fenced } from './task-fence.js';
import { DEFAULT_RETENTION, type NewVersion, type RoundClose, type Storage, type StoredParticipant, type StoredReceipt, type StoredRound, type StoredTask, type StoredVersion, type VersionRetention, type VersionSummary } from './storage.js';
import type { SelectionStorage } from './selection-records.js';
import { createSqliteSelectionStore } from './sqlite-selection-store.js';

export interface SqliteStorageOptions {
  /** File path or ':memory:'. */
  readonly path: string;
  /**
   * WAL `synchronous` mode. FULL fsyncs every checkpoint (a new task or version survives power loss,
   * and the fsync carries every earlier write with it); NORMAL fsyncs nothing and only survives
   * process crashes. Other writes (participants, tokens, receipts) always commit at NORMAL: an fsync
   * per join made a join cost milliseconds. @default 'FULL'
   */
  readonly synchronous?: 'NORMAL' | 'FULL';
  /** Which versions a commit keeps. @default DEFAULT_RETENTION */
  readonly retention?: VersionRetention;
}

const VERSION_COLUMNS = 'task_id, version, round, metrics, length(payload) AS byte_length, created_at';

/** better-sqlite3 is synchronous; the async interface is kept so other databases can fit behind it. */
export class SqliteStorage implements Storage {
  readonly db: Database.Database;
  private readonly durable: boolean;
  readonly auth: AuthStore;
  readonly audit: AuditLog;
  readonly partnerKeys: PartnerKeyStore;
  readonly participantTokens: ParticipantTokenStore;
  private readonly retention: VersionRetention;

  constructor(options: SqliteStorageOptions) {
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
    this.db = new Database(options.path);
    this.db.pragma('journal_mode = WAL');
    // NORMAL under WAL: a commit is a write to the log without fsync; checkpoints opt into FULL below.
    this.db.pragma('synchronous = NORMAL');
    this.durable = (options.synchronous ?? 'FULL') === 'FULL';
    cachePreparedStatements(this.db);
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    migrate(this.db);
    this.retention = options.retention ?? DEFAULT_RETENTION;
    this.auth = createSqliteAuthStore(this.db);
    this.audit = createSqliteAuditLog(this.db);
    this.partnerKeys = createSqlitePartnerKeyStore(this.db);
    this.participantTokens = createSqliteTokenStore(this.db);
    this.selection = createSqliteSelectionStore(this.db);
  }

  private readonly selection: SelectionStorage;
  loadParticipantHistory: SelectionStorage['loadParticipantHistory'] = (taskId) => this.selection.loadParticipantHistory(taskId);
  saveParticipantHistory: SelectionStorage['saveParticipantHistory'] = (taskId, rows) => this.selection.saveParticipantHistory(taskId, rows);
  loadSelectorState: SelectionStorage['loadSelectorState'] = (taskId) => this.selection.loadSelectorState(taskId);
  saveSelectorState: SelectionStorage['saveSelectorState'] = (taskId, state) => this.selection.saveSelectorState(taskId, state);
  saveRoundSelection: SelectionStorage['saveRoundSelection'] = (taskId, round, selection) => this.selection.saveRoundSelection(taskId, round, selection);
  addRoundSelection: SelectionStorage['addRoundSelection'] = (taskId, round, selection) => this.selection.addRoundSelection(taskId, round, selection);
  getRoundSelection: SelectionStorage['getRoundSelection'] = (taskId, round) => this.selection.getRoundSelection(taskId, round);

  async ping(): Promise<void> {
    this.db.prepare('SELECT 1').get();
  }

  async createTask(task: Omit<StoredTask, 'updatedAt'>, initial: NewVersion): Promise<void> {
    const exists = this.db.prepare('SELECT 1 FROM tasks WHERE id = ?').get(task.id);
    if (exists) throw new ChorusError('INVALID_CONFIG', `task id: "${task.id}" already exists`);
    this.checkpoint(() => {
      this.db
        .prepare('INSERT INTO tasks (id, config, topology, layout, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(task.id, json(task.config), json(task.topology), json(task.layout), task.status, task.createdAt, task.createdAt);
      this.insertVersion(initial);
    });
  }

  async getTask(id: string): Promise<StoredTask | null> {
    const r = this.db.prepare('SELECT * FROM tasks WHERE id = ?').get(id) as Row | undefined;
    return r ? toTask(r) : null;
  }

  async listTasks(): Promise<StoredTask[]> {
    return (this.db.prepare('SELECT * FROM tasks ORDER BY created_at, id').all() as Row[]).map(toTask);
  }

  async setTaskStatus(id: string, status: TaskStatus, at: number): Promise<void> {
    const res = this.db.prepare('UPDATE tasks SET status = ?, updated_at = ? WHERE id = ?').run(status, at, id);
    if (res.changes === 0) throw new ChorusError('NOT_FOUND', `task "${id}" does not exist`);
  }

  async latestVersion(taskId: string): Promise<StoredVersion | null> {
    const r = this.db.prepare(`SELECT ${VERSION_COLUMNS}, payload, strategy_state FROM model_versions WHERE task_id = ? ORDER BY version DESC LIMIT 1`).get(taskId) as Row | undefined;
    return r ? toVersion(r) : null;
  }

  async getVersion(taskId: string, version: number): Promise<StoredVersion | null> {
    const r = this.db.prepare(`SELECT ${VERSION_COLUMNS}, payload, strategy_state FROM model_versions WHERE task_id = ? AND version = ?`).get(taskId, version) as Row | undefined;
    return r ? toVersion(r) : null;
  }

  async getVersionDelta(taskId: string, version: number): Promise<Uint8Array | null> {
    const r = this.db.prepare('SELECT delta FROM model_versions WHERE task_id = ? AND version = ?').get(taskId, version) as { delta: Buffer | null } | undefined;
    return r?.delta ? new Uint8Array(r.delta.buffer, r.delta.byteOffset, r.delta.byteLength) : null;
  }

  async listVersions(taskId: string, limit: number): Promise<VersionSummary[]> {
    return (this.db.prepare(`SELECT ${VERSION_COLUMNS} FROM model_versions WHERE task_id = ? ORDER BY version DESC LIMIT ?`).all(taskId, limit) as Row[]).map(toSummary);
  }

  async addVersionMetrics(taskId: string, version: number, metrics: Readonly<Record<string, number>>): Promise<void> {
    this.db.transaction(() => {
      const v = this.db.prepare('SELECT round, metrics FROM model_versions WHERE task_id = ? AND version = ?').get(taskId, version) as Row | undefined;
      if (!v) throw new ChorusError('NOT_FOUND', `task "${taskId}" has no version ${version}`);
      this.db.prepare('UPDATE model_versions SET metrics = ? WHERE task_id = ? AND version = ?').run(json({ ...parse<object>(v.metrics), ...metrics }), taskId, version);
      const r = this.db.prepare('SELECT metrics FROM rounds WHERE task_id = ? AND round = ?').get(taskId, v.round) as Row | undefined;
      if (r) this.db.prepare('UPDATE rounds SET metrics = ? WHERE task_id = ? AND round = ?').run(json({ ...parse<object>(r.metrics), ...metrics }), taskId, v.round);
    })();
  }

  async openRound(round: Parameters<Storage['openRound']>[0]): Promise<void> {
    this.db
      .prepare("INSERT INTO rounds (task_id, round, round_id, version, state, started_at, selected) VALUES (?, ?, ?, ?, 'collecting', ?, ?)")
      .run(round.taskId, round.round, round.roundId, round.version, round.startedAt, round.selected);
  }

  async commitRound(close: RoundClose, version: NewVersion, fence?: number): Promise<void> {
    this.checkpoint(() => {
      if (fence !== undefined) this.checkFence(version.taskId, fence);
      this.insertVersion(version);
      this.closeRound(close, 'committed', null);
      const bump = this.db.prepare('UPDATE participants SET contributions = contributions + 1 WHERE task_id = ? AND id = ?');
      for (const r of close.receipts) if (r.accepted) bump.run(r.taskId, r.participantId);
      this.pruneVersions(version.taskId);
    });
  }

  async abandonRound(close: RoundClose, reason: string): Promise<void> {
    this.db.transaction(() => this.closeRound(close, 'abandoned', reason))();
  }

  async abandonOpenRounds(taskId: string, reason: string, at: number): Promise<number> {
    return this.db.prepare("UPDATE rounds SET state = 'abandoned', abandon_reason = ?, closed_at = ? WHERE task_id = ? AND state = 'collecting'").run(reason, at, taskId).changes;
  }

  async listRounds(taskId: string, limit: number): Promise<StoredRound[]> {
    return (this.db.prepare('SELECT * FROM rounds WHERE task_id = ? ORDER BY round DESC LIMIT ?').all(taskId, limit) as Row[]).map(toRound);
  }

  async lastRoundNumber(taskId: string): Promise<number> {
    const r = this.db.prepare('SELECT MAX(round) AS n FROM rounds WHERE task_id = ?').get(taskId) as Row;
    return r.n == null ? 0 : Number(r.n);
  }

  async listReceipts(taskId: string, round: number): Promise<StoredReceipt[]> {
    return (this.db.prepare('SELECT * FROM update_receipts WHERE task_id = ? AND round = ? ORDER BY seq').all(taskId, round) as Row[]).map(toReceipt);
  }

  async addReceipt(receipt: StoredReceipt): Promise<void> {
    this.insertReceipt(receipt);
  }

  async upsertParticipant(taskId: string, id: string, capabilities: unknown, at: number): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO participants (task_id, id, capabilities, first_seen, last_seen) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (task_id, id) DO UPDATE SET capabilities = excluded.capabilities, last_seen = excluded.last_seen`,
      )
      .run(taskId, id, json(capabilities), at, at);
  }

  async getParticipant(taskId: string, id: string): Promise<StoredParticipant | null> {
    const r = this.db.prepare('SELECT * FROM participants WHERE task_id = ? AND id = ?').get(taskId, id) as Row | undefined;
    if (!r) return null;
    return { taskId, id, capabilities: parse(r.capabilities), firstSeen: Number(r.first_seen), lastSeen: Number(r.last_seen), contributions: Number(r.contributions) };
  }

  async getParticipants(taskId: string, ids: readonly string[]): Promise<StoredParticipant[]> {
    const out: StoredParticipant[] = [];
    // json_each takes the ids as one parameter: no statement per list length, no parameter limit.
    const rows = this.db.prepare('SELECT p.* FROM participants p JOIN json_each(?) j ON p.id = j.value WHERE p.task_id = ?').all(JSON.stringify(ids), taskId) as Row[];
    for (const r of rows) out.push({ taskId, id: String(r.id), capabilities: parse(r.capabilities), firstSeen: Number(r.first_seen), lastSeen: Number(r.last_seen), contributions: Number(r.contributions) });
    return out;
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  /** One transaction that must survive power loss (with `synchronous: 'FULL'`): fsynced, unlike the rest. */
  private checkpoint(write: () => void): void {
    if (!this.durable) return void this.db.transaction(write)();
    this.db.pragma('synchronous = FULL');
    try {
      this.db.transaction(write)();
    } finally {
      this.db.pragma('synchronous = NORMAL');
    }
  }

  async raiseFence(taskId: string, token: number): Promise<void> {
    const res = this.db.prepare('INSERT INTO task_fence (task_id, token) VALUES (?, ?) ON CONFLICT (task_id) DO UPDATE SET token = excluded.token WHERE task_fence.token <= excluded.token').run(taskId, token);
    if (res.changes === 0) throw fenced(taskId, token);
  }

  async fenceToken(taskId: string): Promise<number> {
    const row = this.db.prepare('SELECT token FROM task_fence WHERE task_id = ?').get(taskId) as { token: number } | undefined;
    return row?.token ?? 0;
  }

  private checkFence(taskId: string, token: number): void {
    const row = this.db.prepare('SELECT token FROM task_fence WHERE task_id = ?').get(taskId) as { token: number } | undefined;
    if (row?.token !== token) throw fenced(taskId, token);
  }

  /** Deletes the versions the retention policy lets go (see VersionRetention). */
  private pruneVersions(taskId: string): void {
    const { keepLast, keepEvery } = this.retention;
    if (keepLast <= 0) return;
    this.db
      .prepare(
        `DELETE FROM model_versions WHERE task_id = @taskId
           AND version <= (SELECT MAX(version) FROM model_versions WHERE task_id = @taskId) - @keepLast
           AND (@keepEvery = 0 OR version % @keepEvery <> 0)
           AND version NOT IN (SELECT version FROM rounds WHERE task_id = @taskId AND state = 'collecting')`,
      )
      .run({ taskId, keepLast, keepEvery });
  }

  private insertVersion(v: NewVersion): void {
    this.db
      .prepare('INSERT INTO model_versions (task_id, version, round, payload, strategy_state, metrics, created_at, delta) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(v.taskId, v.version, v.round, Buffer.from(v.payload.buffer, v.payload.byteOffset, v.payload.byteLength), v.strategyState ? Buffer.from(v.strategyState) : null, json(v.metrics), v.createdAt, v.delta ? Buffer.from(v.delta.buffer, v.delta.byteOffset, v.delta.byteLength) : null);
  }

  private closeRound(c: RoundClose, state: 'committed' | 'abandoned', reason: string | null): void {
    const res = this.db
      .prepare(
        `UPDATE rounds SET state = ?, closed_at = ?, participants = ?, failures = ?, bytes_up = ?, bytes_down = ?, metrics = ?, abandon_reason = ?
         WHERE task_id = ? AND round = ? AND state = 'collecting'`,
      )
      .run(state, c.closedAt, c.participants, json(c.failures), c.bytesUp, c.bytesDown, json(c.metrics), reason, c.taskId, c.round);
    if (res.changes !== 1) throw new ChorusError('INTERNAL', `round ${c.round} of task "${c.taskId}" is not open`);
    for (const r of c.receipts) this.insertReceipt(r);
  }

  private insertReceipt(r: StoredReceipt): void {
    this.db
      .prepare('INSERT INTO update_receipts (task_id, round, participant_id, bytes, l2_norm, accepted, code, reason, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(r.taskId, r.round, r.participantId, r.bytes, r.l2Norm, r.accepted ? 1 : 0, r.code, r.reason, r.at);
  }
}

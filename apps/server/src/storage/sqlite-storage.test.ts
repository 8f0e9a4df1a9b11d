import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { taskConfigSchema } from '@chorus/core';
import { MIGRATIONS } from './sqlite-migrations.js';
import { SqliteStorage } from './sqlite-storage.js';
import { close, describeStorage, version } from './storage-contract.test-helper.js';

const config = taskConfigSchema.parse({ id: 't1', name: 'T1', data: { kind: 'tabular', inputShape: [2], numClasses: 2 } });
const layout = [{ name: 'dense/kernel', shape: [2, 2] }];

describeStorage('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'chorus-storage-'));
  const path = join(dir, 'db', 'chorus.sqlite');
  return {
    open: async (retention) => new SqliteStorage({ path, ...(retention ? { retention } : {}) }),
    destroy: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

describe('SqliteStorage', () => {
  let dir: string;
  let path: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'chorus-storage-'));
    path = join(dir, 'db', 'chorus.sqlite');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates the schema once, in WAL mode, and records it in user_version', async () => {
    const first = new SqliteStorage({ path });
    expect(first.db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    expect(first.db.pragma('journal_mode', { simple: true })).toBe('wal');
    await first.createTask({ id: 't1', config, topology: { t: 1 }, layout, status: 'created', createdAt: 1 }, version(0, 0, [1, 2, 3]));
    await first.close();

    const second = new SqliteStorage({ path });
    const tasks = await second.listTasks();
    await second.close();

    expect(tasks.map((t) => [t.id, t.status, t.config.name])).toEqual([['t1', 'created', 'T1']]);
    expect(tasks[0]!.layout).toEqual(layout);
  });

  it('reads failures stored under the old field name clientId as participantId', async () => {
    // Prepare: a round closed by a server from before the rename.
    const s = new SqliteStorage({ path });
    await s.createTask({ id: 't1', config, topology: {}, layout, status: 'running', createdAt: 1 }, version(0, 0, [1]));
    await s.openRound({ taskId: 't1', round: 1, roundId: 't1-r1', version: 0, startedAt: 100, selected: 1 });
    await s.commitRound(close(1), version(1, 1, [2]));
    s.db.prepare('UPDATE rounds SET failures = ?').run(JSON.stringify([{ clientId: 'p9', code: 'DEADLINE', reason: 'late' }]));

    // Execute
    const [round] = await s.listRounds('t1', 1);

    // Assert
    expect(round!.failures).toEqual([{ participantId: 'p9', code: 'DEADLINE', reason: 'late' }]);
    await s.close();
  });

  it('moves a database with the old partner ledger onto the one ledger, keeping its keys', async () => {
    // Prepare: a database from before the one ledger (core at user_version 2, partner steps 1–2 in partner_schema).
    mkdirSync(join(dir, 'db'), { recursive: true });
    const old = new Database(path);
    for (const step of MIGRATIONS.slice(0, 2)) old.exec(step as string);
    old.pragma('user_version = 2');
    old.exec(`CREATE TABLE partner_schema (version INTEGER NOT NULL); INSERT INTO partner_schema VALUES (2);
      CREATE TABLE partner_keys (id TEXT PRIMARY KEY, name TEXT NOT NULL, allowed_origins TEXT NOT NULL, allowed_tasks TEXT NOT NULL, quota_per_day INTEGER NOT NULL, active INTEGER NOT NULL);
      CREATE TABLE partner_visits (key_id TEXT NOT NULL, day TEXT NOT NULL, visitor TEXT NOT NULL, PRIMARY KEY (key_id, day, visitor));
      CREATE TABLE partner_participants (key_id TEXT NOT NULL, participant_id TEXT NOT NULL, task_id TEXT NOT NULL, first_day TEXT NOT NULL, PRIMARY KEY (key_id, participant_id));
      CREATE TABLE partner_participant_days (key_id TEXT NOT NULL, day TEXT NOT NULL, participant_id TEXT NOT NULL, PRIMARY KEY (key_id, day, participant_id));
      CREATE TABLE partner_updates (key_id TEXT NOT NULL, day TEXT NOT NULL, accepted INTEGER NOT NULL, PRIMARY KEY (key_id, day));
      INSERT INTO partner_keys VALUES ('pk_old', 'Old', '["https://old.example"]', '["*"]', 5, 1);`);
    old.close();

    // Execute
    const s = new SqliteStorage({ path });

    // Assert: step 3 (storage_fallback) ran, the old ledger is gone, the key is kept.
    expect(await s.partnerKeys.get('pk_old')).toEqual({ id: 'pk_old', name: 'Old', allowedOrigins: ['https://old.example'], allowedTasks: ['*'], quotaPerDay: 5, active: true, storageFallback: 'memory' });
    expect(s.db.prepare("SELECT name FROM sqlite_master WHERE name = 'partner_schema'").get()).toBeUndefined();
    expect(s.db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    expect(await s.participantTokens.advance('t1', 'p1', null, 'c1')).toBe(true);
    await s.close();
  });
});

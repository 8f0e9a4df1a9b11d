import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { taskConfigSchema } from '@chorus/core';
import { MIGRATIONS } from './sqlite-migrations.js';
import { SqliteStorage } from './sqlite-storage.js';
import type { NewVersion, RoundClose } from './storage.js';

const config = taskConfigSchema.parse({ id: 't1', name: 'T1', data: { kind: 'tabular', inputShape: [2], numClasses: 2 } });
const layout = [{ name: 'dense/kernel', shape: [2, 2] }];

function version(v: number, round: number, payload: number[]): NewVersion {
  return { taskId: 't1', version: v, round, payload: Uint8Array.from(payload), strategyState: v > 0 ? Uint8Array.from([9, v]) : null, metrics: {}, createdAt: 1000 + v };
}

function close(round: number, receipts: RoundClose['receipts'] = []): RoundClose {
  return { taskId: 't1', round, closedAt: 5000, participants: receipts.filter((r) => r.accepted).length, failures: [{ participantId: 'p9', code: 'DISCONNECTED', reason: 'socket closed' }], bytesUp: 300, bytesDown: 900, metrics: { loss: 0.5 }, receipts };
}

describe('SqliteStorage', () => {
  let dir: string;
  let path: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'chorus-storage-'));
    path = join(dir, 'db', 'chorus.sqlite');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates the schema once and records it in user_version', async () => {
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

  it('commits a version, closes its round and stores receipts together, and reads them back after reopening', async () => {
    const s = new SqliteStorage({ path });
    await s.createTask({ id: 't1', config, topology: {}, layout, status: 'running', createdAt: 1 }, version(0, 0, [1, 2, 3]));
    await s.upsertParticipant('t1', 'p1', { backend: 'wasm' }, 10);
    await s.openRound({ taskId: 't1', round: 1, roundId: 't1-r1', version: 0, startedAt: 100, selected: 2 });
    const receipt = { taskId: 't1', round: 1, participantId: 'p1', bytes: 300, l2Norm: 1.5, accepted: true, code: null, reason: null, at: 200 };

    await s.commitRound(close(1, [receipt]), version(1, 1, [4, 5, 6, 7]));
    await s.close();
    const reopened = new SqliteStorage({ path });

    const latest = await reopened.latestVersion('t1');
    expect([latest!.version, latest!.round, [...latest!.payload], [...latest!.strategyState!], latest!.byteLength]).toEqual([1, 1, [4, 5, 6, 7], [9, 1], 4]);
    const [round] = await reopened.listRounds('t1', 10);
    expect([round!.state, round!.participants, round!.bytesUp, round!.failures[0]!.code, round!.metrics]).toEqual(['committed', 1, 300, 'DISCONNECTED', { loss: 0.5 }]);
    expect(await reopened.listReceipts('t1', 1)).toEqual([receipt]);
    expect((await reopened.getParticipant('t1', 'p1'))!.contributions).toBe(1);
    await reopened.close();
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

  it('writes nothing when any part of a commit fails', async () => {
    const s = new SqliteStorage({ path });
    await s.createTask({ id: 't1', config, topology: {}, layout, status: 'running', createdAt: 1 }, version(0, 0, [1]));

    // Round 7 was never opened, so closing it fails after the version row was inserted.
    await expect(s.commitRound(close(7), version(1, 7, [2]))).rejects.toMatchObject({ code: 'INTERNAL' });

    expect((await s.latestVersion('t1'))!.version).toBe(0);
    expect(await s.listVersions('t1', 10)).toHaveLength(1);
    await s.close();
  });

  it('abandons rounds left open by a crash and numbers the next round after them', async () => {
    const s = new SqliteStorage({ path });
    await s.createTask({ id: 't1', config, topology: {}, layout, status: 'running', createdAt: 1 }, version(0, 0, [1]));
    await s.openRound({ taskId: 't1', round: 1, roundId: 't1-r1', version: 0, startedAt: 100, selected: 3 });
    await s.openRound({ taskId: 't1', round: 2, roundId: 't1-r2', version: 0, startedAt: 200, selected: 3 });
    await s.abandonRound(close(1), 'too few updates');

    const n = await s.abandonOpenRounds('t1', 'server restart', 999);

    expect(n).toBe(1);
    const rounds = await s.listRounds('t1', 10);
    expect(rounds.map((r) => [r.round, r.state, r.abandonReason])).toEqual([
      [2, 'abandoned', 'server restart'],
      [1, 'abandoned', 'too few updates'],
    ]);
    expect(await s.lastRoundNumber('t1')).toBe(2);
    await s.close();
  });

  it('merges evaluation metrics into the version and its round', async () => {
    const s = new SqliteStorage({ path: ':memory:' });
    await s.createTask({ id: 't1', config, topology: {}, layout, status: 'running', createdAt: 1 }, version(0, 0, [1]));
    await s.openRound({ taskId: 't1', round: 1, roundId: 't1-r1', version: 0, startedAt: 100, selected: 1 });
    await s.commitRound(close(1), { ...version(1, 1, [2]), metrics: { trainLoss: 0.9 } });

    await s.addVersionMetrics('t1', 1, { accuracy: 0.75 });

    expect((await s.getVersion('t1', 1))!.metrics).toEqual({ trainLoss: 0.9, accuracy: 0.75 });
    expect((await s.listRounds('t1', 1))[0]!.metrics).toEqual({ loss: 0.5, accuracy: 0.75 });
    await expect(s.createTask({ id: 't1', config, topology: {}, layout, status: 'created', createdAt: 1 }, version(0, 0, [1]))).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
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

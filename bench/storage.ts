/**
 * `npm run bench -- storage`: what one round's commit costs on each database — the 2NN's new
 * version (199,210 float32 values, ~797 KB), its round row and 1,000 receipts in one transaction,
 * with the retention step — on SQLite (FULL and NORMAL) and PostgreSQL (a schema of its own,
 * dropped after). Also the read of the latest version (what a restart or takeover does).
 * CHORUS_BENCH_PG_URL points at another PostgreSQL.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { taskConfigSchema } from '@chorus/core';
import { PgStorage, SqliteStorage, type Storage } from '@chorus/server';

const PG_URL = process.env.CHORUS_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const PARAMS = 199_210;
const RECEIPTS = 1_000;
const ROUNDS = 12;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number): number => Math.round(x * 10) / 10;

async function measure(storage: Storage): Promise<{ commitMs: number; latestMs: number }> {
  const config = taskConfigSchema.parse({ id: 'bench', name: 'bench', data: { kind: 'tabular', inputShape: [784], numClasses: 10 } });
  const payload = new Uint8Array(PARAMS * 4 + 256).map((_, i) => i & 0xff);
  await storage.createTask({ id: 'bench', config, topology: {}, layout: [], status: 'running', createdAt: 0 }, { taskId: 'bench', version: 0, round: 0, payload, strategyState: null, metrics: {}, createdAt: 0 });
  for (let p = 0; p < RECEIPTS; p++) await storage.upsertParticipant('bench', `p${p}`, {}, 0);
  const commits: number[] = [];
  const reads: number[] = [];
  for (let r = 1; r <= ROUNDS; r++) {
    await storage.openRound({ taskId: 'bench', round: r, roundId: `r${r}`, version: r - 1, startedAt: r, selected: RECEIPTS });
    const receipts = Array.from({ length: RECEIPTS }, (_, p) => ({ taskId: 'bench', round: r, participantId: `p${p}`, bytes: 200_000, l2Norm: 1.5, accepted: true, code: null, reason: null, at: r }));
    const close = { taskId: 'bench', round: r, closedAt: r, participants: RECEIPTS, failures: [], bytesUp: RECEIPTS * 200_000, bytesDown: 0, metrics: { loss: 0.1 }, receipts };
    const t0 = performance.now();
    await storage.commitRound(close, { taskId: 'bench', version: r, round: r, payload, strategyState: null, metrics: {}, createdAt: r });
    commits.push(performance.now() - t0);
    const t1 = performance.now();
    await storage.latestVersion('bench');
    reads.push(performance.now() - t1);
  }
  // The first rounds warm caches and JIT: the median of the rest.
  return { commitMs: ms(median(commits.slice(2))), latestMs: ms(median(reads.slice(2))) };
}

export async function run(): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'chorus-bench-storage-'));
  const schema = `chorus_bench_${process.pid}`;
  const retention = { keepLast: 5, keepEvery: 0 };
  try {
    process.stderr.write('storage: SQLite FULL\n');
    const full = new SqliteStorage({ path: join(dir, 'full.sqlite'), synchronous: 'FULL', retention });
    const sqliteFull = await measure(full);
    await full.close();
    process.stderr.write('storage: SQLite NORMAL\n');
    const normal = new SqliteStorage({ path: join(dir, 'normal.sqlite'), synchronous: 'NORMAL', retention });
    const sqliteNormal = await measure(normal);
    await normal.close();
    process.stderr.write('storage: PostgreSQL\n');
    const pgStorage = await PgStorage.open({ url: PG_URL, schema, retention });
    const postgres = await measure(pgStorage);
    await pgStorage.close();
    return {
      params: PARAMS,
      receiptsPerRound: RECEIPTS,
      rounds: ROUNDS,
      sqliteFullCommitMs: sqliteFull.commitMs,
      sqliteNormalCommitMs: sqliteNormal.commitMs,
      postgresCommitMs: postgres.commitMs,
      sqliteLatestVersionMs: sqliteFull.latestMs,
      postgresLatestVersionMs: postgres.latestMs,
      postgresOverSqliteFullCommit: Math.round((postgres.commitMs / sqliteFull.commitMs) * 100) / 100,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
  }
}

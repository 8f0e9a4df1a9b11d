import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodePayload, type RoundInvite } from '@chorus/core';
import { dropTestSchema, TEST_PG_URL, testSchemaName } from './storage/pg-test-kit.test-helper.js';
import { TestParticipant, fetchWeights } from './transport/test-participant.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const dir = mkdtempSync(join(tmpdir(), 'chorus-kill-'));
const pgSchema = testSchemaName('chorus_kill');
/** The same test on each database: `--db` flags for the server. */
const DATABASES = [
  { name: 'SQLite', flags: ['--db', join(dir, 'chorus.sqlite')] },
  { name: 'PostgreSQL', flags: ['--db', TEST_PG_URL, '--db-schema', pgSchema] },
];
const children: ChildProcess[] = [];
const clients: TestParticipant[] = [];
const ADMIN_TOKEN = 'kill-test-admin-token-0123456789abcdef';
const admin = (url: string) => fetch(url, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });

/** Runs `tsx apps/server/src/main.ts` like `npm start` and resolves with its URL from the log. */
function startChild(dbFlags: readonly string[]): Promise<{ child: ChildProcess; url: string }> {
  // `node --import tsx` (not the tsx CLI, which forks a second process): SIGKILL must hit the server itself.
  const child = spawn(process.execPath, ['--import', 'tsx', 'apps/server/src/main.ts', '--port', '0', '--host', '127.0.0.1', ...dbFlags, '--no-evaluate'], {
    cwd: ROOT,
    env: { ...process.env, CHORUS_DEMO_TASK: 'true', CHORUS_LOG_LEVEL: 'info', CHORUS_DB_SYNC: 'NORMAL', CHORUS_ADMIN_TOKEN: ADMIN_TOKEN },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return new Promise((ok, fail) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error(`server did not start:\n${out}`)), 60_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /"url":"(http:\/\/[^"]+)"[^\n]*chorus server listening/.exec(out);
      if (m) {
        clearTimeout(timer);
        ok({ child, url: m[1]! });
      }
    });
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => fail(new Error(`server exited with ${code}:\n${out}`)));
  });
}

/** A demo participant uploads a small int8 delta for the round it is invited to (the demo needs one). */
async function runRound(url: string, round: number): Promise<void> {
  const ps = [new TestParticipant(url)];
  clients.push(...ps);
  for (const p of ps) expect((await p.join('mnist-demo')).ok).toBe(true);
  const base = await fetchWeights(url, 'mnist-demo', 'latest');
  for (const p of ps) {
    const invite: RoundInvite = await p.waitFor(() => p.invites.find((i) => i.round >= round));
    const delta = encodePayload({ layout: base.layout, values: new Float32Array(base.values.length).fill(0.01) }, 'int8');
    expect(await p.upload(invite, delta, 256 * 1024)).toMatchObject({ ok: true, data: { accepted: true } });
  }
  for (const p of ps) await p.waitFor(() => p.updates[0]);
  for (const p of ps) p.close();
}

afterAll(async () => {
  for (const c of clients) c.close();
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
  await dropTestSchema(pgSchema);
});

describe.each(DATABASES)('npm start server survives kill -9 ($name)', ({ flags }) => {
  it('keeps every committed version and continues rounds after SIGKILL and restart', async () => {
    const first = await startChild(flags);
    await runRound(first.url, 1);
    const committed = await (await admin(`${first.url}/api/tasks/mnist-demo`)).json();
    expect(committed.task.latestVersion).toBe(1);
    const v1 = await fetchWeights(first.url, 'mnist-demo', 1);

    first.child.kill('SIGKILL');
    const killed = await new Promise<NodeJS.Signals | null>((r) => first.child.once('exit', (_code, signal) => r(signal)));
    expect(killed).toBe('SIGKILL');
    // The killed server really is gone: its port refuses connections.
    await expect(fetch(`${first.url}/healthz`)).rejects.toThrow();
    const second = await startChild(flags);

    const after = await (await admin(`${second.url}/api/tasks/mnist-demo`)).json();
    expect([after.task.latestVersion, after.task.status]).toEqual([1, 'running']);
    expect(after.rounds.filter((r: { state: string }) => r.state === 'collecting')).toEqual([]);
    expect((await fetchWeights(second.url, 'mnist-demo', 'latest')).values).toEqual(v1.values);
    await runRound(second.url, after.rounds[0].round + 1);
    const final = await (await admin(`${second.url}/api/tasks/mnist-demo`)).json();
    expect(final.task.latestVersion).toBe(2);
    // Exactly one demo task: the restart did not create another one.
    expect((await (await admin(`${second.url}/api/tasks`)).json()).tasks).toHaveLength(1);

    second.child.kill('SIGTERM');
    const code = await new Promise((r) => second.child.once('exit', r));
    expect(code).toBe(0);
  });
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../index.js';
import { FakeClock } from '../rounds/clock.js';

const ADMIN_TOKEN = 'audit-test-admin-token-0123456789abc';
let dir: string;
let server: RunningServer;
const clock = new FakeClock(1_700_000_000_000);

type Entry = { actor: string; action: string; outcome: string; detail: string | null };
const post = (path: string, headers: Record<string, string> = {}) => fetch(`${server.url}${path}`, { method: 'POST', headers }).then((r) => r.status);
const entries = async (): Promise<Entry[]> =>
  ((await (await fetch(`${server.url}/api/admin/audit?limit=500`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()) as { entries: Entry[] }).entries;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'chorus-audit-'));
  server = await startServer({ port: 0, host: '127.0.0.1', db: join(dir, 'a.sqlite'), dbSync: 'NORMAL', demoTask: false, logLevel: 'silent', adminToken: ADMIN_TOKEN }, { evaluate: null, clock });
});

afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('audit log under a flood of refused calls', () => {
  it('writes at most 10 rows a minute per address for refused anonymous calls, and says how many it left out', async () => {
    // Execute: 60 anonymous refusals, 15 refused admin actions, then a minute later one more refusal
    const statuses = new Set<number>();
    for (let i = 0; i < 60; i++) statuses.add(await post('/api/tasks/nope/pause'));
    for (let i = 0; i < 15; i++) await post('/api/tasks/nope/start', { authorization: `Bearer ${ADMIN_TOKEN}` });
    clock.advance(60_000);
    await post('/api/tasks/nope/stop');

    // Assert
    const all = await entries();
    const anonymous = all.filter((e) => e.actor === 'anonymous');
    expect(statuses).toEqual(new Set([401]));
    expect(anonymous.filter((e) => e.action === 'task.pause')).toHaveLength(10);
    expect(anonymous.find((e) => e.action === 'task.stop')).toMatchObject({ outcome: 'unauthenticated', detail: 'UNAUTHORIZED (+50 similar refusals from this address not recorded)' });
    expect(all.filter((e) => e.actor === 'api-token' && e.action === 'task.start')).toHaveLength(15);
  });
});

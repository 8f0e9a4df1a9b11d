import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../index.js';
import { TestParticipant } from '../transport/test-participant.js';

let dir: string;
let server: RunningServer;
const clients: TestParticipant[] = [];

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
const cookieOf = (res: Response) => (res.headers.get('set-cookie') ?? '').split(';')[0]!;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'chorus-auth-'));
  // No CHORUS_ADMIN_PASSWORD: the first run issues a setup token. The demo task gives participants a task.
  server = await startServer({ port: 0, host: '127.0.0.1', db: join(dir, 'a.sqlite'), dbSync: 'NORMAL', demoTask: true, logLevel: 'silent' }, { evaluate: null });
});

afterAll(async () => {
  for (const c of clients) c.close();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('first run, sessions and throttling', () => {
  it('creates the first operator once with the logged setup token, then closes setup', async () => {
    // Prepare
    expect(server.setupToken).toMatch(/^[\w-]{32}$/);
    expect(await (await fetch(`${server.url}/api/admin/setup`)).json()).toEqual({ needsSetup: true });

    // Execute
    const wrong = await post('/api/admin/setup', { setupToken: 'guess', username: 'ada', password: 'correct horse battery' });
    const right = await post('/api/admin/setup', { setupToken: server.setupToken, username: 'ada', password: 'correct horse battery' });
    const again = await post('/api/admin/setup', { setupToken: server.setupToken, username: 'eve', password: 'correct horse battery' });

    // Assert
    expect(wrong.status).toBe(403);
    expect(right.status).toBe(201);
    expect(((await right.json()) as { user: { username: string; role: string } }).user).toMatchObject({ username: 'ada', role: 'operator' });
    expect(right.headers.get('set-cookie')).toMatch(/^chorus_session=[^;]+;.*HttpOnly; SameSite=Lax/);
    expect(again.status).toBe(403);
    expect(await (await fetch(`${server.url}/api/admin/setup`)).json()).toEqual({ needsSetup: false });
  });

  it('keeps a session in an HttpOnly cookie and revokes it at sign-out', async () => {
    const login = await post('/api/admin/login', { username: 'ada', password: 'correct horse battery' });
    const cookie = cookieOf(login);
    const before = await fetch(`${server.url}/api/admin/session`, { headers: { cookie } });
    await post('/api/admin/logout', {}, { cookie });
    const after = await fetch(`${server.url}/api/admin/session`, { headers: { cookie } });
    expect(await before.json()).toEqual({ user: { username: 'ada', role: 'operator', kind: 'user' } });
    expect(after.status).toBe(401);
  });

  it('stops password guessing on one account after 5 failures, even with the right password', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await post('/api/admin/login', { username: 'ada', password: `wrong guess ${i}` })).status);
    const right = await post('/api/admin/login', { username: 'ada', password: 'correct horse battery' });
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    expect(right.status).toBe(429);
    expect(((await right.json()) as { error: { message: string } }).error.message).toMatch(/^too many sign-ins for this account from this address: try again in \d+ minutes?$/);
  });
});

describe('participant tokens', () => {
  const participant = () => {
    const p = new TestParticipant(server.url);
    clients.push(p);
    return p;
  };

  it('issues a signed token on join that restores the same participant id, and refuses forged or mismatched ones', async () => {
    // Prepare
    const first = await participant().join('mnist-demo');
    if (!first.ok) throw new Error(first.error.message);
    const { participantId, token } = first.data;

    // Execute
    const again = await participant().join('mnist-demo', { token });
    const forged = await participant().join('mnist-demo', { token: `${token!.slice(0, -4)}AAAA` });
    const mismatched = await participant().join('mnist-demo', { token, participantId: 'someone-else' });

    // Assert
    expect(token).toMatch(/^ey[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(again).toMatchObject({ ok: true, data: { participantId } });
    expect(forged).toMatchObject({ ok: false, error: { code: 'UNAUTHORIZED' } });
    expect(mismatched).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
  });
});

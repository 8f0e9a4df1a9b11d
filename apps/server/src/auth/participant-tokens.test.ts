/**
 * What a thief holding a copied participant token, or a script flooding joins, runs into: tokens
 * rotate at every join (a replayed copy is refused and the identity revoked, also after a restart),
 * and joins are limited per connection and per address.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer, type ServerConfig } from '../index.js';
import { TestParticipant } from '../transport/test-participant.js';

const TASK = 'mnist-demo';
let dir: string;
let server: RunningServer;
let clients: TestParticipant[] = [];

const config = (extra: Partial<ServerConfig> = {}): Partial<ServerConfig> => ({
  port: 0, host: '127.0.0.1', db: join(dir, 'p.sqlite'), dbSync: 'NORMAL', demoTask: true, logLevel: 'silent', secret: 'participant-token-test-secret-0123456789', ...extra,
});
const participant = async () => {
  const p = new TestParticipant(server.url);
  clients.push(p);
  await new Promise((ok) => p.socket.once('connect', () => ok(undefined)));
  return p;
};
const joinWith = async (token?: string) => {
  const ack = await (await participant()).join(TASK, token ? { token } : {});
  if (!ack.ok) return { code: ack.error.code };
  return { participantId: ack.data.participantId, token: ack.data.token! };
};
const participantRows = () => {
  const db = new Database(join(dir, 'p.sqlite'), { readonly: true });
  try {
    return (db.prepare('SELECT COUNT(*) AS n FROM participants').get() as { n: number }).n;
  } finally {
    db.close();
  }
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'chorus-ptok-'));
  server = await startServer(config(), { evaluate: null });
});

afterEach(() => {
  for (const c of clients) c.close();
  clients = [];
});

afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('participant token rotation', () => {
  it('returns a new token at each join; an older copy is refused and revokes the identity', async () => {
    // Prepare
    const first = await joinWith();
    const second = await joinWith(first.token);

    // Execute: the thief replays the first token, then the owner comes back with its current one
    const replay = await joinWith(first.token);
    const owner = await joinWith(second.token);
    const fresh = await joinWith();

    // Assert
    expect(second).toMatchObject({ participantId: first.participantId });
    expect(second.token).not.toBe(first.token);
    expect(replay).toEqual({ code: 'UNAUTHORIZED' });
    expect(owner).toEqual({ code: 'UNAUTHORIZED' });
    expect(fresh.participantId).toMatch(/^[\w-]+$/);
    expect(fresh.participantId).not.toBe(first.participantId);
  });

  it('keeps the owner joined on its live connection while a replay of its spent token is refused', async () => {
    // Prepare: the owner joins, then re-joins on a new connection (spending the first token)
    const first = await joinWith();
    const live = await participant();
    const ownerAck = await live.join(TASK, { token: first.token });
    expect(ownerAck.ok).toBe(true);
    await live.waitFor(() => (server.engine.member(TASK, first.participantId!) ? true : undefined));

    // Execute
    const replay = await joinWith(first.token);

    // Assert: the thief got nothing; the owner's connection still holds the identity
    expect(replay).toEqual({ code: 'UNAUTHORIZED' });
    expect(server.engine.member(TASK, first.participantId!)?.connectionId).toBe(live.socket.id);
  });

  it('lets a connection re-send a join whose answer it lost, without calling it a replay', async () => {
    const first = await joinWith();
    const p = await participant();
    const a = await p.join(TASK, { token: first.token });
    const b = await p.join(TASK, { token: first.token });
    expect(a.ok && b.ok && a.data.participantId === b.data.participantId).toBe(true);
  });

  it('remembers spent generations across a restart', async () => {
    // Prepare
    const first = await joinWith();
    const second = await joinWith(first.token);
    const other = await joinWith();
    for (const c of clients) c.close();
    clients = [];
    await server.close();

    // Execute
    server = await startServer(config(), { evaluate: null });
    const replay = await joinWith(first.token);
    const otherAgain = await joinWith(other.token);

    // Assert
    expect(second.participantId).toBe(first.participantId);
    expect(replay).toEqual({ code: 'UNAUTHORIZED' });
    expect(otherAgain).toMatchObject({ participantId: other.participantId });
  });
});

describe('join limits', () => {
  it('stops one connection joining over and over, so it cannot fill the participants table', async () => {
    // Prepare
    const before = participantRows();
    const p = await participant();

    // Execute
    const codes: string[] = [];
    for (let i = 0; i < 50; i++) {
      const ack = await p.join(TASK);
      codes.push(ack.ok ? 'ok' : ack.error.code);
    }

    // Assert
    expect(codes.slice(0, 5)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
    expect(new Set(codes.slice(5))).toEqual(new Set(['RATE_LIMITED']));
    expect(participantRows() - before).toBe(5);
  });

  it('limits joins per address across connections', async () => {
    // Prepare
    await server.close();
    server = await startServer(config({ joinsPerIpPerMinute: 3 }), { evaluate: null });

    // Execute
    const results = [];
    for (let i = 0; i < 5; i++) results.push(await joinWith());

    // Assert
    expect(results.map((r) => r.code ?? 'ok')).toEqual(['ok', 'ok', 'ok', 'RATE_LIMITED', 'RATE_LIMITED']);
  });
});

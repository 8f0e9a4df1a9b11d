import pino from 'pino';
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../index.js';
import { TestParticipant, fetchWeights } from '../transport/test-participant.js';
import { dropTestSchema, TEST_PG_URL, testSchemaName } from '../storage/pg-test-kit.test-helper.js';
import { dropRedisPrefix, TEST_REDIS_URL, testRedisPrefix } from './redis-test-kit.test-helper.js';

const schema = testSchemaName('chorus_adapter');
const prefix = testRedisPrefix();
const ADMIN_TOKEN = 'cluster-servers-admin-token-0123456789';
const servers: RunningServer[] = [];
const sockets: Socket[] = [];

beforeAll(async () => {
  // Two server processes' worth of servers on one PostgreSQL schema and one Redis prefix.
  for (let i = 0; i < 2; i++) {
    servers.push(
      await startServer(
        { port: 0, host: '127.0.0.1', db: TEST_PG_URL, dbSchema: schema, redis: TEST_REDIS_URL, redisPrefix: prefix, demoTask: false, evaluate: false, adminToken: ADMIN_TOKEN },
        { logger: pino({ level: 'silent' }) },
      ),
    );
  }
}, 60_000);

afterAll(async () => {
  for (const s of sockets) s.close();
  for (const s of servers) await s.close();
  await dropTestSchema(schema);
  await dropRedisPrefix(prefix);
});

describe('several servers on one PostgreSQL schema and one Redis prefix', () => {
  it('a broadcast from one server reaches a socket connected to the other, and each sees the other’s sockets', async () => {
    const [a, b] = servers as [RunningServer, RunningServer];
    const socket = connect(b.url, { transports: ['websocket'] });
    sockets.push(socket);
    await new Promise<void>((ok, fail) => {
      socket.once('connect', ok);
      socket.once('connect_error', fail);
    });
    const got = new Promise((ok) => socket.once('chorus:probe', ok));

    // Execute: server a broadcasts to everyone.
    (a.io as unknown as { emit(ev: string, v: unknown): void }).emit('chorus:probe', { from: 'a' });

    // Assert
    expect(await got).toEqual({ from: 'a' });
    const seenFromA = await a.io.fetchSockets();
    expect(seenFromA.map((s) => s.id)).toContain(socket.id);
  });

  it('shares the database: an account created through one server signs in on the other', async () => {
    const [a, b] = servers as [RunningServer, RunningServer];
    // The first server generated the signing secret; the second found it (set-if-absent).
    expect(Buffer.from(a.auth.secret).toString()).toBe(Buffer.from(b.auth.secret).toString());
    await a.storage.auth.createUser('shared-user', 'x', 'viewer', null, 1);
    expect((await b.storage.auth.findByUsername('shared-user'))?.role).toBe('viewer');
  });

  it('counts sign-in attempts across servers: the per-account-and-address limit holds over both', async () => {
    const [a, b] = servers as [RunningServer, RunningServer];
    const login = async (url: string) =>
      (await fetch(`${url}/api/admin/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'guessed', password: 'wrong-password-1' }) })).status;

    // Five wrong passwords for one account from one address, spread over the two servers (5 is the limit).
    const first = [await login(a.url), await login(b.url), await login(a.url), await login(b.url), await login(a.url)];
    const sixth = await login(b.url);

    expect(first).toEqual([401, 401, 401, 401, 401]);
    expect(sixth).toBe(429);
  });

  it('a task created through one server is known on the other at once: its weights download and joins succeed', async () => {
    const [a, b] = servers as [RunningServer, RunningServer];
    const participant = new TestParticipant(b.url);
    sockets.push(participant.socket);
    await new Promise<void>((ok) => (participant.socket.connected ? ok() : participant.socket.once('connect', () => ok())));

    // Execute: create through a; download from b and join on b right after, before any announcement or lease round can help.
    const created = await fetch(`${a.url}/api/tasks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ template: 'mnist-2nn', config: { id: 'fresh', name: 'Fresh' } }),
    });
    const [weights, joined, summary] = await Promise.all([
      fetchWeights(b.url, 'fresh', 0),
      participant.join('fresh'),
      fetch(`${b.url}/api/tasks/fresh/versions`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }).then((r) => r.status),
    ]);

    // Assert
    expect(created.status).toBe(201);
    expect(weights.values.length).toBeGreaterThan(0);
    expect(joined.ok).toBe(true);
    expect(summary).toBe(200);
  });
});

import Fastify, { type FastifyInstance } from 'fastify';
import pino from 'pino';
import { Server } from 'socket.io';
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installErrorHandlers } from '../http/http-errors.js';
import { SqliteStorage } from '../storage/sqlite-storage.js';
import { installPartnerKeys } from './install-partner-keys.js';
import type { PartnerKeyStore } from './partner-key-store.js';

const CHORUS_WEB = 'http://localhost:3000';
let app: FastifyInstance;
let io: Server;
let db: SqliteStorage;
let keys: PartnerKeyStore;
let url: string;
const sockets: Socket[] = [];

beforeAll(async () => {
  app = Fastify();
  installErrorHandlers(app);
  io = new Server(app.server);
  db = new SqliteStorage({ path: ':memory:' });
  const tasks = new Set(['mnist-demo', 'other']);
  // The engine slice partner keys read: which tasks exist and their data schema.
  const engine = { hasTask: (id: string) => tasks.has(id), task: () => ({ config: { name: 'MNIST demo', data: { inputShape: [28, 28, 1], numClasses: 10, dataset: 'mnist' } } }) };
  keys = await installPartnerKeys(app, io, db.partnerKeys, { demoKey: true, engine: engine as never, corsOrigins: [CHORUS_WEB], logger: pino({ level: 'silent' }) });
  await keys.put({ id: 'pk_small', name: 'Small', allowedOrigins: ['https://small.example'], allowedTasks: ['mnist-demo'], quotaPerDay: 1, active: true, storageFallback: 'memory' });
  io.on('connection', (s) => s.on('join', (_msg: unknown, ack: (a: unknown) => void) => ack({ ok: true })));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
});

afterAll(async () => {
  for (const s of sockets) s.close();
  io.close();
  await app.close();
  await db.close();
});

const check = async (q: string) => (await fetch(`${url}/api/embed/check?${q}`)).json();

/** Connects like the embed iframe does; resolves 'connected' or the refusal's code + message. */
function handshake(auth: Record<string, string> | undefined, origin = CHORUS_WEB): Promise<{ socket: Socket; result: string }> {
  const socket = connect(url, { transports: ['websocket'], reconnection: false, extraHeaders: { origin }, ...(auth ? { auth } : {}) });
  sockets.push(socket);
  return new Promise((resolve) => {
    socket.on('connect', () => resolve({ socket, result: 'connected' }));
    socket.on('connect_error', (err: Error & { data?: { code: string } }) => resolve({ socket, result: `${err.data?.code}: ${err.message}` }));
  });
}

const demo = (partnerOrigin: string, visitor = 'v1', taskId = 'mnist-demo') => ({ partnerKey: 'pk_demo', partnerOrigin, taskId, visitor });

describe('GET /api/embed/check', () => {
  it('allows the demo key from any local port and refuses other sites, unknown keys and tasks', async () => {
    const answers = await Promise.all([
      check('key=pk_demo&task=mnist-demo&origin=http%3A%2F%2F127.0.0.1%3A4173'),
      check('key=pk_demo&task=mnist-demo&origin=https%3A%2F%2Fevil.example'),
      check('key=pk_nope&task=mnist-demo&origin=http%3A%2F%2F127.0.0.1%3A4173'),
      check('key=pk_demo&task=missing&origin=http%3A%2F%2F127.0.0.1%3A4173'),
      check('key=pk_demo&task=mnist-demo'),
    ]);

    expect(answers).toEqual([
      { allowed: true, task: { name: 'MNIST demo', inputShape: [28, 28, 1], numClasses: 10, dataset: 'mnist' }, storageFallback: 'memory' },
      { allowed: false, code: 'FORBIDDEN', reason: 'This site (https://evil.example) is not allowed to contribute to this Chorus task.' },
      { allowed: false, code: 'NOT_FOUND', reason: 'This partner key is unknown or was switched off.' },
      { allowed: false, code: 'NOT_FOUND', reason: 'There is no Chorus task "missing".' },
      { allowed: false, code: 'BAD_REQUEST', reason: 'key, task and origin are required query parameters.' },
    ]);
  });
});

describe('PUT /api/partner-keys/:id', () => {
  it('creates a key the check then honours, and names a bad field', async () => {
    const put = (id: string, body: unknown) => fetch(`${url}/api/partner-keys/${id}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

    const created = await put('pk_shop', { name: 'Shop', allowedOrigins: ['https://shop.example'], allowedTasks: ['mnist-demo'] });
    const bad = await put('pk_bad', { name: 'Bad', allowedOrigins: ['https://*.example'], allowedTasks: ['mnist-demo'] });
    const badBody = await put('pk_bad', { name: 'Bad', allowedOrigins: 'https://x.example', allowedTasks: ['mnist-demo'] });

    expect(created.status).toBe(200);
    expect((await created.json()).key).toEqual({ id: 'pk_shop', name: 'Shop', allowedOrigins: ['https://shop.example'], allowedTasks: ['mnist-demo'], quotaPerDay: 1000, active: true, storageFallback: 'memory', usage: { participantsToday: 0, participantsAllTime: 0, updatesToday: 0, updatesAllTime: 0 } });
    expect(await check('key=pk_shop&task=mnist-demo&origin=https%3A%2F%2Fshop.example')).toMatchObject({ allowed: true });
    // A key says what a visit does where the browser blocks the frame's storage.
    await keys.put({ ...(await keys.get('pk_shop'))!, storageFallback: 'link' });
    expect(await check('key=pk_shop&task=mnist-demo&origin=https%3A%2F%2Fshop.example')).toMatchObject({ allowed: true, storageFallback: 'link' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: { code: 'INVALID_CONFIG', message: 'allowedOrigins: "https://*.example" is not an origin like "https://site.example" or "http://localhost:*"' } });
    expect((await badBody.json()).error.message).toMatch(/^partner key\.allowedOrigins: /);
  });
});

describe('Socket.IO handshake with a partner key', () => {
  it('connects an allowed embedding and refuses a site the key does not list', async () => {
    const ok = await handshake(demo('http://127.0.0.1:4173'));
    const refused = await handshake(demo('https://evil.example'));

    expect(ok.result).toBe('connected');
    expect(refused.result).toBe('FORBIDDEN: This site (https://evil.example) is not allowed to contribute to this Chorus task.');
  });

  it('refuses browsers on origins that are not the Chorus web app, with or without a key', async () => {
    const direct = await handshake(undefined, 'https://evil.example');

    expect(direct.result).toBe('FORBIDDEN: This site (https://evil.example) is not allowed to contribute to this Chorus task.');
  });

  it('admits at most quotaPerDay distinct visitors a day, the same visitor again', async () => {
    const auth = (visitor: string) => ({ partnerKey: 'pk_small', partnerOrigin: 'https://small.example', taskId: 'mnist-demo', visitor });

    const first = await handshake(auth('alice'));
    const again = await handshake(auth('alice'));
    const second = await handshake(auth('bob'));

    expect([first.result, again.result]).toEqual(['connected', 'connected']);
    expect(second.result).toBe("RATE_LIMITED: This site has reached today's limit of 1 contributors for Chorus. Thank you — please come back tomorrow.");
  });

  it('disconnects a partner socket that tries to join another task', async () => {
    const { socket } = await handshake(demo('http://localhost:5173', 'v2'));
    const joinedOwn = await socket.timeout(2000).emitWithAck('join', { taskId: 'mnist-demo' });
    const gone = new Promise((resolve) => socket.on('disconnect', resolve));

    socket.emit('join', { taskId: 'other' }, () => undefined);

    expect(joinedOwn).toEqual({ ok: true });
    expect(await gone).toBe('io server disconnect');
  });
});

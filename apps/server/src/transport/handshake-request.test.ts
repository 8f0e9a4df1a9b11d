import { mkdtempSync, rmSync } from 'node:fs';
import { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Manager, io as connect, type Socket as ClientSocket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION, type Ack, type JoinResponse } from '@chorus/core';
import { startServer, type RunningServer } from '../index.js';

/** A participant's HTTP request is let go after its handshake (issue 11); what reads it later still works. */
let dir: string;
let server: RunningServer;
const ADMIN_TOKEN = 'handshake-request-test-admin-token-0123456789';
const clients: { close(): void }[] = [];

// The test's own weak view of each engine.io connection's request, to see it collected.
const requests = new Map<string, WeakRef<IncomingMessage>>();
const upgradeRequests = new Map<string, WeakRef<IncomingMessage>>();
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'chorus-handshake-'));
  // '*': any page may host a participant; the admin feed still takes only listed origins (or the server's own).
  server = await startServer({ port: 0, host: '127.0.0.1', db: join(dir, 'h.sqlite'), dbSync: 'NORMAL', demoTask: false, logLevel: 'silent', adminToken: ADMIN_TOKEN, corsOrigins: ['*'], trustProxy: ['127.0.0.1'] }, { evaluate: null });
  const res = await fetch(`${server.url}/api/tasks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ template: 'mnist-2nn', config: { id: 't', name: 'T', codec: 'int8' } }),
  });
  expect(res.status).toBe(201);
  server.io.engine.on('connection', (raw: { id: string; request: IncomingMessage }) => requests.set(raw.id, new WeakRef(raw.request)));
  server.io.engine.on('headers', (_headers: unknown, req: IncomingMessage & { _query: { sid?: string; transport?: string } }) => {
    if (req._query.sid && req._query.transport === 'websocket') upgradeRequests.set(req._query.sid, new WeakRef(req));
  });
});

afterAll(async () => {
  for (const c of clients.splice(0)) c.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const connected = (socket: ClientSocket): Promise<void> =>
  new Promise((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });

const refusal = (socket: ClientSocket): Promise<string> =>
  new Promise((resolve, reject) => {
    socket.once('connect', () => reject(new Error('connected')));
    socket.once('connect_error', (err: Error & { data?: { code?: string } }) => resolve(err.data?.code ?? err.message));
  });

const join_ = (socket: ClientSocket) => socket.timeout(10_000).emitWithAck('join', { protocolVersion: PROTOCOL_VERSION, taskId: 't', capabilities: { backend: 'wasm', numExamples: 10 } }) as Promise<Ack<JoinResponse>>;

/** The server side of a participant socket, found by the id the client was given. */
function serverSocket(id: string) {
  const s = server.io.of('/').sockets.get(id);
  if (!s) throw new Error(`no server socket ${id}`);
  return s;
}

describe('the handshake request', () => {
  it('is no longer held once a participant has connected and joined; its address and headers are', async () => {
    const socket = connect(server.url, { transports: ['websocket'], forceNew: true, reconnection: false, extraHeaders: { 'x-forwarded-for': '203.0.113.7', 'user-agent': 'handshake-test' } });
    clients.push(socket);
    await connected(socket);
    const ack = await join_(socket);
    expect(ack.ok).toBe(true);
    const s = serverSocket(socket.id!);
    expect(s.conn.request).not.toBeInstanceOf(IncomingMessage);
    expect(s.request.headers['user-agent']).toBe('handshake-test');
    // Read through the trusted proxy's header by the first middleware, before the request went.
    expect(s.handshake.address).toBe('203.0.113.7');
    expect(s.handshake.headers['user-agent']).toBe('handshake-test');
    // Nor anywhere else (engine.io's WebSocket upgrade response held it too): a full GC collects it.
    const request = requests.get((s.conn as unknown as { id: string }).id);
    expect(request).toBeDefined();
    let collected = false;
    for (let i = 0; i < 20 && !collected; i++) {
      await new Promise((r) => setTimeout(r, 20));
      gc();
      collected = request!.deref() === undefined;
    }
    expect(collected).toBe(true);
  });

  it('is let go as well when the connection began with long-polling and upgraded to a WebSocket', async () => {
    const socket = connect(server.url, { transports: ['polling', 'websocket'], forceNew: true, reconnection: false });
    clients.push(socket);
    const upgraded = new Promise<void>((resolve) => socket.io.engine.once('upgrade', () => resolve()));
    await connected(socket);
    expect((await join_(socket)).ok).toBe(true);
    await upgraded;
    const s = serverSocket(socket.id!);
    const id = (s.conn as unknown as { id: string }).id;
    // The client's 'upgrade' fires once it sent the upgrade packet; the server switches on receiving it.
    for (let i = 0; i < 100 && s.conn.transport.name !== 'websocket'; i++) await new Promise((r) => setTimeout(r, 10));
    expect(s.conn.transport.name).toBe('websocket');
    expect(s.conn.request).not.toBeInstanceOf(IncomingMessage);
    // The first polling request and the upgrade's request (held by its response object) are both collected.
    const [first, upgrade] = [requests.get(id), upgradeRequests.get(id)];
    expect(first && upgrade).toBeDefined();
    let collected = false;
    for (let i = 0; i < 20 && !collected; i++) {
      await new Promise((r) => setTimeout(r, 20));
      gc();
      collected = first!.deref() === undefined && upgrade!.deref() === undefined;
    }
    expect(collected).toBe(true);
  });

  it('leaves the admin feed as it was: authenticated by its own handshake, refused from a foreign origin', async () => {
    const admin = connect(`${server.url}/admin`, { transports: ['websocket'], forceNew: true, reconnection: false, auth: { token: ADMIN_TOKEN } });
    clients.push(admin);
    await connected(admin);
    const foreign = connect(`${server.url}/admin`, { transports: ['websocket'], forceNew: true, reconnection: false, auth: { token: ADMIN_TOKEN }, extraHeaders: { origin: 'https://evil.example' } });
    clients.push(foreign);
    expect(await refusal(foreign)).toBe('FORBIDDEN');
  });

  it('still carries origin and credentials to an admin namespace opened later on the same connection', async () => {
    // One engine.io connection for both namespaces (socket.io-client multiplexes a Manager's sockets).
    const allowed = new Manager(server.url, { transports: ['websocket'], reconnection: false, extraHeaders: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const participant = allowed.socket('/');
    clients.push(participant);
    await connected(participant.connect());
    expect((await join_(participant)).ok).toBe(true);
    expect(serverSocket(participant.id!).conn.request).not.toBeInstanceOf(IncomingMessage);
    // The admin handshake reads its token from the Authorization header of the released request.
    const admin = allowed.socket('/admin');
    clients.push(admin);
    await connected(admin.connect());
    const subscribed = (await admin.timeout(10_000).emitWithAck('subscribe', { taskId: 't' })) as Ack<{ connected: number }>;
    expect(subscribed).toMatchObject({ ok: true, data: { connected: expect.any(Number) } });

    // A participant page on another site may take part, but not open the admin feed on its connection.
    const foreign = new Manager(server.url, { transports: ['websocket'], reconnection: false, extraHeaders: { origin: 'https://evil.example', authorization: `Bearer ${ADMIN_TOKEN}` } });
    const p2 = foreign.socket('/');
    clients.push(p2);
    await connected(p2.connect());
    expect((await join_(p2)).ok).toBe(true);
    const a2 = foreign.socket('/admin');
    clients.push(a2);
    expect(await refusal(a2.connect())).toBe('FORBIDDEN');
  });
});


describe("a participant socket's own heap", () => {
  it('shares its event listeners with every other socket (no closures per socket) and still answers unknown events', async () => {
    const [a, b] = [0, 1].map(() => connect(server.url, { transports: ['websocket'], forceNew: true, reconnection: false }));
    clients.push(a!, b!);
    await Promise.all([connected(a!), connected(b!)]);
    const [sa, sb] = [serverSocket(a!.id!), serverSocket(b!.id!)];
    for (const event of ['join', 'capabilities', 'round:decline', 'secagg:message', 'update:begin', 'update:chunk', 'update:end', 'disconnect'] as const) {
      expect(sa.listeners(event)).toHaveLength(1);
      expect(sa.listeners(event)[0]).toBe(sb.listeners(event)[0]);
    }
    expect(sa.listenersAny()).toEqual(sb.listenersAny());
    const unknown = (await a!.timeout(10_000).emitWithAck('no-such-event', {})) as Ack<never>;
    expect(unknown).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    const bad = (await a!.timeout(10_000).emitWithAck('capabilities', { taskId: 't' })) as Ack<never>;
    expect(bad).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
  });
});

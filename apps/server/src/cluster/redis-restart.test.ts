import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import pino from 'pino';
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../index.js';

/** A Redis of this test's own (on a free port), so it can be killed and restarted without touching the shared one. */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', ok));
  const port = (srv.address() as { port: number }).port;
  await new Promise((ok) => srv.close(ok));
  return port;
}

function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((ok, fail) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Ready to accept connections')) ok(child);
    });
    child.on('exit', (code) => fail(new Error(`redis-server exited with ${code}: ${out}`)));
  });
}

const until = async (what: string, check: () => Promise<boolean>, ms = 20_000): Promise<void> => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
};

let redis: ChildProcess | null = null;
let server: RunningServer | null = null;
let other: RunningServer | null = null;
let socket: Socket | null = null;

afterAll(async () => {
  socket?.close();
  await server?.close();
  await other?.close();
  redis?.kill('SIGKILL');
});

describe('Redis restarted under a running server', () => {
  it('says so in the log and in /readyz, and comes back by itself: broadcasts flow again', async () => {
    const port = await freePort();
    redis = await startRedis(port);
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) });
    const cfg = { port: 0, host: '127.0.0.1', db: ':memory:', redis: `redis://127.0.0.1:${port}`, demoTask: false, evaluate: false };
    server = await startServer(cfg, { logger });
    other = await startServer(cfg, { logger: pino({ level: 'silent' }) });
    const readyz = async () => (await fetch(`${server!.url}/readyz`)).status;
    expect(await readyz()).toBe(200);

    // Execute: Redis dies.
    redis.kill('SIGKILL');
    await until('readyz 503', async () => (await readyz()) === 503);
    expect(lines.some((l) => l.includes('Redis connection error'))).toBe(true);

    // Redis comes back on the same address.
    redis = await startRedis(port);
    await until('readyz 200', async () => (await readyz()) === 200);

    // Assert: the adapter works again — a broadcast from the other server reaches a socket on this one.
    socket = connect(server.url, { transports: ['websocket'] });
    await new Promise<void>((ok) => socket!.once('connect', ok));
    const got = new Promise((ok) => socket!.once('chorus:probe', ok));
    (other.io as unknown as { emit(ev: string, v: unknown): void }).emit('chorus:probe', 1);
    expect(await got).toBe(1);
    expect(lines.some((l) => l.includes('Redis connection back'))).toBe(true);
  }, 60_000);
});

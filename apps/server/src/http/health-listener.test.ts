import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../index.js';
import { startHealthListener, type HealthListener } from './health-listener.js';
import type { Readiness } from './readiness.js';

const logger = pino({ level: 'silent' });
let listener: HealthListener | null = null;
let server: RunningServer | null = null;

afterEach(async () => {
  await listener?.close();
  await server?.close();
  listener = null;
  server = null;
});

const json = async (url: string, init?: RequestInit): Promise<{ status: number; body: Record<string, unknown> }> => {
  const res = await fetch(url, init);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

const until = async (what: string, check: () => Promise<boolean>): Promise<void> => {
  const end = Date.now() + 5000;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

/**
 * Fetches `url` from another process `afterMs` after it says it is ready (this thread will be
 * blocked by then): what a load balancer sees while the server's main loop is stuck.
 */
async function probeWhileBlocked(url: string, afterMs: number, blockMs: number): Promise<string> {
  const child = spawn(process.execPath, ['-e', `console.log('ready'); setTimeout(async () => { const r = await fetch(${JSON.stringify(url)}); console.log(r.status, await r.text()); }, ${afterMs});`], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  const until = Date.now() + blockMs;
  while (Date.now() < until) {
    // The main event loop is stuck here, as under a long synchronous job.
  }
  await new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return out.replace(/^ready\n/, '').trim();
}

describe('health listener (the health port, answered off the main thread)', () => {
  it('answers /healthz at once, and 503 naming the stall while the main loop does not turn', async () => {
    listener = await startHealthListener({ host: '127.0.0.1', port: 0, stallMs: 500, readiness: async () => ({ ready: true }), logger });
    const ok = await json(`${listener.url}/healthz`);
    expect(ok.status).toBe(200);
    expect(ok.body.status).toBe('ok');
    expect(ok.body.eventLoopAgeMs).toBeLessThan(500);

    const during = await probeWhileBlocked(`${listener.url}/healthz`, 900, 1800);
    expect(during).toMatch(/^503 /);
    expect(during).toMatch(/the server's event loop has not turned for \d+ ms \(limit 500 ms\)/);

    // The loop turns again: healthy at the next probe.
    await until('healthy again', async () => (await json(`${listener!.url}/healthz`)).status === 200);
  });

  it("/readyz repeats the main thread's readiness check: 503 with its message until it passes", async () => {
    let readiness: Readiness = { ready: false, message: 'database not ready: no answer within 2 s' };
    listener = await startHealthListener({ host: '127.0.0.1', port: 0, stallMs: 5000, readiness: async () => readiness, readinessEveryMs: 50, logger });
    await until('the first check', async () => JSON.stringify((await json(`${listener!.url}/readyz`)).body).includes('database not ready'));
    const refused = await json(`${listener.url}/readyz`);
    expect(refused).toEqual({ status: 503, body: { error: { code: 'UNAVAILABLE', message: 'database not ready: no answer within 2 s' } } });
    readiness = { ready: true };
    await until('ready', async () => (await json(`${listener!.url}/readyz`)).status === 200);
    expect((await json(`${listener.url}/readyz`)).body).toEqual({ status: 'ready' });
  });

  it('answers other paths 404 and other methods 405, in words', async () => {
    listener = await startHealthListener({ host: '127.0.0.1', port: 0, stallMs: 5000, readiness: async () => ({ ready: true }), logger });
    const missing = await json(`${listener.url}/api/tasks`);
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('it answers GET /healthz and GET /readyz') });
    const post = await json(`${listener.url}/healthz`, { method: 'POST', body: '{}' });
    expect(post.status).toBe(405);
  });

  it('refuses a port that is taken with an error naming healthPort', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', () => resolve()));
    const port = (taken.address() as { port: number }).port;
    try {
      await expect(startHealthListener({ host: '127.0.0.1', port, stallMs: 5000, readiness: async () => ({ ready: true }), logger })).rejects.toMatchObject({
        code: 'INVALID_CONFIG',
        message: expect.stringContaining(`healthPort ${port}: cannot listen on 127.0.0.1:${port} (EADDRINUSE)`),
      });
    } finally {
      taken.close();
    }
  });

  it('runs beside a real server when healthPort is set, and stops with it', async () => {
    server = await startServer({ port: 0, host: '127.0.0.1', db: ':memory:', demoTask: false, logLevel: 'silent', healthPort: 0 }, { evaluate: null });
    expect(server.healthUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const healthUrl = server.healthUrl!;
    expect((await json(`${healthUrl}/healthz`)).status).toBe(200);
    await until('ready', async () => (await json(`${healthUrl}/readyz`)).status === 200);
    await server.close();
    server = null;
    await expect(fetch(`${healthUrl}/healthz`)).rejects.toThrow();
  });

  it('is off by default', async () => {
    server = await startServer({ port: 0, host: '127.0.0.1', db: ':memory:', demoTask: false, logLevel: 'silent' }, { evaluate: null });
    expect(server.healthUrl).toBeNull();
  });
});

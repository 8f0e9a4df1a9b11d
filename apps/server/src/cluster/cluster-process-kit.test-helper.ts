import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { TEST_PG_URL } from '../storage/pg-test-kit.test-helper.js';
import { TEST_REDIS_URL } from './redis-test-kit.test-helper.js';

const ROOT = resolve(import.meta.dirname, '../../../..');

/** A server process of a test cluster: `node --import tsx apps/server/src/main.ts` on PostgreSQL + Redis. */
export interface ServerProcess {
  readonly child: ChildProcess;
  readonly url: string;
  /** Everything it logged (JSON lines). */
  readonly log: () => string;
}

/**
 * Starts one server process of a cluster sharing `schema` and `prefix`. Not the tsx CLI (which forks
 * a second process): SIGKILL must hit the server itself.
 */
export function startServerProcess(schema: string, prefix: string, env: Record<string, string> = {}): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'apps/server/src/main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      CHORUS_PORT: '0',
      CHORUS_HOST: '127.0.0.1',
      CHORUS_DB: TEST_PG_URL,
      CHORUS_DB_SCHEMA: schema,
      CHORUS_REDIS: TEST_REDIS_URL,
      CHORUS_REDIS_PREFIX: prefix,
      CHORUS_DEMO_TASK: 'false',
      CHORUS_EVALUATE: 'false',
      CHORUS_LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`server did not start:\n${out.slice(-4000)}`)), 60_000);
    child.stdout!.on('data', (d: Buffer) => {
      const before = out.length;
      out += d.toString();
      const m = /"url":"(http:\/\/[^"]+)"[^\n]*chorus server listening/.exec(out.slice(Math.max(0, before - 1000)));
      if (m) {
        clearTimeout(timer);
        ok({ child, url: m[1]!, log: () => out });
      }
    });
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`server exited with ${code}:\n${out.slice(-4000)}`));
    });
  });
}

/** SIGKILL, and wait until the process is gone. */
export async function killHard(p: ServerProcess): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  const gone = new Promise((r) => p.child.once('exit', r));
  p.child.kill('SIGKILL');
  await gone;
}

/** Polls `check` until it returns a value (not undefined) or `ms` pass. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

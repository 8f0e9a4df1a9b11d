import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { ChorusError } from '@chorus/core';
import type { Readiness } from './readiness.js';

export interface HealthListenerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** The main loop may go this long without a turn before /healthz answers 503. */
  readonly stallMs: number;
  /** The same check as the main port's /readyz, run on the main thread every `readinessEveryMs`. */
  readonly readiness: () => Promise<Readiness>;
  readonly readinessEveryMs?: number;
  readonly logger: Logger;
}

export interface HealthListener {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

/** How often the main thread writes its clock for the health thread. */
const TURN_EVERY_MS = 100;

/**
 * /healthz and /readyz on a port of their own, answered from a worker thread. Under load the main
 * event loop serves thousands of sockets, and a probe on the main port waited in the accept queue and
 * then behind a whole poll phase of reads (p99 0.4–1.4 s at 10,000 connections): a load balancer with
 * a 1 s timeout would take a working process out of service every round. The health thread answers
 * at once, and what it says is still about the main thread: the main loop stores Date.now() in shared
 * memory every 100 ms (a timer, so it only runs when the loop turns), and /healthz fails once that is
 * older than `stallMs`; /readyz repeats the main thread's last readiness check (database, Redis),
 * which it runs every second, and fails when that check is stale too.
 */
export async function startHealthListener(options: HealthListenerOptions): Promise<HealthListener> {
  const shared = new SharedArrayBuffer(8);
  const lastTurn = new BigInt64Array(shared);
  const turn = (): void => void Atomics.store(lastTurn, 0, BigInt(Date.now()));
  turn();
  const readinessEveryMs = options.readinessEveryMs ?? 1000;
  const worker = new Worker(new URL('./health-listener-worker.mjs', import.meta.url), {
    workerData: { shared, host: options.host, port: options.port, stallMs: options.stallMs, readinessMaxAgeMs: options.stallMs + readinessEveryMs * 3 },
    // An HTTP server answering two routes: a small heap is plenty, and a leak could not grow unnoticed.
    resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 8 },
  });
  let exited = false;
  let closing: Promise<void> | null = null;
  const port = await new Promise<number>((resolve, reject) => {
    worker.on('message', (m: { type: string; port?: number; code?: string | null; message?: string }) => {
      if (m.type === 'listening') resolve(m.port!);
      else if (m.type === 'error') reject(new ChorusError('INVALID_CONFIG', `healthPort ${options.port}: cannot listen on ${options.host}:${options.port} (${m.code ?? m.message})`));
    });
    worker.once('error', (err) => reject(new ChorusError('INTERNAL', `the health listener's thread failed to start: ${err.message}`, { cause: err })));
    worker.once('exit', (code) => {
      exited = true;
      reject(new ChorusError('INTERNAL', `the health listener's thread exited (code ${code}) before it listened`));
    });
  }).catch(async (err: unknown) => {
    await worker.terminate();
    throw err;
  });
  worker.on('error', (err) => options.logger.error({ err }, 'health listener thread failed: /healthz and /readyz on the health port no longer answer'));
  worker.on('exit', (code) => {
    exited = true;
    if (!closing) options.logger.error({ code }, 'health listener thread exited: /healthz and /readyz on the health port no longer answer');
  });

  const turns = setInterval(turn, TURN_EVERY_MS);
  turns.unref();
  let checking = false;
  const check = (): void => {
    if (checking) return;
    checking = true;
    options
      .readiness()
      .then((r) => worker.postMessage({ type: 'readiness', ...r, at: Date.now() }))
      .catch((err: unknown) => worker.postMessage({ type: 'readiness', ready: false, message: `readiness check failed: ${(err as Error).message}`, at: Date.now() }))
      .finally(() => (checking = false));
  };
  check();
  const checks = setInterval(check, readinessEveryMs);
  checks.unref();
  // The thread must not keep a process alive that is otherwise done.
  worker.unref();

  const host = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
  return {
    port,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close() {
      closing ??= (async () => {
        clearInterval(turns);
        clearInterval(checks);
        if (exited) return;
        const gone = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
        worker.postMessage({ type: 'close' });
        // A probe connection that will not close must not hold shutdown up.
        const timer = setTimeout(() => void worker.terminate(), 2000);
        await gone;
        clearTimeout(timer);
      })();
      return closing;
    },
  };
}

/**
 * The server side of `npm run bench -- load`: one real Chorus server process (as `npm start` runs it),
 * driven by the bench over IPC. Besides the server it runs a timer-lag monitor and an RSS sampler, so
 * the figures describe this process alone (the generators live in other processes).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import pino from 'pino';
import { createTaskFromTemplate, startServer, type RunningServer } from '@chorus/server';

export type ServerCommand =
  | { type: 'create'; taskId: string; template: 'mnist-2nn' | 'mnist-cnn'; targetClients: number; rounds: number; deadlineMs: number }
  | { type: 'start'; taskId: string }
  | { type: 'reset' }
  | { type: 'sample' }
  /** Full GC (the process needs --expose-gc), then the heap; `snapshot`: also write a V8 heap snapshot to that path. */
  | { type: 'heap'; snapshot?: string }
  | { type: 'stop' };

export type ServerReport =
  | { type: 'ready'; url: string; healthUrl: string; pid: number }
  | { type: 'created'; taskId: string }
  | { type: 'started'; taskId: string }
  | { type: 'closed'; taskId: string; round: number; state: 'committed' | 'abandoned'; version: number | null; participants: number; at: number }
  | { type: 'sample'; rssBytes: number; peakRssBytes: number; timerLagMaxMs: number; connected: Record<string, number>; healthzAcceptWaitP99Ms: number; healthzAcceptToRequestP99Ms: number; healthzHandleP99Ms: number }
  | { type: 'heap'; heapUsedBytes: number; rssBytes: number; externalBytes: number; connected: Record<string, number>; snapshot: string | null }
  | { type: 'stopped' };

/** Participants connected per task, as the engine counts them. */
function connectedByTask(running: RunningServer): Record<string, number> {
  return Object.fromEntries(running.engine.taskIds().map((id) => [id, running.engine.summary(id).connected]));
}

const send = (m: ServerReport): void => {
  process.send?.(m);
};

/** How late a 10 ms interval fires: the longest stall of the event loop a timer saw since the last reset. */
const TICK_MS = 10;
let lagMax = 0;
let peakRss = 0;
let ticks = 0;
/** Epoch ms of the monitor's recent ticks: how many turns ran while a slow probe waited to be accepted. */
const tickLog: number[] = [];
let last = performance.now();
const monitor = setInterval(() => {
  const now = performance.now();
  lagMax = Math.max(lagMax, now - last - TICK_MS);
  // The monotonic µs printed match a --cpu-prof profile's timestamps: the stall is the window before it.
  if (process.env.LOAD_DEBUG && now - last - TICK_MS > 200) process.stderr.write(`[server] timer ${Math.round(now - last - TICK_MS)} ms late at ${new Date().toISOString()} (monotonic ${process.hrtime.bigint() / 1000n} µs, ${Math.round(now)} ms since start)\n`);
  last = now;
  tickLog.push(performance.timeOrigin + now);
  if (tickLog.length > 4096) tickLog.splice(0, 2048);
  // Reading RSS costs a /proc read: every tenth tick (100 ms) is often enough for a peak.
  if (++ticks % 10 === 0) peakRss = Math.max(peakRss, process.memoryUsage.rss());
  if (process.env.LOAD_DEBUG_MEMORY && ticks % 25 === 0) {
    const m = process.memoryUsage();
    process.stderr.write(`[server] memory at ${new Date().toISOString()}: heap ${Math.round(m.heapUsed / 2 ** 20)} MiB, array buffers ${Math.round(m.arrayBuffers / 2 ** 20)} MiB, external ${Math.round(m.external / 2 ** 20)} MiB\n`);
  }
}, TICK_MS);

const dir = mkdtempSync(join(tmpdir(), 'chorus-load-'));
const server: RunningServer = await startServer(
  // LOAD_UPLOAD_BUDGET_BYTES, LOAD_MAX_CHUNK_BYTES: the server's uploadBudgetBytes and maxChunkBytes, to measure their effect.
  { port: 0, host: '127.0.0.1', db: join(dir, 'load.sqlite'), demoTask: false, evaluate: false, logLevel: 'warn', corsOrigins: [], healthPort: 0, ...(process.env.LOAD_UPLOAD_BUDGET_BYTES ? { uploadBudgetBytes: Number(process.env.LOAD_UPLOAD_BUDGET_BYTES) } : {}), ...(process.env.LOAD_MAX_CHUNK_BYTES ? { maxChunkBytes: Number(process.env.LOAD_MAX_CHUNK_BYTES) } : {}) },
  {},
);
const logger = pino({ level: 'warn' });
// Where a slow /healthz spends its time inside this process: TCP accept → request parsed → response finished.
// Accept wait: from the probe's start (its X-Probe-Start header, epoch ms) to this process accepting
// the connection; the kernel's handshake takes about a millisecond, so the rest is the accept queue.
const healthTimes: { wait: number[]; parse: number[]; handle: number[] } = { wait: [], parse: [], handle: [] };
const epochNow = (): number => performance.timeOrigin + performance.now();
const http = (server.io as unknown as { httpServer: import('node:http').Server }).httpServer;
let accepted = 0;
http.on('connection', (sock) => {
  accepted += 1;
  const s = sock as unknown as { acceptedAt: number; acceptedEpoch: number };
  s.acceptedAt = performance.now();
  s.acceptedEpoch = epochNow();
});
http.on('request', (req, res) => {
  if (req.url !== '/healthz') return;
  const t = performance.now();
  healthTimes.parse.push(t - ((req.socket as unknown as { acceptedAt?: number }).acceptedAt ?? t));
  const probeStart = Number(req.headers['x-probe-start']);
  const acceptedEpoch = (req.socket as unknown as { acceptedEpoch?: number }).acceptedEpoch;
  if (Number.isFinite(probeStart) && acceptedEpoch !== undefined) healthTimes.wait.push(Math.max(0, acceptedEpoch - probeStart));
  res.on('finish', () => {
    healthTimes.handle.push(performance.now() - t);
    const accepted = (req.socket as unknown as { acceptedAt?: number }).acceptedAt ?? t;
    if (process.env.LOAD_DEBUG && (performance.now() - accepted > 200 || (healthTimes.wait.at(-1) ?? 0) > 200)) {
      const from = Number.isFinite(probeStart) ? probeStart : Infinity;
      const during = tickLog.filter((x) => x >= from && x <= (acceptedEpoch ?? 0));
      process.stderr.write(`[server] probe waited ${Math.round(healthTimes.wait.at(-1) ?? NaN)} ms to be accepted; ${during.length} timer ticks ran meanwhile (gaps ${during.map((x, i) => (i ? Math.round(x - during[i - 1]!) : 0)).join(',')})\n`);
    }
    if (process.env.LOAD_DEBUG && performance.now() - accepted > 200) process.stderr.write(`[server] slow /healthz: accept wait ${Math.round(healthTimes.wait.at(-1) ?? NaN)} ms, accepted→request ${Math.round(t - accepted)} ms, handled in ${Math.round(performance.now() - t)} ms, finished at ${new Date().toISOString()}\n`);
  });
});
const p99 = (xs: number[]) => (xs.length ? Math.round([...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.99)]!) : 0);
server.events.on((e) => {
  if (e.type === 'round:closed') send({ type: 'closed', taskId: e.taskId, round: e.round, state: e.state, version: e.version, participants: e.participants, at: Date.now() });
});

process.on('message', (raw) => {
  const cmd = raw as ServerCommand;
  void (async () => {
    switch (cmd.type) {
      case 'create': {
        await createTaskFromTemplate(
          server.engine,
          {
            template: cmd.template,
            config: {
              id: cmd.taskId,
              name: `load ${cmd.template}`,
              codec: 'int8',
              data: { kind: 'image', inputShape: [28, 28, 1], numClasses: 10, dataset: 'mnist' },
              training: { localEpochs: 1, batchSize: 10, learningRate: 0.05 },
              // minClients 1: a round that misses its target by the deadline still commits, so its figures count.
              rounds: { targetClients: cmd.targetClients, minClients: 1, deadlineMs: cmd.deadlineMs, maxRounds: cmd.rounds },
              strategy: { id: 'fedavg', options: {} },
            },
          },
          logger,
        );
        send({ type: 'created', taskId: cmd.taskId });
        return;
      }
      case 'start':
        await server.engine.start(cmd.taskId);
        send({ type: 'started', taskId: cmd.taskId });
        return;
      case 'reset':
        lagMax = 0;
        healthTimes.wait.length = 0;
        healthTimes.parse.length = 0;
        healthTimes.handle.length = 0;
        peakRss = process.memoryUsage.rss();
        last = performance.now();
        return;
      case 'sample': {
        if (process.env.LOAD_DEBUG) process.stderr.write(`[server] ${accepted} connections accepted so far\n`);
        const connected = connectedByTask(server);
        send({ type: 'sample', rssBytes: process.memoryUsage.rss(), peakRssBytes: peakRss, timerLagMaxMs: Math.round(lagMax), connected, healthzAcceptWaitP99Ms: p99(healthTimes.wait), healthzAcceptToRequestP99Ms: p99(healthTimes.parse), healthzHandleP99Ms: p99(healthTimes.handle) });
        return;
      }
      case 'heap': {
        const gc = (globalThis as { gc?: () => void }).gc;
        if (!gc) throw new Error('the heap command needs the server started with --expose-gc');
        // Twice: weak references and finalizers cleared by the first pass free more in the second.
        gc();
        await new Promise((r) => setImmediate(r));
        gc();
        const m = process.memoryUsage();
        const connected = connectedByTask(server);
        const snapshot = cmd.snapshot ? writeHeapSnapshot(cmd.snapshot) : null;
        send({ type: 'heap', heapUsedBytes: m.heapUsed, rssBytes: m.rss, externalBytes: m.external, connected, snapshot });
        return;
      }
      case 'stop':
        clearInterval(monitor);
        await server.close();
        rmSync(dir, { recursive: true, force: true });
        send({ type: 'stopped' });
        // An explicit exit writes the --cpu-prof profile and leaves no handle behind.
        setTimeout(() => process.exit(0), 100);
        return;
    }
  })().catch((err: unknown) => {
    process.stderr.write(`load server: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
});

send({ type: 'ready', url: server.url, healthUrl: server.healthUrl!, pid: process.pid });

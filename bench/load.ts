/**
 * One server process under load (issue 11): thousands of light participants (bench/load/
 * generator-child.ts, real socket.io-client connections speaking the participant protocol with
 * precomputed int8 updates) against one real server (bench/load/server-child.ts) on loopback, while
 * this process probes GET /healthz. Phase one runs rounds of the 2NN, phase two of the CNN.
 *
 * Flags (after `npm run bench -- load`): --connections 10000, --updates 1000 (2NN target per round),
 * --cnn-updates 200, --rounds 2, --generators 2, --addresses 4 (127.0.0.x source addresses: several
 * offices behind one NAT each), --deadline-ms 60000, --no-cnn, --no-download (participants skip the
 * weights download a browser makes before training), --cpu-prof DIR (profile of the server),
 * --generator-nice 10 (the generators' CPU priority, 0–19; 0 runs them level with the server).
 *
 * Why the generators run niced: they stand for browsers on other machines, yet here they share the
 * server's two cores. At equal priority the kernel hands a core to a generator while the server's
 * event loop is runnable, and that wait counts as the server's timer lag (a CPU profile of a 270 ms
 * "stall" had 59 samples: the main thread was not running). Niced, they still use every cycle the
 * server leaves; `generatorNice` is in the output and `--generator-nice 0` measures the old way.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { get } from 'node:http';
import { loadavg, setPriority } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GeneratorCommand, GeneratorReport, RoundStats } from './load/generator-child.js';
import type { ServerCommand, ServerReport } from './load/server-child.js';

const here = dirname(fileURLToPath(import.meta.url));

interface Options {
  connections: number;
  updates: number;
  cnnUpdates: number;
  rounds: number;
  generators: number;
  addresses: number;
  deadlineMs: number;
  cnn: boolean;
  download: boolean;
  /** Every invite fetches the whole model (a device with no cache), not what a browser fetches. */
  fullDownloads: boolean;
  cpuProf: string | null;
  generatorNice: number;
}

function parseFlags(argv: readonly string[]): Options {
  const o: Options = { connections: 10_000, updates: 1000, cnnUpdates: 200, rounds: 2, generators: 2, addresses: 4, deadlineMs: 60_000, cnn: true, download: true, fullDownloads: false, cpuProf: null, generatorNice: 10 };
  const ints: Record<string, keyof Options> = { '--connections': 'connections', '--updates': 'updates', '--cnn-updates': 'cnnUpdates', '--rounds': 'rounds', '--generators': 'generators', '--addresses': 'addresses', '--deadline-ms': 'deadlineMs' };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    if (flag === '--no-cnn') o.cnn = false;
    else if (flag === '--no-download') o.download = false;
    else if (flag === '--full-downloads') o.fullDownloads = true;
    else if (flag === '--cpu-prof') o.cpuProf = argv[++i] ?? '.';
    else if (flag === '--generator-nice') {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 0 || n > 19) throw new Error(`--generator-nice: expected a whole number from 0 to 19, got "${argv[i]}"`);
      o.generatorNice = n;
    }
    else if (ints[flag]) {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 1 || n > 1_000_000) throw new Error(`${flag}: expected a whole number from 1 to 1000000, got "${argv[i]}"`);
      (o as unknown as Record<string, number>)[ints[flag]] = n;
    } else throw new Error(`unknown flag "${flag}" (flags: ${[...Object.keys(ints), '--no-cnn', '--no-download', '--full-downloads', '--cpu-prof DIR', '--generator-nice N'].join(', ')})`);
  }
  if (o.updates * 1.3 > o.connections || o.cnnUpdates * 1.3 > o.connections) throw new Error('--connections must be at least 1.3 × the updates per round (over-selection)');
  return o;
}

const log = (msg: string): void => void process.stderr.write(`[load] ${msg}\n`);

/** A child process spoken to by messages; `next` waits for the first report that matches. */
export class Child<C, R extends { type: string }> {
  private readonly backlog: R[] = [];
  private waiters: { match: (r: R) => boolean; resolve: (r: R) => void }[] = [];
  readonly listeners: ((r: R) => void)[] = [];

  constructor(readonly proc: ChildProcess, readonly name: string) {
    proc.on('message', (raw) => {
      const r = raw as R;
      for (const l of this.listeners) l(r);
      const w = this.waiters.find((x) => x.match(r));
      if (w) {
        this.waiters = this.waiters.filter((x) => x !== w);
        w.resolve(r);
      } else this.backlog.push(r);
    });
    proc.on('exit', (code) => {
      if (code !== 0 && code !== null) log(`${name} exited with status ${code}`);
    });
  }

  send(c: C): void {
    this.proc.send(c as object);
  }

  next<T extends R['type']>(type: T, timeoutMs: number): Promise<Extract<R, { type: T }>> {
    const match = (r: R) => r.type === type;
    const i = this.backlog.findIndex(match);
    if (i >= 0) return Promise.resolve(this.backlog.splice(i, 1)[0] as Extract<R, { type: T }>);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name}: no "${type}" within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({ match, resolve: (r) => (clearTimeout(timer), resolve(r as Extract<R, { type: T }>)) });
    });
  }
}

export function spawn<C, R extends { type: string }>(file: string, name: string, execArgv: string[] = []): Child<C, R> {
  const proc = fork(join(here, 'load', file), [], { execArgv: ['--import', 'tsx', '--max-old-space-size=4096', ...execArgv], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Child<C, R>(proc, name);
}

/** GET /healthz one after another (a load balancer's probe, a fresh connection each time), latencies in ms. */
export function probeHealth(url: string): { stop: () => Promise<number[]>; connects: number[] } {
  const latencies: number[] = [];
  const connects: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const t0 = performance.now();
      let firstByte = NaN;
      let connected = NaN;
      await new Promise<void>((resolve) => {
        const req = get(`${url}/healthz`, { agent: false, headers: { 'x-probe-start': String(performance.timeOrigin + t0) } }, (res) => {
          firstByte = performance.now() - t0;
          res.resume();
          res.on('end', () => resolve());
        });
        req.on('error', () => resolve());
        // TCP connect alone: a slow one means the kernel's accept queue, not the server's code, held the probe.
        req.on('socket', (sock) => sock.once('connect', () => connects.push((connected = performance.now() - t0))));
      });
      latencies.push(performance.now() - t0);
      if (process.env.LOAD_DEBUG && performance.now() - t0 > 200) log(`slow /healthz: ${Math.round(performance.now() - t0)} ms (connected at ${Math.round(connected)}, first byte at ${Math.round(firstByte)}), answered at ${new Date().toISOString()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return {
    connects,
    stop: async () => {
      running = false;
      await loop;
      return latencies;
    },
  };
}

export const quantile = (xs: readonly number[], q: number): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};
export const round1 = (x: number): number => Math.round(x * 10) / 10;

type Server = Child<ServerCommand, ServerReport>;
export type Generator = Child<GeneratorCommand, GeneratorReport>;

/** One round's figures over every generator: counts and bytes summed, first and last times, worst durations. */
export function mergeRoundStats(stats: readonly Extract<GeneratorReport, { type: 'stats' }>[], roundId: string): RoundStats {
  const merged: RoundStats = { invited: 0, firstInviteAt: Infinity, accepted: 0, lastAcceptedAt: 0, refused: {}, cancelled: 0, wastedBytes: 0, uploadedBytes: 0, downloadMsMax: 0, uploadMsMax: 0, downloadRetries: 0, wholeModelFallbacks: 0 };
  for (const s of stats) {
    const r = s.rounds[roundId];
    if (!r) continue;
    merged.invited += r.invited;
    merged.firstInviteAt = Math.min(merged.firstInviteAt, r.firstInviteAt);
    merged.accepted += r.accepted;
    merged.lastAcceptedAt = Math.max(merged.lastAcceptedAt, r.lastAcceptedAt);
    merged.cancelled += r.cancelled;
    merged.wastedBytes += r.wastedBytes;
    merged.uploadedBytes += r.uploadedBytes;
    merged.downloadMsMax = Math.max(merged.downloadMsMax, r.downloadMsMax);
    merged.uploadMsMax = Math.max(merged.uploadMsMax, r.uploadMsMax);
    merged.downloadRetries += r.downloadRetries;
    merged.wholeModelFallbacks += r.wholeModelFallbacks;
    for (const [k, n] of Object.entries(r.refused)) merged.refused[k] = (merged.refused[k] ?? 0) + n;
  }
  return merged;
}

/** A generator process, at CPU priority `nice` (0–19; see --generator-nice for why). */
export function spawnGenerator(name: string, nice: number, execArgv: string[] = []): Generator {
  const child: Generator = spawn('generator-child.ts', name, execArgv);
  if (nice > 0 && child.proc.pid !== undefined) setPriority(child.proc.pid, nice);
  return child;
}

async function sample(server: Server): Promise<Extract<ServerReport, { type: 'sample' }>> {
  server.send({ type: 'sample' });
  return server.next('sample', 30_000);
}

/** Runs `rounds` rounds of one task over every connection and returns the phase's figures. */
async function phase(server: Server, generators: Generator[], o: Options, template: 'mnist-2nn' | 'mnist-cnn', updates: number, url: string, healthUrl: string, held: number) {
  const taskId = template === 'mnist-2nn' ? 'load-2nn' : 'load-cnn';
  server.send({ type: 'create', taskId, template, targetClients: updates, rounds: o.rounds, deadlineMs: o.deadlineMs });
  await server.next('created', 120_000);
  const t0 = performance.now();
  for (const g of generators) g.send({ type: 'join', taskId });
  const joins = await Promise.all(generators.map((g) => g.next('joined', 600_000)));
  const joined = joins.reduce((n, j) => n + j.joined, 0);
  log(`${template}: ${joined} of ${held} joined in ${Math.round(performance.now() - t0)} ms${joins.some((j) => j.failed) ? `; refused ${joins.reduce((n, j) => n + j.failed, 0)}: ${joins.flatMap((j) => j.errors).join(' | ')}` : ''}`);

  const closed: Extract<ServerReport, { type: 'closed' }>[] = [];
  const onClosed = (r: ServerReport) => {
    if (r.type === 'closed' && r.taskId === taskId) {
      closed.push(r);
      log(`${template}: round ${r.round} ${r.state} with ${r.participants} updates`);
    }
  };
  server.listeners.push(onClosed);
  server.send({ type: 'reset' });
  // What a load balancer is pointed at (the health port, answered off the main thread), and the same
  // probe on the main port, which waits for the main event loop: both are reported.
  const probe = probeHealth(healthUrl);
  const mainProbe = probeHealth(url);
  server.send({ type: 'start', taskId });
  await server.next('started', 60_000);
  const until = Date.now() + o.rounds * (o.deadlineMs + 60_000);
  while (closed.length < o.rounds && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
  // model:updated reaches the last participant a little after the round is recorded: wait for it (bounded).
  const lastVersion = closed.at(-1)?.version ?? null;
  const settleUntil = Date.now() + 20_000;
  for (;;) {
    for (const g of generators) g.send({ type: 'collect' });
    const stats = await Promise.all(generators.map((g) => g.next('stats', 60_000)));
    const reached = lastVersion === null ? 0 : stats.reduce((n, s) => n + (s.versions[`${taskId}@${lastVersion}`]?.count ?? 0), 0);
    if (reached >= joined || Date.now() > settleUntil) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const healthz = await probe.stop();
  const mainHealthz = await mainProbe.stop();
  const after = await sample(server);
  for (const g of generators) g.send({ type: 'collect' });
  const stats = await Promise.all(generators.map((g) => g.next('stats', 60_000)));

  const perRound = closed.map((c) => {
    const merged = mergeRoundStats(stats, `${taskId}-r${c.round}`);
    const key = `${taskId}@${c.version}`;
    const reached = stats.reduce((n, s) => n + (s.versions[key]?.count ?? 0), 0);
    const lastAt = Math.max(0, ...stats.map((s) => s.versions[key]?.lastAt ?? 0));
    return {
      round: c.round,
      state: c.state,
      accepted: merged.accepted,
      invited: merged.invited,
      updatesPerSecond: round1(merged.accepted / Math.max(0.001, (merged.lastAcceptedAt - merged.firstInviteAt) / 1000)),
      roundCloseMs: c.state === 'committed' ? lastAt - merged.lastAcceptedAt : null,
      versionReached: reached,
      wastedUploadBytes: merged.wastedBytes,
      uploadedBytes: merged.uploadedBytes,
      cancelled: merged.cancelled,
      refused: merged.refused,
      downloadMsMax: merged.downloadMsMax,
      uploadMsMax: merged.uploadMsMax,
      downloadRetries: merged.downloadRetries,
      wholeModelFallbacks: merged.wholeModelFallbacks,
    };
  });
  const committed = perRound.filter((r) => r.state === 'committed');
  return {
    rounds: perRound,
    connectionsHeld: after.connected[taskId] ?? 0,
    healthzP99Ms: round1(quantile(healthz, 0.99)),
    healthzMaxMs: round1(Math.max(...healthz)),
    healthzProbes: healthz.length,
    mainPortHealthzP99Ms: round1(quantile(mainHealthz, 0.99)),
    mainPortHealthzMaxMs: round1(Math.max(...mainHealthz)),
    mainPortHealthzProbes: mainHealthz.length,
    healthzConnectP99Ms: round1(quantile(mainProbe.connects, 0.99)),
    // From the probe's start to the server accepting its connection (the kernel's accept queue), then
    // inside the server: from accept to the request parsed, and from there to the response sent.
    healthzAcceptWaitP99Ms: after.healthzAcceptWaitP99Ms,
    healthzAcceptToRequestP99Ms: after.healthzAcceptToRequestP99Ms,
    healthzHandleP99Ms: after.healthzHandleP99Ms,
    timerLagMaxMs: after.timerLagMaxMs,
    roundCloseMs: committed.length ? Math.max(...committed.map((r) => r.roundCloseMs ?? 0)) : null,
    updatesPerSecond: committed.length ? Math.min(...committed.map((r) => r.updatesPerSecond)) : 0,
    wastedUploadBytes: perRound.length ? Math.round(perRound.reduce((n, r) => n + r.wastedUploadBytes, 0) / perRound.length) : 0,
    peakRssMiB: Math.round(after.peakRssBytes / 2 ** 20),
  };
}

export async function run(): Promise<Record<string, unknown>> {
  const o = parseFlags(process.argv.slice(3));
  log(`options ${JSON.stringify(o)}; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  // LOAD_SERVER_FLAGS: extra node flags for the server process alone (e.g. --trace-gc, which NODE_OPTIONS refuses).
  const serverFlags = (process.env.LOAD_SERVER_FLAGS ?? '').split(' ').filter(Boolean);
  const server: Server = spawn('server-child.ts', 'server', [...(o.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${o.cpuProf}`] : []), ...serverFlags]);
  const generators: Generator[] = [];
  try {
    const ready = await server.next('ready', 120_000);
    const before = await sample(server);
    const addresses = Array.from({ length: o.addresses }, (_, i) => `127.0.0.${i + 1}`);
    const t0 = performance.now();
    for (let g = 0; g < o.generators; g++) {
      // LOAD_GENERATOR_FLAGS: extra node flags for the generator processes (e.g. --cpu-prof).
      const child = spawnGenerator(`generator ${g}`, o.generatorNice, (process.env.LOAD_GENERATOR_FLAGS ?? '').split(' ').filter(Boolean));
      generators.push(child);
      const count = Math.floor(o.connections / o.generators) + (g < o.connections % o.generators ? 1 : 0);
      child.send({ type: 'connect', url: ready.url, count, localAddresses: addresses, download: o.download, fullDownloads: o.fullDownloads });
    }
    const connected = await Promise.all(generators.map((g) => g.next('connected', 600_000)));
    const held = connected.reduce((n, c) => n + c.connected, 0);
    const connectSeconds = round1((performance.now() - t0) / 1000);
    log(`${held} of ${o.connections} connected in ${connectSeconds} s${connected.some((c) => c.failed) ? `; failed ${connected.reduce((n, c) => n + c.failed, 0)}: ${connected.flatMap((c) => c.errors).join(' | ')}` : ''}`);
    await new Promise((r) => setTimeout(r, 1000));
    const idle = await sample(server);
    const rssPerConnectionKb = round1((idle.rssBytes - before.rssBytes) / 1024 / Math.max(1, held));

    const nn = await phase(server, generators, o, 'mnist-2nn', o.updates, ready.url, ready.healthUrl, held);
    const cnn = o.cnn ? await phase(server, generators, o, 'mnist-cnn', o.cnnUpdates, ready.url, ready.healthUrl, held) : null;
    return {
      connections: o.connections,
      generatorNice: o.generatorNice,
      downloads: o.download ? (o.fullDownloads ? 'whole model on every invite' : 'as a browser') : 'none',
      connectionsHeld: nn.connectionsHeld,
      connectSeconds,
      healthzP99Ms: nn.healthzP99Ms,
      mainPortHealthzP99Ms: nn.mainPortHealthzP99Ms,
      timerLagMaxMs: nn.timerLagMaxMs,
      roundCloseMs: nn.roundCloseMs,
      updatesPerSecond: nn.updatesPerSecond,
      rssPerConnectionKb,
      wastedUploadBytes: nn.wastedUploadBytes,
      updatesPerRound: o.updates,
      mnist2nn: nn,
      ...(cnn ? { cnnUpdatesPerRound: o.cnnUpdates, cnn } : {}),
      loadAverage: loadavg().map((x) => round1(x)),
      targets: { connectionsHeld: o.connections, healthzP99Ms: 100, timerLagMaxMs: 200, roundCloseMs: 2000, updatesPerSecond: 400, wastedUploadBytes: 0 },
    };
  } finally {
    for (const g of generators) {
      g.send({ type: 'close' });
      await g.next('closed', 60_000).catch(() => g.proc.kill());
    }
    server.send({ type: 'stop' });
    await server.next('stopped', 60_000).catch(() => server.proc.kill());
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * One measured run of `npm run bench -- scale` against one cluster (scripts/cluster): N server
 * processes on PostgreSQL + Redis behind nginx, the load benchmark's light participants connected
 * through the front, rounds of the 2NN, /healthz probed on every process, and optionally the
 * coordinator killed (SIGKILL) in the middle of a round.
 */
import { loadavg } from 'node:os';
import { Redis } from 'ioredis';
import { dropClusterState, uniqueClusterState } from '../../scripts/cluster/cluster-state.js';
import { metricSum, scrape } from '../../scripts/cluster/metrics-text.js';
import { startCluster, type RunningCluster } from '../../scripts/cluster/start-cluster.js';
import { mergeRoundStats, probeHealth, quantile, round1, spawnGenerator, type Generator } from '../load.js';
import { checkpoint, quietMachine } from './quiet-machine.js';
import type { GeneratorReport } from '../load/generator-child.js';

export interface ScaleOptions {
  readonly connections: number;
  readonly updates: number;
  readonly rounds: number;
  readonly generators: number;
  readonly addresses: number;
  readonly deadlineMs: number;
  /** How long the next version may take after the coordinator is killed before failover counts as failed. */
  readonly failoverTimeoutMs: number;
  /**
   * Uploads of the round accepted before the kill (at least one): 1, the default, kills the
   * coordinator at the round's first accepted upload (the restarted round redoes nearly all of it);
   * more shows what adopting the live processes' partial sums saves.
   */
  readonly killAfterAccepted: number;
  /** The generators' CPU priority (bench/load.ts, --generator-nice). */
  readonly generatorNice: number;
}

/** Milestones of a failover, ms after the SIGKILL (null: not seen). */
export interface FailoverTimeline {
  /** The dead coordinator's lease expired (the key vanished). */
  leaseFreeMs: number | null;
  /** Another process holds the lease. */
  leaseTakenMs: number | null;
  /** The restarted round's first invite reached a participant; `roundId` names it. */
  firstInviteMs: number | null;
  roundId: string | null;
  invited: number;
  accepted: number;
  /** Its last accepted upload. */
  lastAcceptedMs: number | null;
  /** The next version is in the database. */
  committedMs: number | null;
  /**
   * The task's fencing token (one more per new lease owner) just before the kill and at the end: 1
   * before means the first coordinator kept its lease through the rounds (no stall made it lose it),
   * and one more after means exactly one takeover.
   */
  tokenBefore: number | null;
  tokenAfter: number | null;
}

export interface PhaseResult {
  readonly processes: number;
  readonly connectionsHeld: number;
  readonly socketsByProcess: number[];
  readonly joined: number;
  readonly joinErrors: string[];
  /** `uploadsMs`: first invite → last accepted upload (downloads and uploads of the round; compare with the failover's restarted round). */
  /** `wastedUploadBytes`: bytes uploaded for updates that were not accepted (the load benchmark's figure). */
  readonly rounds: { round: number; version: number; accepted: number; refused: Record<string, number>; wastedUploadBytes: number; uploadsMs: number | null; roundCloseMs: number | null; versionReached: number }[];
  /** The worst round's close. */
  readonly roundCloseMs: number | null;
  /** The median round's close (the mean of the middle two of an even count). */
  readonly roundCloseMsMedian: number | null;
  /** How long the phase waited for idle cores before its rounds, and the last second's idle share. */
  readonly quietBeforeRounds: { waitedMs: number; idle: number | null } | null;
  readonly acceptedByProcess: number[];
  /** On each process's health port (what a load balancer probes: answered off the main thread). */
  readonly healthzP99ByProcess: number[];
  readonly healthzP99Ms: number | null;
  /** The same probe on each process's main port, which waits for its event loop. */
  readonly mainPortHealthzP99ByProcess: number[];
  readonly failoverMs: number | null;
  readonly failoverError: string | null;
  /** Where the failover's time went, ms after the kill (see measureFailover). */
  readonly failoverTimeline: FailoverTimeline | null;
  readonly versionsLost: number | null;
  readonly versionsDuplicated: number | null;
  readonly error: string | null;
}

const TOKEN = 'bench-scale-admin-token-0123456789abcdef';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const TASK = 'scale-2nn';
const log = (msg: string): void => void process.stderr.write(`[scale] ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function perProcess(cluster: RunningCluster, alive: readonly boolean[], metric: string, labels: Record<string, string>): Promise<number[]> {
  return Promise.all(cluster.processes.map(async (p, i) => (alive[i] ? metricSum(await scrape(p.url).catch(() => ''), metric, labels) : 0)));
}

/**
 * Versions of the task as the processes' storage lists them (every process reads the one database;
 * asked directly, so a process that does not run the task yet answers NOT_FOUND and is skipped).
 */
async function versions(cluster: RunningCluster, alive: readonly boolean[]): Promise<number[] | null> {
  for (const [i, p] of cluster.processes.entries()) {
    if (!alive[i]) continue;
    const res = await fetch(`${p.url}/api/tasks/${TASK}/versions?limit=1000`, { headers: AUTH, signal: AbortSignal.timeout(10_000) }).catch(() => null);
    if (res?.ok) return ((await res.json()) as { versions: { version: number }[] }).versions.map((v) => v.version);
  }
  return null;
}

/** The middle value (the mean of the middle two of an even count). */
const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const latest = (vs: number[] | null): number => (vs && vs.length ? Math.max(...vs) : -1);

/**
 * The generator's next report of `type` (asked for just before), or an error as soon as the
 * generator exits (it says why on its stderr); no timer outlives the answer.
 */
function next<T extends GeneratorReport['type']>(g: Generator, type: T, timeoutMs: number): Promise<Extract<GeneratorReport, { type: T }>> {
  if (g.proc.exitCode !== null || g.proc.signalCode !== null) return Promise.reject(new Error(`${g.name} is gone (exit ${g.proc.exitCode ?? g.proc.signalCode})`));
  return new Promise((resolve, reject) => {
    const done = (settle: () => void) => {
      clearTimeout(timer);
      g.proc.off('exit', onExit);
      g.listeners.splice(g.listeners.indexOf(listen), 1);
      settle();
    };
    const listen = (r: GeneratorReport) => {
      if (r.type === type) done(() => resolve(r as Extract<GeneratorReport, { type: T }>));
    };
    const onExit = (code: number | null, sig: NodeJS.Signals | null) => done(() => reject(new Error(`${g.name} exited (${sig ?? `code ${code}`}) while waiting for "${type}"`)));
    const timer = setTimeout(() => done(() => reject(new Error(`${g.name}: no "${type}" within ${timeoutMs} ms`))), timeoutMs);
    g.listeners.push(listen);
    g.proc.once('exit', onExit);
  });
}

async function collect(generators: Generator[]) {
  for (const g of generators) g.send({ type: 'collect' });
  return Promise.all(generators.map((g) => next(g, 'stats', 60_000)));
}


export async function clusterPhase(processes: number, o: ScaleOptions, failover: boolean): Promise<PhaseResult> {
  const state = uniqueClusterState('scale');
  log(`${processes} process(es): starting the cluster; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const alive = Array.from({ length: processes }, () => true);
  const cluster = await startCluster({
    processes,
    ...state,
    args: ['--no-demo-task', '--no-evaluate', '--log-level', process.env.SCALE_LOG_LEVEL ?? 'warn'],
    env: { CHORUS_ADMIN_TOKEN: TOKEN },
    // SCALE_NODE_FLAGS: node flags for the server processes, e.g. "--cpu-prof --cpu-prof-dir=DIR" (a profile per process, written when the run stops them).
    ...(process.env.SCALE_NODE_FLAGS ? { nodeFlags: process.env.SCALE_NODE_FLAGS.split(' ').filter(Boolean) } : {}),
    maxConnections: o.connections + 1000,
    onUnexpectedExit: (name, how) => log(`${name} ${how}`),
    // SCALE_LOG_GREP (with SCALE_LOG_LEVEL=info, say): the processes' log lines containing it, on stderr.
    ...(process.env.SCALE_LOG_GREP ? { onOutput: (name: string, line: string) => (line.includes(process.env.SCALE_LOG_GREP!) ? log(`${name}: ${line.slice(0, 600)}`) : undefined) } : {}),
  });
  const generators: Generator[] = [];
  const result: { -readonly [K in keyof PhaseResult]: PhaseResult[K] } = {
    processes, connectionsHeld: 0, socketsByProcess: [], joined: 0, joinErrors: [], rounds: [], roundCloseMs: null, roundCloseMsMedian: null, quietBeforeRounds: null, acceptedByProcess: [], healthzP99ByProcess: [], healthzP99Ms: null, mainPortHealthzP99ByProcess: [],
    failoverMs: null, failoverError: failover ? 'not reached' : null, failoverTimeline: null, versionsLost: null, versionsDuplicated: null, error: null,
  };
  try {
    const addresses = Array.from({ length: o.addresses }, (_, i) => `127.0.0.${i + 1}`);
    for (let g = 0; g < o.generators; g++) {
      const child = spawnGenerator(`generator ${g}`, o.generatorNice);
      generators.push(child);
      const count = Math.floor(o.connections / o.generators) + (g < o.connections % o.generators ? 1 : 0);
      child.send({ type: 'connect', url: cluster.url, count, localAddresses: addresses, download: true, fullDownloads: process.env.SCALE_FULL_DOWNLOADS === '1' });
    }
    const connected = await Promise.all(generators.map((g) => next(g, 'connected', 600_000)));
    // Counted by the processes themselves: what the front actually delivered to each.
    result.socketsByProcess = await perProcess(cluster, alive, 'chorus_sockets_connected', { namespace: '/' });
    result.connectionsHeld = result.socketsByProcess.reduce((a, b) => a + b, 0);
    log(`${connected.reduce((n, c) => n + c.connected, 0)} connected through the front; per process ${result.socketsByProcess.join(' / ')}${connected.some((c) => c.failed) ? `; failed: ${connected.flatMap((c) => c.errors).join(' | ')}` : ''}`);

    const created = await fetch(`${cluster.url}/api/tasks`, {
      method: 'POST',
      headers: { ...AUTH, 'content-type': 'application/json' },
      body: JSON.stringify({
        template: 'mnist-2nn',
        start: false,
        config: {
          id: TASK,
          name: 'scale 2NN',
          codec: 'int8',
          data: { kind: 'image', inputShape: [28, 28, 1], numClasses: 10, dataset: 'mnist' },
          training: { localEpochs: 1, batchSize: 10, learningRate: 0.05 },
          // minClients 1: a round that misses its target by the deadline still commits, so its figures count.
          rounds: { targetClients: o.updates, minClients: 1, deadlineMs: o.deadlineMs, maxRounds: o.rounds + (failover ? 2 : 0) },
          strategy: { id: 'fedavg', options: {} },
        },
      }),
    });
    if (!created.ok) throw new Error(`creating the task through the front: HTTP ${created.status} ${await created.text()}`);
    for (const g of generators) g.send({ type: 'join', taskId: TASK });
    const joins = await Promise.all(generators.map((g) => next(g, 'joined', 600_000)));
    result.joined = joins.reduce((n, j) => n + j.joined, 0);
    result.joinErrors = [...new Set(joins.flatMap((j) => j.errors))].slice(0, 5);
    log(`${result.joined} joined${result.joinErrors.length ? `; refused: ${result.joinErrors.join(' | ')}` : ''}`);

    // The rounds start on a quiet machine: the joins' writes checkpointed, the cores idle (see quietMachine).
    const unflushed = await checkpoint(cluster.db);
    result.quietBeforeRounds = await quietMachine({ idle: 0.8, maxMs: 30_000 });
    log(`rounds start after ${result.quietBeforeRounds.waitedMs} ms of waiting for idle cores (last second ${result.quietBeforeRounds.idle ?? 'unknown'} idle)${unflushed ? `; CHECKPOINT failed: ${unflushed}` : ''}`);
    const acceptedBefore = await perProcess(cluster, alive, 'chorus_uploads_received_total', { task: TASK, outcome: 'accepted' });
    const probes = cluster.processes.map((p) => probeHealth(p.healthUrl));
    const mainProbes = cluster.processes.map((p) => probeHealth(p.url));
    const start = await fetch(`${cluster.url}/api/tasks/${TASK}/start`, { method: 'POST', headers: AUTH });
    if (!start.ok) throw new Error(`starting the task through the front: HTTP ${start.status} ${await start.text()}`);
    const until = Date.now() + o.rounds * (o.deadlineMs + 60_000);
    while (latest(await versions(cluster, alive)) < o.rounds && Date.now() < until) await sleep(250);
    // model:updated reaches the last participant a little after the commit: wait for it (bounded).
    const settle = Date.now() + 20_000;
    let stats = await collect(generators);
    while (Date.now() < settle && stats.reduce((n, s) => n + (s.versions[`${TASK}@${o.rounds}`]?.count ?? 0), 0) < result.joined) {
      await sleep(250);
      stats = await collect(generators);
    }
    const healthz = await Promise.all(probes.map((p) => p.stop()));
    result.mainPortHealthzP99ByProcess = (await Promise.all(mainProbes.map((p) => p.stop()))).map((h) => round1(quantile(h, 0.99)));
    result.healthzP99ByProcess = healthz.map((h) => round1(quantile(h, 0.99)));
    result.healthzP99Ms = healthz.some((h) => h.length > 0) ? Math.max(...result.healthzP99ByProcess.filter((x) => !Number.isNaN(x))) : null;
    const acceptedAfter = await perProcess(cluster, alive, 'chorus_uploads_received_total', { task: TASK, outcome: 'accepted' });
    result.acceptedByProcess = acceptedAfter.map((n, i) => n - acceptedBefore[i]!);

    for (let v = 1; v <= o.rounds; v++) {
      // Round v made version v (rounds and versions count together from a fresh task).
      const r = mergeRoundStats(stats, `${TASK}-r${v}`);
      const seen = stats.reduce((n, s) => n + (s.versions[`${TASK}@${v}`]?.count ?? 0), 0);
      const lastAt = Math.max(0, ...stats.map((s) => s.versions[`${TASK}@${v}`]?.lastAt ?? 0));
      if (process.env.SCALE_DEBUG) log(`round ${v}: last accepted at ${r.lastAcceptedAt}, version first reached at ${Math.min(...stats.map((s) => s.versions[`${TASK}@${v}`]?.firstAt ?? Infinity))}, last at ${lastAt}`);
      result.rounds.push({ round: v, version: v, accepted: r.accepted, refused: r.refused, wastedUploadBytes: r.wastedBytes, uploadsMs: r.lastAcceptedAt > 0 ? r.lastAcceptedAt - r.firstInviteAt : null, roundCloseMs: seen > 0 && r.lastAcceptedAt > 0 ? lastAt - r.lastAcceptedAt : null, versionReached: seen });
    }
    const closes = result.rounds.map((r) => r.roundCloseMs).filter((x): x is number => x !== null);
    result.roundCloseMs = closes.length === o.rounds ? Math.max(...closes) : null;
    result.roundCloseMsMedian = closes.length === o.rounds ? Math.round(median(closes)) : null;
    if (closes.length < o.rounds) result.error = `${closes.length} of ${o.rounds} rounds committed and reached the participants (latest version ${latest(await versions(cluster, alive))})`;
    log(`rounds: ${JSON.stringify(result.rounds)}; accepted per process ${result.acceptedByProcess.join(' / ')}; /healthz p99 per process ${result.healthzP99ByProcess.join(' / ')} ms (main ports ${result.mainPortHealthzP99ByProcess.join(' / ')} ms)`);

    if (failover) await measureFailover(cluster, generators, alive, o, result);
    const listed = await versions(cluster, alive);
    if (listed) {
      // Every version a participant was told about must be in the database, once.
      const announced = new Set((await collect(generators)).flatMap((s) => Object.keys(s.versions)).filter((k) => k.startsWith(`${TASK}@`)).map((k) => Number(k.slice(TASK.length + 1))));
      result.versionsLost = [...announced].filter((v) => !listed.includes(v)).length;
      result.versionsDuplicated = listed.length - new Set(listed).size;
    } else result.error ??= 'no running process lists the task’s versions, so versions lost cannot be counted';
  } catch (err) {
    result.error = err instanceof Error ? err.message : String(err);
    log(`error: ${result.error}`);
  } finally {
    for (const g of generators) {
      if (g.proc.exitCode !== null || g.proc.signalCode !== null) continue;
      g.send({ type: 'close' });
      await next(g, 'closed', 60_000).catch(() => g.proc.kill());
    }
    await cluster.stop();
    await dropClusterState(cluster).catch((err: unknown) => log(`cleaning up ${state.dbSchema}: ${String(err)}`));
  }
  return result;
}

/** The owner id in the task's Redis lease (`<prefix>:lease:<task>` = `<owner>:<token>`), or null. */
async function leaseHolder(cluster: RunningCluster): Promise<string | null> {
  const redis = new Redis(cluster.redis, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const v = await redis.get(`${cluster.redisPrefix}:lease:${TASK}`);
    return v === null ? null : v.slice(0, v.lastIndexOf(':'));
  } catch {
    return null;
  } finally {
    redis.disconnect();
  }
}

/**
 * Kills the coordinator (the task's lease holder when its owner id names a pid of ours, else the one
 * process that opens the task's rounds) once uploads of the next round are arriving, and times until a newer version is committed by another process.
 */
async function measureFailover(cluster: RunningCluster, generators: Generator[], alive: boolean[], o: ScaleOptions, result: { failoverMs: number | null; failoverError: string | null; failoverTimeline: FailoverTimeline | null }): Promise<void> {
  // The lease holder, when its owner id names one of our pids; else the one process that opens the task's rounds.
  const holder = await leaseHolder(cluster);
  const byPid = holder === null ? -1 : cluster.processes.findIndex((p) => p.pid !== null && holder.split(/[^0-9A-Za-z]+/).includes(String(p.pid)));
  const opened = await perProcess(cluster, alive, 'chorus_rounds_started_total', { task: TASK });
  const coordinators = byPid >= 0 ? [byPid] : opened.flatMap((n, i) => (n > 0 ? [i] : []));
  if (coordinators.length !== 1) {
    result.failoverError = coordinators.length === 0
      ? 'no process reports opening a round of the task'
      : `rounds were opened by ${coordinators.length} processes (${coordinators.map((i) => `p${i + 1}`).join(', ')}): the task has no single lease-holding coordinator to kill`;
    return;
  }
  const victim = coordinators[0]!;
  const next = o.rounds + 1;
  const waitUntil = Date.now() + o.deadlineMs + 30_000;
  while (Date.now() < waitUntil && mergeRoundStats(await collect(generators), `${TASK}-r${next}`).accepted < o.killAfterAccepted) await sleep(100);
  if (Date.now() >= waitUntil) {
    result.failoverError = `round ${next} never received ${o.killAfterAccepted} upload(s)`;
    return;
  }
  const acceptedAtKill = mergeRoundStats(await collect(generators), `${TASK}-r${next}`).accepted;
  const before = latest(await versions(cluster, alive));
  const watch = new Redis(cluster.redis, { maxRetriesPerRequest: 1 });
  const token = async (): Promise<number | null> => {
    const v = await watch.get(`${cluster.redisPrefix}:fence:${TASK}`).catch(() => null);
    return v === null ? null : Number(v);
  };
  const timeline: FailoverTimeline = { leaseFreeMs: null, leaseTakenMs: null, firstInviteMs: null, roundId: null, invited: 0, accepted: 0, lastAcceptedMs: null, committedMs: null, tokenBefore: await token(), tokenAfter: null };
  result.failoverTimeline = timeline;
  const victimPid = String(cluster.processes[victim]!.pid);
  const wall0 = Date.now();
  const t0 = performance.now();
  await cluster.kill(victim);
  alive[victim] = false;
  log(`killed the coordinator p${victim + 1} (SIGKILL) during round ${next} after ${acceptedAtKill} accepted uploads; latest version ${before}`);
  // The lease, watched every 50 ms on a connection of its own: when it expired, when another process took it.
  let watching = true;
  const watched = (async () => {
    while (watching && timeline.leaseTakenMs === null) {
      const v = await watch.get(`${cluster.redisPrefix}:lease:${TASK}`).catch(() => undefined);
      const at = Math.round(performance.now() - t0);
      if (v === null) timeline.leaseFreeMs ??= at;
      else if (v !== undefined && !v.slice(0, v.lastIndexOf(':')).split(/[^0-9A-Za-z]+/).includes(victimPid)) {
        timeline.leaseFreeMs ??= at;
        timeline.leaseTakenMs = at;
      }
      await sleep(50);
    }
  })();
  const until = Date.now() + o.failoverTimeoutMs;
  try {
    while (Date.now() < until) {
      if (latest(await versions(cluster, alive)) > before) {
        result.failoverMs = Math.round(performance.now() - t0);
        timeline.committedMs = result.failoverMs;
        result.failoverError = null;
        log(`a new version after ${result.failoverMs} ms`);
        return;
      }
      await sleep(100);
    }
    result.failoverError = `no version after ${before} within ${o.failoverTimeoutMs} ms of killing the coordinator p${victim + 1}`;
  } finally {
    watching = false;
    await watched;
    timeline.tokenAfter = await token();
    watch.disconnect();
    // The first round invited after the kill is the restarted one (participants' clocks: this machine's).
    const stats = await collect(generators).catch(() => []);
    const after = new Map<string, { first: number; invited: number; accepted: number; last: number }>();
    for (const s of stats) {
      for (const [id, r] of Object.entries(s.rounds)) {
        if (r.firstInviteAt < wall0) continue;
        const m = after.get(id) ?? { first: Infinity, invited: 0, accepted: 0, last: 0 };
        after.set(id, { first: Math.min(m.first, r.firstInviteAt), invited: m.invited + r.invited, accepted: m.accepted + r.accepted, last: Math.max(m.last, r.lastAcceptedAt) });
      }
    }
    const first = [...after.entries()].sort((a, b) => a[1].first - b[1].first)[0];
    if (first) {
      Object.assign(timeline, { roundId: first[0], invited: first[1].invited, accepted: first[1].accepted, firstInviteMs: first[1].first - wall0, lastAcceptedMs: first[1].last > 0 ? first[1].last - wall0 : null });
    }
    log(`failover timeline (ms after the kill): ${JSON.stringify(timeline)}`);
  }
}

import pino from 'pino';
import { encodePayload, isErrorCode, taskConfigSchema, type Ack, type RoundInvite, type TensorSpec } from '@chorus/core';
import { startServer, type RunningServer } from '../index.js';
import { fetchWeights, TestParticipant } from '../transport/test-participant.js';
import { createHostileGenerator, type HostileCase, type HostileMessage } from './hostile-generator.js';

/**
 * Runs seeded hostile traffic against a real server (Socket.IO on loopback) while honest
 * participants keep training, and reports what a defender cares about: did the process crash or
 * stop answering, was every answer a typed error, did any committed model hold a non-finite value.
 */

export interface FuzzOptions {
  /** Hostile cases to send. */
  readonly cases: number;
  /** @default 1 */
  readonly seed?: number;
  /** Concurrent hostile connections. @default 4 */
  readonly attackers?: number;
  /** An answer slower than this counts as a hang. @default 5000 */
  readonly ackTimeoutMs?: number;
  /** Called every `progressEvery` cases. */
  readonly onProgress?: (done: number, total: number) => void;
  readonly progressEvery?: number;
}

export interface FuzzReport {
  readonly cases: number;
  /** Acknowledged messages (each upload step counts). */
  readonly answers: number;
  readonly typedErrors: number;
  readonly accepted: number;
  /** Answers that were neither `{ ok: true }` nor a typed error: must be 0. */
  readonly untypedAnswers: number;
  /** Uncaught exceptions and unhandled rejections in the server process: must be 0. */
  readonly crashes: number;
  /** Acks that never came, and /healthz probes slower than 2 s: must be 0. */
  readonly hangs: number;
  readonly maxHealthzMs: number;
  /** Hostile connections the server closed (a new one replaces each). */
  readonly disconnects: number;
  /** Versions committed during the run, and how many of them hold a NaN or ±Infinity: must be 0. */
  readonly versions: number;
  readonly nonFiniteVersions: number;
  /** Largest |weight| of the final model (honest updates are tiny: it stays near its start). */
  readonly maxAbsWeight: number;
  readonly rssGrowthMb: number;
  /** Error codes seen, with counts. */
  readonly codes: Readonly<Record<string, number>>;
  readonly examples: readonly string[];
}

const TASK_ID = 'fuzz';
const LAYOUT: TensorSpec[] = [
  { name: 'dense/kernel', shape: [64, 8] },
  { name: 'dense/bias', shape: [8] },
];

function isTypedAck(a: unknown): a is Ack<unknown> {
  if (!a || typeof a !== 'object') return false;
  const ack = a as { ok?: unknown; error?: { code?: unknown; message?: unknown; retryable?: unknown } };
  if (ack.ok === true) return true;
  return ack.ok === false && isErrorCode(ack.error?.code) && typeof ack.error?.message === 'string' && ack.error.message.length > 0 && typeof ack.error.retryable === 'boolean';
}

async function startFuzzServer(): Promise<RunningServer> {
  const server = await startServer(
    { port: 0, host: '127.0.0.1', db: ':memory:', demoTask: false, evaluate: false, logLevel: 'silent', uploadsPerMinute: 100_000, connectionsPerMinute: 1_000_000, roundRetryDelayMs: 50 },
    { logger: pino({ level: 'silent' }), evaluate: null },
  );
  const config = taskConfigSchema.parse({
    id: TASK_ID,
    name: 'Fuzz target',
    data: { kind: 'tabular', inputShape: [64], numClasses: 8 },
    codec: 'int8',
    // Short rounds: a few seconds of fuzzing span dozens of rounds, so the attackers are invited often
    // and their hostile uploads meet an open round's checks (bounds, finiteness), not only refusals.
    rounds: { targetClients: 3, minClients: 1, minAvailable: 2, overSelection: 3, deadlineMs: 400 },
  });
  const weights = Float32Array.from({ length: 64 * 8 + 8 }, (_, i) => Math.sin(i) * 0.1);
  await server.engine.createTask({ config, topology: { class_name: 'Sequential', config: { layers: [] } }, layout: LAYOUT, weights });
  await server.engine.start(TASK_ID);
  return server;
}

/** An honest participant: a tiny int8 update for every invite. */
function honest(url: string): TestParticipant {
  const p = new TestParticipant(url);
  p.socket.on('round:invite', (invite: RoundInvite) => {
    const values = Float32Array.from({ length: 64 * 8 + 8 }, () => (Math.random() - 0.5) * 0.002);
    void p.upload(invite, encodePayload({ layout: LAYOUT, values }, 'int8'), 4096, 10).catch(() => undefined);
  });
  return p;
}

class Attacker {
  participant: TestParticipant;
  invite: RoundInvite | undefined;
  /** The identity token from the first join: a reconnecting attacker keeps its identity and its place in the round. */
  private token: string | undefined;

  constructor(private readonly url: string) {
    this.participant = this.connect();
  }

  private connect(): TestParticipant {
    const p = new TestParticipant(this.url);
    p.socket.on('round:invite', (i: RoundInvite) => {
      this.invite = i;
    });
    return p;
  }

  /**
   * Joins the task, as the participant it was when it has joined before (a page reloaded with its
   * token): the round it was invited to invites it again, so its hostile uploads keep meeting an
   * open round's checks instead of NOT_SELECTED under a new identity.
   */
  async join(): Promise<void> {
    const ack = await this.participant.join(TASK_ID, this.token ? { token: this.token } : {});
    if (ack.ok && ack.data.token) this.token = ack.data.token;
  }

  /** A fresh connection when the server closed this one; resolves once it has joined the task. */
  async ensure(): Promise<boolean> {
    if (this.participant.socket.connected) return false;
    this.participant.close();
    this.participant = this.connect();
    await this.join().catch(() => undefined);
    return true;
  }
}

export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const ackTimeoutMs = options.ackTimeoutMs ?? 5000;
  let crashes = 0;
  const onCrash = (): void => {
    crashes++;
  };
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  const server = await startFuzzServer();
  const honestOnes = [honest(server.url), honest(server.url)];
  const attackers = Array.from({ length: options.attackers ?? 4 }, () => new Attacker(server.url));
  const counts = { answers: 0, typed: 0, accepted: 0, untyped: 0, hangs: 0, disconnects: 0 };
  const codes: Record<string, number> = {};
  const examples: string[] = [];
  let maxHealthzMs = 0;
  global.gc?.();
  const rssBefore = process.memoryUsage().rss;

  const record = (label: string, a: unknown): Ack<unknown> | undefined => {
    counts.answers++;
    if (!isTypedAck(a)) {
      counts.untyped++;
      if (examples.length < 10) examples.push(`${label}: ${JSON.stringify(a)?.slice(0, 200)}`);
      return undefined;
    }
    if (a.ok) counts.accepted++;
    else {
      counts.typed++;
      codes[a.error.code] = (codes[a.error.code] ?? 0) + 1;
    }
    return a;
  };

  const send = async (attacker: Attacker, label: string, m: HostileMessage): Promise<Ack<unknown> | undefined> => {
    const socket = attacker.participant.socket;
    if (!m.ack) {
      socket.emit(m.event, ...m.args);
      return undefined;
    }
    try {
      const answer: unknown = await socket.timeout(ackTimeoutMs).emitWithAck(m.event, ...m.args);
      return record(label, answer);
    } catch {
      // No answer: a hang, unless the server closed the connection (it may, for a malformed packet).
      if (socket.connected) {
        counts.hangs++;
        if (examples.length < 10) examples.push(`${label}: no answer within ${ackTimeoutMs} ms`);
      }
      return undefined;
    }
  };

  const upload = async (attacker: Attacker, c: Extract<HostileCase, { kind: 'upload' }>): Promise<void> => {
    const invite = attacker.invite;
    const begin = await send(attacker, c.label, {
      event: 'update:begin',
      args: [{ taskId: TASK_ID, roundId: invite?.roundId ?? `${TASK_ID}-r1`, version: invite?.version ?? 0, numExamples: c.numExamples, byteLength: c.chunking === 'lying-size' ? c.payload.byteLength + 7 : c.payload.byteLength, metrics: { loss: 1 } }],
      ack: true,
    });
    if (!begin?.ok) return;
    const uploadId = (begin.data as { uploadId: string }).uploadId;
    const chunks: Uint8Array[] = [];
    for (let off = 0; off < c.payload.byteLength; off += 256) chunks.push(c.payload.subarray(off, off + 256));
    const order = c.chunking === 'reversed' ? chunks.map((_, i) => chunks.length - 1 - i) : c.chunking === 'duplicate' ? [0, ...chunks.map((_, i) => i)] : chunks.map((_, i) => i);
    // 'last' ends the upload with its last chunk; 'early-last' claims the first chunk is the last.
    const lastAt = c.chunking === 'last' ? order.length - 1 : c.chunking === 'early-last' ? 0 : -1;
    for (const [i, seq] of order.entries()) await send(attacker, c.label, { event: 'update:chunk', args: [{ uploadId, seq, data: chunks[seq], ...(i === lastAt ? { last: true } : {}) }], ack: true });
    if (c.chunking !== 'skip-end' && lastAt < 0) await send(attacker, c.label, { event: 'update:end', args: [{ uploadId }], ack: true });
  };

  const probeHealth = async (): Promise<void> => {
    const started = performance.now();
    const res = await fetch(`${server.url}/healthz`, { signal: AbortSignal.timeout(10_000) }).catch(() => null);
    const ms = performance.now() - started;
    maxHealthzMs = Math.max(maxHealthzMs, ms);
    if (!res?.ok || ms > 2000) counts.hangs++;
  };

  try {
    await Promise.all([...honestOnes.map((p) => p.join(TASK_ID)), ...attackers.map((a) => a.join())]);
    const generators = attackers.map((a, i) => createHostileGenerator((options.seed ?? 1) * 1000 + i, { taskId: TASK_ID, layout: LAYOUT, invite: () => a.invite }));
    const every = options.progressEvery ?? 100;
    let done = 0;
    // Attackers work concurrently, one case at a time each: their messages interleave at the server.
    await Promise.all(
      attackers.map(async (attacker, i) => {
        while (done < options.cases) {
          const n = ++done;
          if (await attacker.ensure()) counts.disconnects++;
          const c = generators[i]!();
          if (c.kind === 'message') await send(attacker, c.label, c.message);
          else await upload(attacker, c);
          if (n % every === 0) {
            options.onProgress?.(n, options.cases);
            await probeHealth();
          }
        }
      }),
    );
    await probeHealth();
    // Let the honest participants finish a round after the storm.
    const version = () => server.engine.summary(TASK_ID).version;
    const until = Date.now() + 10_000;
    const startVersion = version();
    while (version() === startVersion && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    await server.engine.idle();

    let nonFinite = 0;
    const latest = version();
    for (let v = 1; v <= latest; v++) {
      const w = await fetchWeights(server.url, TASK_ID, v);
      if (!w.values.every(Number.isFinite)) nonFinite++;
    }
    const final = server.engine.globalWeights(TASK_ID);
    let maxAbs = 0;
    for (const v of final) maxAbs = Math.max(maxAbs, Math.abs(v));
    global.gc?.();
    return {
      cases: options.cases,
      answers: counts.answers,
      typedErrors: counts.typed,
      accepted: counts.accepted,
      untypedAnswers: counts.untyped,
      crashes,
      hangs: counts.hangs,
      maxHealthzMs: Math.round(maxHealthzMs),
      disconnects: counts.disconnects,
      versions: latest,
      nonFiniteVersions: nonFinite,
      maxAbsWeight: maxAbs,
      rssGrowthMb: Math.round(((process.memoryUsage().rss - rssBefore) / 1048576) * 10) / 10,
      codes,
      examples,
    };
  } finally {
    for (const p of [...honestOnes, ...attackers.map((a) => a.participant)]) p.close();
    await server.close();
    process.off('uncaughtException', onCrash);
    process.off('unhandledRejection', onCrash);
  }
}

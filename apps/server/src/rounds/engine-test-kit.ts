import pino from 'pino';
import { createStrategy, decodePayload, encodePayload, maxPayloadBytes, parsePayload, SecAggParticipant, taskConfigSchema, type Capabilities, type RoundInvite, type SecAggServerMessage, type ServerToClientEvents, type TaskConfigInput } from '@chorus/core';
import { SqliteStorage } from '../storage/sqlite-storage.js';
import type { Storage } from '../storage/storage.js';
import { FakeClock } from './clock.js';
import type { EngineDeps, EngineTransport, Evaluate, PayloadOps } from './engine-deps.js';
import { RoundEngine } from './round-engine.js';

/** Shared set-up for round-engine tests: real codecs and FedAvg, a fake clock, a recording transport. */

export const corePayloadOps: PayloadOps = {
  encode: (flat, codec) => encodePayload(flat, codec),
  decode: decodePayload,
  parse: parsePayload,
  maxBytes: maxPayloadBytes,
};

export interface Sent {
  readonly to: string;
  readonly event: keyof ServerToClientEvents;
  readonly msg: Record<string, unknown>;
}

export class RecordingTransport implements EngineTransport {
  readonly sent: Sent[] = [];
  /** Events that throw instead of being sent (a failing socket layer), once each. */
  readonly failOnce = new Set<keyof ServerToClientEvents>();
  private check(event: keyof ServerToClientEvents): void {
    if (this.failOnce.delete(event)) throw new Error(`injected: sending ${event} failed`);
  }
  send<E extends keyof ServerToClientEvents>(connectionId: string, event: E, msg: Parameters<ServerToClientEvents[E]>[0]): void {
    this.check(event);
    this.sent.push({ to: connectionId, event, msg: msg as unknown as Record<string, unknown> });
  }
  broadcast<E extends keyof ServerToClientEvents>(taskId: string, event: E, msg: Parameters<ServerToClientEvents[E]>[0]): void {
    this.check(event);
    this.sent.push({ to: `task:${taskId}`, event, msg: msg as unknown as Record<string, unknown> });
  }
  of(event: keyof ServerToClientEvents): Sent[] {
    return this.sent.filter((s) => s.event === event);
  }
  clear(): void {
    this.sent.length = 0;
  }
}

export const LAYOUT = [{ name: 'dense/kernel', shape: [2, 2] }];

/** Exact versions (downloadCodec 'full'): these tests check the round engine's arithmetic; http/model-downloads.test.ts covers versions defined by their int8 difference. */
export function taskConfig(rounds: TaskConfigInput['rounds'] = {}, extra: Partial<TaskConfigInput> = {}) {
  return taskConfigSchema.parse({ id: 't1', name: 'Test task', data: { kind: 'tabular', inputShape: [2], numClasses: 2 }, codec: 'float32', downloadCodec: 'full', ...extra, rounds: { targetClients: 3, minClients: 2, deadlineMs: 1000, ...rounds } });
}

export function update(values: number[]): Uint8Array {
  return encodePayload({ layout: LAYOUT, values: Float32Array.from(values) }, 'float32');
}

export const caps = (numExamples = 100, backend = 'wasm'): Capabilities => ({ backend, numExamples });

export interface Harness {
  engine: RoundEngine;
  storage: Storage;
  clock: FakeClock;
  transport: RecordingTransport;
  /** Joins and attaches connection `c<i>`; returns the participant id. */
  connect(i: number, capabilities?: Capabilities, participantId?: string): Promise<string>;
  /** The participant id connection `c<i>` joined as. */
  participantId(i: number): string;
  /** Begin + submit a delta as connection `c<i>`. */
  send(i: number, values: number[] | Uint8Array, opts?: { version?: number; roundId?: string; numExamples?: number }): ReturnType<RoundEngine['submitUpdate']>;
}

export interface HarnessOptions {
  rounds?: TaskConfigInput['rounds'];
  strategy?: TaskConfigInput['strategy'];
  /** Other task options (codec, limits, training). */
  task?: Partial<TaskConfigInput>;
  storage?: Storage;
  clock?: FakeClock;
  evaluate?: Evaluate;
  start?: boolean;
  create?: boolean;
  /** Replace engine dependencies (a failing strategy factory or payload ops, the watchdog's timeout). */
  deps?: Partial<Pick<EngineDeps, 'payload' | 'createStrategy' | 'closeTimeoutMs' | 'modelDeltas'>>;
}

export async function createHarness(options: HarnessOptions = {}): Promise<Harness> {
  const storage = options.storage ?? new SqliteStorage({ path: ':memory:' });
  const clock = options.clock ?? new FakeClock();
  const transport = new RecordingTransport();
  let seed = 1;
  const engine = new RoundEngine({
    storage,
    transport,
    clock,
    payload: corePayloadOps,
    createStrategy,
    logger: pino({ level: 'silent' }),
    random: () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646,
    roundRetryDelayMs: 500,
    ...(options.evaluate ? { evaluate: options.evaluate } : {}),
    ...options.deps,
  });
  await engine.init();
  if (options.create !== false) {
    await engine.createTask({ config: taskConfig(options.rounds, { ...options.task, ...(options.strategy ? { strategy: options.strategy } : {}) }), topology: { class_name: 'Sequential' }, layout: LAYOUT, weights: Float32Array.of(1, 2, 3, 4) });
    if (options.start !== false) await engine.start('t1');
  }
  const pids = new Map<number, string>();
  return {
    engine,
    storage,
    clock,
    transport,
    async connect(i, capabilities = caps(), participantId) {
      const res = await engine.join({ protocolVersion: 1, taskId: 't1', capabilities, ...(participantId ? { participantId } : {}) });
      pids.set(i, res.participantId);
      engine.attach(`c${i}`, 't1', res.participantId, capabilities);
      return res.participantId;
    },
    participantId(i) {
      const pid = pids.get(i);
      if (!pid) throw new Error(`connection c${i} has not joined`);
      return pid;
    },
    send(i, values, opts = {}) {
      const state = engine.summary('t1');
      const begin = { taskId: 't1', roundId: opts.roundId ?? state.currentRound?.roundId ?? 'none', version: opts.version ?? state.version, numExamples: opts.numExamples ?? 10, byteLength: 0, metrics: {} };
      const bytes = values instanceof Uint8Array ? values : update(values);
      engine.beginUpdate(`c${i}`, { ...begin, byteLength: bytes.byteLength });
      return engine.submitUpdate(`c${i}`, { ...begin, byteLength: bytes.byteLength }, bytes);
    },
  };
}

/** The connection ids that got a round:invite, in order. */
export function invited(t: RecordingTransport): string[] {
  return t.of('round:invite').map((s) => s.to);
}

export interface SecureRoundPlay {
  /** Participants c1…c`count` take part. */
  readonly count: number;
  /** Participant i's update in round (or async cohort) `roundId`, and its example count. */
  readonly update: (i: number, roundId: string) => Float32Array;
  readonly examples: (i: number) => number;
  /** This participant disconnects right after sending its masked input. */
  readonly closesTab?: number;
  /** Participant i disconnects when the neighbours' shares reach it in `roundId`, before masking. */
  readonly leavesBeforeMask?: (i: number, roundId: string) => boolean;
  /** Participant i stays connected but never sends its masked input in `roundId`. */
  readonly silentAtMask?: (i: number, roundId: string) => boolean;
  /** Play until task t1 reaches this version. @default 1 */
  readonly versions?: number;
  /** Called on a spin that found nothing new to answer (a test moves the fake clock here). */
  readonly onQuiet?: (played: SecureRoundPlayed) => void;
}

/** One masked input as it went to the server (what an honest-but-curious server holds of it). */
export interface MaskedSent {
  readonly i: number;
  readonly roundId: string;
  readonly setup: unknown;
  readonly masked: Uint8Array;
}

export interface SecureRoundPlayed {
  /** The engine's refusals of the participants' messages. */
  readonly errors: unknown[];
  readonly masked: MaskedSent[];
}

/**
 * In-process SecAgg+ participants answer what the recording transport carries to them until task
 * t1 reaches `versions` (or 400 spins of 20 ms). Each invitation (a sync round, or an async cohort)
 * gets a fresh participant, answered under the invitation's round id. Throws if a closed tab is
 * sent anything more; the engine's refusals are collected in `errors`.
 */
export async function playSecureRound(h: Harness, play: SecureRoundPlay): Promise<SecureRoundPlayed> {
  const people = new Map<string, { p: SecAggParticipant; setup: unknown }>();
  const played: SecureRoundPlayed = { errors: [], masked: [] };
  const closed = new Set<number>();
  const target = play.versions ?? 1;
  let seen = 0;
  for (let spins = 0; spins < 400 && h.engine.summary('t1').version < target; spins++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    const batch = h.transport.sent.slice(seen);
    seen += batch.length;
    if (batch.length === 0) play.onQuiet?.(played);
    for (const s of batch) {
      const i = Number(s.to.slice(1));
      if (!(i >= 1 && i <= play.count)) continue;
      if (closed.has(i) && s.event === 'secagg:next') throw new Error(`${s.to} was sent ${s.event} after closing its tab`);
      const c = `c${i}`;
      const roundId = String(s.msg.roundId);
      const send = (stage: 'advertise' | 'share' | 'mask' | 'unmask', message: unknown) => {
        try {
          void h.engine.secureMessage(c, { taskId: 't1', roundId, stage, message });
        } catch (err) {
          played.errors.push(err);
        }
      };
      const leave = () => {
        closed.add(i);
        h.engine.detach(c);
      };
      if (s.event === 'round:invite' && !closed.has(i)) {
        const inv = s.msg as unknown as RoundInvite;
        const p = await SecAggParticipant.create(inv.secureAggregation!.setup as never, inv.secureAggregation!.id);
        people.set(`${i}:${roundId}`, { p, setup: inv.secureAggregation!.setup });
        send('advertise', await p.advertise());
      }
      if (s.event === 'secagg:next') {
        const m = s.msg as unknown as SecAggServerMessage;
        const { p, setup } = people.get(`${i}:${roundId}`)!;
        if (m.event === 'secagg:keys') send('share', await p.shareKeys(m.payload as never));
        if (m.event === 'secagg:shares') {
          if (play.leavesBeforeMask?.(i, roundId)) {
            leave();
            continue;
          }
          if (play.silentAtMask?.(i, roundId)) continue;
          const masked = await p.maskedInput(m.payload as never, play.update(i, roundId), play.examples(i));
          played.masked.push({ i, roundId, setup, masked: masked.masked });
          send('mask', masked);
          if (i === play.closesTab) leave();
        }
        if (m.event === 'secagg:unmask') send('unmask', await p.unmask(m.payload as never));
      }
    }
  }
  await h.engine.idle();
  return played;
}

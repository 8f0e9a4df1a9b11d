import pino from 'pino';
import { createStrategy, decodePayload, encodePayload, maxPayloadBytes, parsePayload, taskConfigSchema, type Capabilities, type ServerToClientEvents, type TaskConfigInput } from '@chorus/core';
import { SqliteStorage } from '../storage/sqlite-storage.js';
import type { Storage } from '../storage/storage.js';
import { FakeClock } from './clock.js';
import type { EngineTransport, Evaluate, PayloadOps } from './engine-deps.js';
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
  send<E extends keyof ServerToClientEvents>(connectionId: string, event: E, msg: Parameters<ServerToClientEvents[E]>[0]): void {
    this.sent.push({ to: connectionId, event, msg: msg as unknown as Record<string, unknown> });
  }
  broadcast<E extends keyof ServerToClientEvents>(taskId: string, event: E, msg: Parameters<ServerToClientEvents[E]>[0]): void {
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

export function taskConfig(rounds: TaskConfigInput['rounds'] = {}, extra: Partial<TaskConfigInput> = {}) {
  return taskConfigSchema.parse({ id: 't1', name: 'Test task', data: { kind: 'tabular', inputShape: [2], numClasses: 2 }, codec: 'float32', rounds: { targetClients: 3, minClients: 2, deadlineMs: 1000, ...rounds }, ...extra });
}

export function update(values: number[]): Uint8Array {
  return encodePayload({ layout: LAYOUT, values: Float32Array.from(values) }, 'float32');
}

export const caps = (numExamples = 10, backend = 'wasm'): Capabilities => ({ backend, numExamples });

export interface Harness {
  engine: RoundEngine;
  storage: Storage;
  clock: FakeClock;
  transport: RecordingTransport;
  /** Joins and attaches connection `c<i>`; returns the participant id. */
  connect(i: number, capabilities?: Capabilities, participantId?: string): Promise<string>;
  /** Begin + submit a delta as connection `c<i>`. */
  send(i: number, values: number[], opts?: { version?: number; roundId?: string; numExamples?: number }): ReturnType<RoundEngine['submitUpdate']>;
}

export async function createHarness(options: { rounds?: TaskConfigInput['rounds']; strategy?: TaskConfigInput['strategy']; storage?: Storage; clock?: FakeClock; evaluate?: Evaluate; start?: boolean; create?: boolean } = {}): Promise<Harness> {
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
  });
  await engine.init();
  if (options.create !== false) {
    await engine.createTask({ config: taskConfig(options.rounds, options.strategy ? { strategy: options.strategy } : {}), topology: { class_name: 'Sequential' }, layout: LAYOUT, weights: Float32Array.of(1, 2, 3, 4) });
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
    send(i, values, opts = {}) {
      const runner = engine.runner('t1');
      const begin = { taskId: 't1', roundId: opts.roundId ?? runner.round?.roundId ?? 'none', version: opts.version ?? runner.version, numExamples: opts.numExamples ?? 10, byteLength: 0, metrics: {} };
      const bytes = update(values);
      engine.beginUpdate(`c${i}`, { ...begin, byteLength: bytes.byteLength });
      return engine.submitUpdate(`c${i}`, { ...begin, byteLength: bytes.byteLength }, bytes);
    },
  };
}

/** The connection ids that got a round:invite, in order. */
export function invited(t: RecordingTransport): string[] {
  return t.of('round:invite').map((s) => s.to);
}

import type { Logger } from 'pino';
import type { CodecId, EncodedUpdate, FlatWeights, ServerToClientEvents, Strategy, StrategyConfig, TensorSpec } from '@chorus/core';
import type { Storage, StoredTask } from '../storage/storage.js';
import type { Clock } from './clock.js';
import type { ModelDeltaStore } from './model-deltas.js';

/** How the engine talks to connected participants (Socket.IO in production, a recorder in tests). */
export interface EngineTransport {
  send<E extends keyof ServerToClientEvents>(connectionId: string, event: E, msg: Parameters<ServerToClientEvents[E]>[0]): void;
  /** To every connection that joined the task. */
  broadcast<E extends keyof ServerToClientEvents>(taskId: string, event: E, msg: Parameters<ServerToClientEvents[E]>[0]): void;
}

/** The wire-format functions of @chorus/core the engine needs (injected so tests can see calls). */
export interface PayloadOps {
  encode(flat: FlatWeights, codec: CodecId): Uint8Array;
  decode(bytes: Uint8Array): FlatWeights;
  parse(bytes: Uint8Array, options: { layout: readonly TensorSpec[]; maxBytes: number; codecs?: readonly CodecId[]; maxAbs?: number; seed?: number }): EncodedUpdate;
  maxBytes(layout: readonly TensorSpec[], codec: CodecId): number;
}

/** Central evaluation of a new global model; its metrics go into the version, round and broadcast. */
export type Evaluate = (task: StoredTask, weights: Float32Array) => Promise<Record<string, number>>;

export interface EngineDeps {
  readonly storage: Storage;
  readonly transport: EngineTransport;
  readonly payload: PayloadOps;
  readonly createStrategy: (config: StrategyConfig, layout: readonly TensorSpec[]) => Strategy;
  readonly logger: Logger;
  /** @default systemClock */
  readonly clock?: Clock;
  /** Uniform [0, 1) source for client selection. @default Math.random */
  readonly random?: () => number;
  readonly evaluate?: Evaluate;
  /** Pause before retrying an abandoned round. @default 2000 */
  readonly roundRetryDelayMs?: number;
  /** The watchdog abandons a round still closing (aggregate, checkpoint, evaluate) after this long. @default 120000 */
  readonly closeTimeoutMs?: number;
  /** Recent versions' encoded differences, for differential downloads (none kept when absent). */
  readonly modelDeltas?: ModelDeltaStore;
}

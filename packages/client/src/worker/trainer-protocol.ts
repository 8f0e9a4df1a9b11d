import type { AdvertiseKeys, FlatWeights, IncomingShares, LocalDpConfig, MaskedInput, NeighbourKeys, PersonalizationInfo, PersonalWeights, RoundInvite, ShareKeys, TensorSpec, UnmaskingRequest, UnmaskingResponse } from '@chorus/core';
import type { ExampleCounts } from '../storage/example-store.js';
import type { BackendMeasurement, ExampleSource } from '../storage/participant-db.js';

/** tfjs backends the trainer knows how to load, fastest-on-a-real-GPU first. */
export const BACKEND_IDS = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;
export type BackendId = (typeof BACKEND_IDS)[number];

export function isBackendId(value: unknown): value is BackendId {
  return typeof value === 'string' && (BACKEND_IDS as readonly string[]).includes(value);
}

export interface TrainerSetup {
  readonly taskId: string;
  /** Keras JSON topology of the task's model (or give `templateId`). */
  readonly topology?: unknown;
  /**
   * A model template of @chorus/ml to build instead of a topology (device checks, benchmarks); it is
   * built for `inputShape` and `numClasses` (the features of tabular-mlp, the vocabulary of spam-bow).
   */
  readonly templateId?: string;
  readonly inputShape: readonly number[];
  readonly numClasses: number;
  /** IndexedDB database the worker reads examples from and caches trials in. */
  readonly dbName: string;
  /** Absolute URL of the folder holding tfjs-backend-wasm's .wasm files (ends with "/"). */
  readonly wasmBaseUrl: string;
  /** Skip the trial and use this backend (fails if it is not available). */
  readonly forceBackend?: BackendId;
  /** Batch size the trial measures with. @default 10 */
  readonly trialBatchSize?: number;
  /** Timed batches per backend in the trial. @default 4 */
  readonly trialBatches?: number;
  /** Ignore a cached trial and measure again. @default false */
  readonly remeasure?: boolean;
  /**
   * Let the wasm backend run its threaded build (one thread per core; SharedArrayBuffer, so only
   * where the page is cross-origin isolated: COOP + COEP, and only with more than one core; see
   * chooseWasmVariant). false forces the single-threaded SIMD build (benchmarks compare the two).
   * A partner's iframe is never isolated, so it always runs one thread.
   * @default true
   */
  readonly wasmThreads?: boolean;
}

export interface BackendChoice {
  readonly backend: BackendId;
  /** Training examples per second measured for the chosen backend. */
  readonly samplesPerSecond: number;
  readonly measurements: readonly BackendMeasurement[];
  /** True when the choice came from an earlier trial stored in IndexedDB. */
  readonly fromCache: boolean;
  readonly forced: boolean;
  /** Number of weights of the prepared model (the length of every delta). */
  readonly parameters: number;
  /** Whether the worker runs cross-origin isolated (SharedArrayBuffer, so threaded wasm). */
  readonly crossOriginIsolated: boolean;
  /** Threads the wasm backend computes with (0 when it did not start here, 1 for the single-threaded build). */
  readonly wasmThreads: number;
  /** Why wasm runs (or would run) with that many threads, for the device check and participant page. */
  readonly wasmVariantReason: string;
}

export interface WorkerTrainRequest {
  readonly taskId: string;
  readonly roundId: string;
  readonly layout: readonly TensorSpec[];
  readonly globalValues: Float32Array;
  /** The invite's training config with the round's strategy overrides (FedProx's proxMu), for trainLocal. */
  readonly training: RoundInvite['training'];
  /** Seeds shuffling so a retried round trains the same way. */
  readonly seed: number;
  /** Share of CPU time training may use, 0 < d ≤ 1: the worker rests after each batch. @default 1 */
  readonly dutyCycle?: number;
  /** A personalized task: `globalValues` are the shared layers; the worker merges in these personal layers. */
  readonly personal?: { readonly config: PersonalizationInfo; readonly values: PersonalWeights | undefined };
  /**
   * A secure round: keep the update (after the task's local DP) in the worker for its secure
   * computation; the result's delta is then empty and `kept` is true.
   */
  readonly keep?: { readonly localDp: LocalDpConfig | undefined };
}

export interface TrainProgress {
  readonly epoch: number;
  readonly epochs: number;
  readonly batch: number;
  readonly batchesPerEpoch: number;
  /** 0…1 over the whole of local training. */
  readonly fraction: number;
}

export interface WorkerTrainResult {
  /** Local minus global weights; transferred, not copied. */
  readonly delta: Float32Array;
  readonly numExamples: number;
  readonly metrics: Readonly<Record<string, number>>;
  readonly samplesPerSecond: number;
  /** The tfjs backend the training ran on (read from tfjs, not echoed from the request). */
  readonly backend: BackendId;
  /** A personalized task's personal layers after training (kept by the page's store, never uploaded). */
  readonly personal?: PersonalWeights;
  /** The update stayed in the worker (a secure round): `delta` is empty. */
  readonly kept?: boolean;
}

/** Which backends can start in this worker, and why the others cannot. */
export interface BackendProbe {
  readonly usable: readonly BackendId[];
  /** Backend id → why it is not available here (no adapter, no WebGL2 context, …). */
  readonly unusable: Readonly<Partial<Record<BackendId, string>>>;
}

/** What the trainer worker exposes through comlink. */
export interface TrainerWorkerApi {
  /** Builds the model and picks the backend (measured trial, cached per device and model). */
  prepare(setup: TrainerSetup): Promise<BackendChoice>;
  train(request: WorkerTrainRequest, onProgress?: (progress: TrainProgress) => void): Promise<WorkerTrainResult>;
  /** Stops the training of `roundId` soon; its train() rejects with ROUND_CLOSED. */
  cancel(roundId: string, reason: string): void;
  /**
   * Downloads a dataset shard (the CHDS format of @chorus/ml) and stores its examples for the task,
   * decoding in the worker so the page stays responsive. Does nothing when the task already has
   * shard examples. Resolves with the number of shard examples stored.
   */
  importShard(taskId: string, url: string, dbName: string): Promise<number>;
  /** Throughput of each listed backend on the set-up model, without choosing (benchmarks). */
  measure(backends: readonly BackendId[], batchSize: number, batches: number): Promise<BackendMeasurement[]>;
  /** Which of `backends` this worker could start, without starting any (device checks, tests). */
  probe(backends: readonly BackendId[]): Promise<BackendProbe>;
  /**
   * Keep this worker's databases in memory (the page could not use IndexedDB: a partner's frame with
   * third-party storage blocked). Call before anything else; examples then live only here.
   */
  useMemoryStorage(): Promise<void>;
  /** The task's examples, stored in this worker's database (the page's own store when it cannot keep data). */
  addExamples(taskId: string, examples: readonly { x: Float32Array; y: number }[], source: ExampleSource, dbName: string): Promise<number>;
  countExamples(taskId: string, numClasses: number, dbName: string): Promise<ExampleCounts>;
  deleteExamples(taskId: string, dbName: string): Promise<void>;
  // A secure round's participant computation (SecAgg+), in the worker: private keys and the
  // unmasked update never cross to the page (see SecureComputation).
  secureBegin(roundId: string, setup: unknown, id: number): Promise<AdvertiseKeys>;
  secureShare(roundId: string, keys: NeighbourKeys): Promise<ShareKeys>;
  /** `update` undefined: the one train() kept for this round. */
  secureMask(roundId: string, shares: IncomingShares, update: Float32Array | undefined, numExamples: number): Promise<MaskedInput>;
  secureUnmask(roundId: string, request: UnmaskingRequest): Promise<UnmaskingResponse>;
  secureEnd(roundId: string): Promise<void>;
}

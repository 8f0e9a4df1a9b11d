import { proxy, releaseProxy, wrap, type Remote } from 'comlink';
import { ChorusError, type FlatWeights, type RoundInvite } from '@chorus/core';
import type { KeepForSecureRound, PersonalTrainInput, RoundTrainer, TrainResult } from '../session/round-runner.js';
import type { SecureComputation } from '../session/secure-computation.js';
import type { ExampleStore } from '../storage/example-store.js';
import type { BackendMeasurement } from '../storage/participant-db.js';
import type { BackendChoice, BackendId, BackendProbe, TrainerSetup, TrainerWorkerApi, TrainProgress } from './trainer-protocol.js';
import { installWorkerErrorTransfer } from './worker-errors.js';

export interface TrainerTask {
  readonly taskId: string;
  /** The model: its Keras JSON topology, or a template id of @chorus/ml. */
  readonly topology?: unknown;
  readonly templateId?: string;
  readonly inputShape: readonly number[];
  readonly numClasses: number;
}

export interface WorkerTrainerOptions {
  /** IndexedDB database with the participant's examples. */
  readonly dbName: string;
  /** Folder URL of the tfjs wasm binaries. @default `${location.origin}/tfjs-wasm/` */
  readonly wasmBaseUrl?: string;
  readonly forceBackend?: BackendId;
  /** Share of CPU time training may use (0 < d ≤ 1); the worker rests after each batch. @default 1 */
  readonly dutyCycle?: number;
  /** Makes the worker; bundlers need to see `new Worker(new URL(...))` to bundle it. */
  readonly createWorker?: () => Worker;
  /** The worker keeps its databases in memory (the page cannot use IndexedDB). @default false */
  readonly memoryStorage?: boolean;
}

/** The session's RoundTrainer, run in a Web Worker: the page thread only sends and receives messages. */
export interface WorkerTrainer extends RoundTrainer {
  /** Secure rounds' participant computation, in the worker (keys and the update stay there). */
  readonly secure: SecureComputation;
  /** Builds the model in the worker and picks (or measures) the backend. */
  prepare(task: TrainerTask, options?: Pick<TrainerSetup, 'remeasure' | 'trialBatches' | 'trialBatchSize' | 'wasmThreads'>): Promise<BackendChoice>;
  /** Epoch and batch progress of the training in flight. */
  onTrainProgress(listener: (p: TrainProgress & { roundId: string }) => void): () => void;
  /** Samples per second of the latest training (or of the trial before any). */
  readonly samplesPerSecond: number;
  readonly backend: BackendId | undefined;
  measure(backends: readonly BackendId[], batchSize: number, batches: number): Promise<BackendMeasurement[]>;
  /** See TrainerWorkerApi.probe. */
  probe(backends: readonly BackendId[]): Promise<BackendProbe>;
  /** See TrainerWorkerApi.importShard. */
  importShard(taskId: string, url: string): Promise<number>;
  /** The examples the worker trains on, kept in its own database (see TrainerWorkerApi.addExamples). */
  readonly examples: ExampleStore;
  terminate(): void;
}

export function defaultTrainerWorker(): Worker {
  return new Worker(new URL('./trainer-worker.ts', import.meta.url), { type: 'module', name: 'chorus-trainer' });
}

export function createWorkerTrainer(options: WorkerTrainerOptions): WorkerTrainer {
  installWorkerErrorTransfer();
  const worker = (options.createWorker ?? defaultTrainerWorker)();
  const remote: Remote<TrainerWorkerApi> = wrap<TrainerWorkerApi>(worker);
  const listeners = new Set<(p: TrainProgress & { roundId: string }) => void>();
  let backend: BackendId | undefined;
  let samplesPerSecond = 0;
  let crashed: ChorusError | undefined;
  worker.addEventListener('error', (event) => {
    // A worker that fails to load (bad script, missing module) never answers: say so instead of hanging.
    crashed = new ChorusError('INTERNAL', `the training worker failed: ${event.message || 'it could not start'}`);
  });
  // In memory mode every call waits until the worker has swapped its IndexedDB for the in-memory one.
  const storageReady = options.memoryStorage ? remote.useMemoryStorage() : Promise.resolve();
  const guard = async <T>(p: () => Promise<T>): Promise<T> => {
    if (crashed) throw crashed;
    await storageReady;
    return p();
  };

  return {
    async prepare(task, extra = {}) {
      const wasmBaseUrl = options.wasmBaseUrl ?? `${globalThis.location.origin}/tfjs-wasm/`;
      const choice = await guard(() =>
        remote.prepare({ ...task, ...extra, dbName: options.dbName, wasmBaseUrl, ...(options.forceBackend ? { forceBackend: options.forceBackend } : {}) }),
      );
      backend = choice.backend;
      samplesPerSecond = choice.samplesPerSecond;
      return choice;
    },

    secure: {
      begin: (roundId, setup, id) => guard(() => remote.secureBegin(roundId, setup, id)),
      share: (roundId, keys) => guard(() => remote.secureShare(roundId, keys)),
      mask: (roundId, shares, update, numExamples) => guard(() => remote.secureMask(roundId, shares, update, numExamples)),
      unmask: (roundId, request) => guard(() => remote.secureUnmask(roundId, request)),
      end: (roundId) => guard(() => remote.secureEnd(roundId)),
    },

    async train(invite: RoundInvite, global: FlatWeights, signal: AbortSignal, onProgress?: (fraction: number) => void, personal?: PersonalTrainInput, keep?: KeepForSecureRound): Promise<TrainResult> {
      if (signal.aborted) throw ChorusError.from(signal.reason);
      const onAbort = (): void => void remote.cancel(invite.roundId, String(signal.reason instanceof Error ? signal.reason.message : signal.reason));
      signal.addEventListener('abort', onAbort, { once: true });
      const progress = proxy((p: TrainProgress) => {
        onProgress?.(p.fraction);
        for (const l of listeners) l({ ...p, roundId: invite.roundId });
      });
      try {
        const result = await guard(() =>
          remote.train(
            { taskId: invite.taskId, roundId: invite.roundId, layout: global.layout, globalValues: global.values, training: invite.training, seed: invite.round, ...(options.dutyCycle !== undefined ? { dutyCycle: options.dutyCycle } : {}), ...(personal ? { personal } : {}), ...(keep ? { keep } : {}) },
            progress,
          ),
        );
        samplesPerSecond = result.samplesPerSecond;
        backend = result.backend;
        return { delta: result.delta, numExamples: result.numExamples, metrics: result.metrics, ...(result.personal ? { personal: result.personal } : {}), ...(result.kept ? { kept: true } : {}) };
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
    },

    onTrainProgress(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    get samplesPerSecond() {
      return samplesPerSecond;
    },
    get backend() {
      return backend;
    },
    measure: (backends, batchSize, batches) => guard(() => remote.measure(backends, batchSize, batches)),
    probe: (backends) => guard(() => remote.probe(backends)),
    importShard: (taskId, url) => guard(() => remote.importShard(taskId, new URL(url, globalThis.location?.href).href, options.dbName)),
    examples: {
      add: (taskId, examples, source) => guard(() => remote.addExamples(taskId, examples.map((e) => ({ x: e.x, y: e.y })), source, options.dbName)),
      count: (taskId, numClasses = 0) => guard(() => remote.countExamples(taskId, numClasses, options.dbName)),
      load: () => Promise.reject(new ChorusError('BAD_REQUEST', 'examples.load: the worker trains on its own examples; they are not sent to the page')),
      deleteAll: (taskId) => guard(() => remote.deleteExamples(taskId, options.dbName)),
    },
    terminate() {
      remote[releaseProxy]();
      worker.terminate();
    },
  };
}

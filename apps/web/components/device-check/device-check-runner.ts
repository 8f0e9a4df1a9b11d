'use client';

import { createSeededRandom } from '@chorus/core';
import { createWorkerTrainer, openParticipantStorage, type BackendId, type BackendMeasurement, type BackendProbe, type WorkerTrainer } from '@chorus/client';

const DB = 'chorus-device-check';

export interface RoundTiming {
  readonly round: number;
  readonly ms: number;
  readonly samplesPerSecond: number;
  readonly deltaNorm: number;
}

/** The data shape a template is built for in a check. */
export interface CheckShape {
  readonly inputShape: readonly number[];
  readonly numClasses: number;
}

/** MNIST's digits: what the page's own table and the browser bench's 2NN and CNN measure. */
const MNIST_SHAPE: CheckShape = { inputShape: [28, 28, 1], numClasses: 10 };

export interface MeasureOptions {
  /** false starts wasm single-threaded even where the page could use threads. */
  readonly wasmThreads?: boolean;
  /** The data shape to build the template for (nextword-gru: `{ inputShape: [8], numClasses: 256 }`). @default MNIST's 28×28×1, 10 classes */
  readonly shape?: CheckShape;
}

export interface TemplateTrainOptions {
  /** The data shape the template is built for (features of tabular-mlp, vocabulary of spam-bow). */
  readonly inputShape: readonly number[];
  readonly numClasses: number;
  /** Synthetic examples (seeded, labels cycling through the classes, separable) every round trains on. */
  readonly examples: number;
  readonly batchSize: number;
  /** Rounds chained on the same examples, each starting from the weights the previous one ended with. */
  readonly rounds: number;
  readonly learningRate: number;
  /** Starting weights are seeded uniform in ±initScale (small layers need more than large ones to learn quickly). @default 0.05 */
  readonly initScale?: number;
  /** Features are token ids (nextword-gru's embedding): feature j of an example labelled y is the id (y + j) mod classes. @default false */
  readonly idInputs?: boolean;
}

export interface TemplateTrainRound {
  /** The backend the worker reports tfjs trained on. */
  readonly backend: BackendId;
  /** Mean training loss of the round's batches. */
  readonly loss: number;
  readonly samplesPerSecond: number;
  readonly deltaLength: number;
  readonly nonFiniteDeltas: number;
  readonly nonZeroDeltas: number;
}

export interface TemplateTrainCheck {
  readonly templateId: string;
  readonly requested: BackendId;
  /** Weights of the model the worker built. */
  readonly parameters: number;
  readonly rounds: readonly TemplateTrainRound[];
}

export interface DeviceCheck {
  /** Throughput of each backend on a model template (synthetic data, the rounds' training loop). */
  measure(templateId: string, backends: readonly BackendId[], batchSize: number, batches: number, options?: MeasureOptions): Promise<BackendMeasurement[]>;
  /** Whether the page and its trainer worker are cross-origin isolated (what threaded wasm needs), and the threads wasm starts with there. */
  isolation(): Promise<{ page: boolean; worker: boolean; wasmThreads: number; wasmVariantReason: string }>;
  /** Which backend the automatic trial picks, measured afresh, for the template built for `shape` (@default MNIST's). */
  trial(templateId: string, shape?: CheckShape): Promise<{ backend: BackendId; measurements: readonly BackendMeasurement[] }>;
  /** Trains `rounds` rounds of real local training (a demo MNIST shard) on one backend, like a participant. */
  trainRounds(templateId: string, backend: BackendId | undefined, rounds: number): Promise<RoundTiming[]>;
  /** Which backends the trainer worker can start here, and why the others cannot. */
  probe(backends: readonly BackendId[]): Promise<BackendProbe>;
  /** Trains a model template on one forced backend with synthetic data, round after round, in the real worker. */
  trainTemplate(templateId: string, backend: BackendId, options: TemplateTrainOptions): Promise<TemplateTrainCheck>;
}

/** Runs each check in a fresh worker, so one backend's state cannot slow the next check. */
async function withTrainer<T>(forceBackend: BackendId | undefined, fn: (t: WorkerTrainer) => Promise<T>): Promise<T> {
  const trainer = createWorkerTrainer({ dbName: DB, ...(forceBackend ? { forceBackend } : {}) });
  try {
    return await fn(trainer);
  } finally {
    trainer.terminate();
  }
}

function invite(taskId: string, round: number, batchSize: number, learningRate: number) {
  return {
    taskId,
    roundId: `r${round}`,
    round,
    version: round - 1,
    deadline: Date.now() + 600_000,
    codec: 'int8' as const,
    training: { localEpochs: 1, batchSize, optimizer: 'sgd' as const, learningRate, proxMu: 0, maxExamples: 0, overrides: {} },
  };
}

async function storeSyntheticExamples(taskId: string, options: TemplateTrainOptions): Promise<void> {
  const size = options.inputShape.reduce((a, b) => a * b, 1);
  const random = createSeededRandom(options.examples);
  // Features whose index ≡ label (mod classes) are raised, so the classes can be told apart and a few steps lower the loss.
  // Id inputs: each label has its own id sequence.
  const rows = Array.from({ length: options.examples }, (_, i) => {
    const y = i % options.numClasses;
    const feature = options.idInputs ? (j: number) => (y + j) % options.numClasses : (j: number) => random() * 0.5 + (j % options.numClasses === y ? 0.5 : 0);
    return { x: Float32Array.from({ length: size }, (_, j) => feature(j)), y };
  });
  const storage = await openParticipantStorage(DB);
  try {
    await storage.examples.deleteAll(taskId);
    await storage.examples.add(taskId, rows, 'imported');
  } finally {
    storage.close();
  }
}

async function trainTemplate(templateId: string, backend: BackendId, options: TemplateTrainOptions): Promise<TemplateTrainCheck> {
  const taskId = `train-check-${templateId}-${options.inputShape.join('x')}-${options.numClasses}${options.idInputs ? '-ids' : ''}`;
  await storeSyntheticExamples(taskId, options);
  return withTrainer(backend, async (t) => {
    const { parameters } = await t.prepare({ taskId, templateId, inputShape: options.inputShape, numClasses: options.numClasses });
    const random = createSeededRandom(2);
    const scale = options.initScale ?? 0.05;
    const values = Float32Array.from({ length: parameters }, () => (random() * 2 - 1) * scale);
    const layout = [{ name: 'all', shape: [parameters] }];
    const rounds: TemplateTrainRound[] = [];
    for (let round = 1; round <= options.rounds; round++) {
      const result = await t.train(invite(taskId, round, options.batchSize, options.learningRate), { layout, values: values.slice() }, new AbortController().signal);
      let nonFiniteDeltas = 0;
      let nonZeroDeltas = 0;
      for (let i = 0; i < result.delta.length; i++) {
        const d = result.delta[i]!;
        if (!Number.isFinite(d)) nonFiniteDeltas++;
        else if (d !== 0) nonZeroDeltas++;
        if (i < values.length) values[i]! += d;
      }
      const loss = result.metrics.loss ?? Number.NaN;
      rounds.push({ backend: t.backend!, loss, samplesPerSecond: t.samplesPerSecond, deltaLength: result.delta.length, nonFiniteDeltas, nonZeroDeltas });
    }
    return { templateId, requested: backend, parameters, rounds };
  });
}

export function createDeviceCheck(): DeviceCheck {
  return {
    probe: (backends) => withTrainer(undefined, (t) => t.probe(backends)),
    trainTemplate,
    measure: (templateId, backends, batchSize, batches, options = {}) =>
      withTrainer('cpu', async (t) => {
        const { inputShape, numClasses } = options.shape ?? MNIST_SHAPE;
        await t.prepare({ taskId: 'device-check', templateId, inputShape, numClasses }, options.wasmThreads === false ? { wasmThreads: false } : {});
        return t.measure(backends, batchSize, batches);
      }),
    isolation: () =>
      withTrainer('wasm', async (t) => {
        const choice = await t.prepare({ taskId: 'device-check', templateId: 'mnist-2nn', ...MNIST_SHAPE });
        return { page: globalThis.crossOriginIsolated === true, worker: choice.crossOriginIsolated, wasmThreads: choice.wasmThreads, wasmVariantReason: choice.wasmVariantReason };
      }),
    trial: (templateId, shape = MNIST_SHAPE) =>
      withTrainer(undefined, async (t) => {
        const choice = await t.prepare({ taskId: 'device-check', templateId, inputShape: shape.inputShape, numClasses: shape.numClasses }, { remeasure: true });
        return { backend: choice.backend, measurements: choice.measurements };
      }),
    trainRounds: (templateId, backend, rounds) =>
      withTrainer(backend, async (t) => {
        const taskId = `device-check-${templateId}`;
        await t.importShard(taskId, '/data/mnist/shard-000.bin');
        const { parameters } = await t.prepare({ taskId, templateId, ...MNIST_SHAPE });
        // The same seeded start on every backend, so their deltas can be compared as well as timed.
        const random = createSeededRandom(1);
        const values = Float32Array.from({ length: parameters }, () => (random() - 0.5) * 0.1);
        const global = { layout: [{ name: 'all', shape: [parameters] }], values };
        const out: RoundTiming[] = [];
        for (let round = 1; round <= rounds; round++) {
          const invite = {
            taskId,
            roundId: `r${round}`,
            round,
            version: round - 1,
            deadline: Date.now() + 600_000,
            codec: 'int8' as const,
            training: { localEpochs: 1, batchSize: 10, optimizer: 'sgd' as const, learningRate: 0.05, proxMu: 0, maxExamples: 0, overrides: {} },
          };
          const started = performance.now();
          const result = await t.train(invite, global, new AbortController().signal);
          let norm = 0;
          for (const v of result.delta) norm += v * v;
          out.push({ round, ms: performance.now() - started, samplesPerSecond: t.samplesPerSecond, deltaNorm: Math.sqrt(norm) });
        }
        return out;
      }),
  };
}

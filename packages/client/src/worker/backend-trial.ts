import * as tf from '@tensorflow/tfjs';
import { ChorusError, createSeededRandom, tensorSize, type Dataset, type TrainingConfig } from '@chorus/core';
import { modelFromTopology, trainLocal } from '@chorus/ml';
import type { BackendMeasurement } from '../storage/participant-db.js';
import { activateBackend } from './backend-loader.js';
import type { BackendId } from './trainer-protocol.js';

export interface TrialModel {
  readonly topology?: unknown;
  readonly inputShape: readonly number[];
  readonly numClasses: number;
}

export interface TrialOptions {
  readonly wasmBaseUrl: string;
  /** @default 10 */
  readonly batchSize?: number;
  /** Timed batches after one warm-up batch. @default 4 */
  readonly batches?: number;
  /** A backend whose warm-up alone takes longer is not timed further (its warm-up rate counts). @default 5_000 */
  readonly budgetMs?: number;
}

/**
 * Random inputs with labels cycling through the classes: the speed of training does not depend on
 * the values. With `ids` (a model that starts with an embedding of that many rows) the inputs are
 * random token ids below it, as a keyboard task's are: floats in [0, 1) would all truncate to id 0.
 */
export function syntheticDataset(model: TrialModel, count: number, ids?: number): Dataset {
  const random = createSeededRandom(count);
  const x = new Float32Array(count * tensorSize(model.inputShape));
  for (let i = 0; i < x.length; i++) x[i] = ids === undefined ? random() : Math.floor(random() * ids);
  const y = Uint8Array.from({ length: count }, (_, i) => i % model.numClasses);
  return { x, y, count, inputShape: [...model.inputShape], numClasses: model.numClasses };
}

/** Rows of the model's first layer when it is an embedding (its inputs are ids below that), else undefined. */
export function embeddingRows(model: tf.LayersModel): number | undefined {
  const first = model.layers[0];
  if (first?.getClassName() !== 'Embedding') return undefined;
  const rows = Number(first.getConfig().inputDim);
  return Number.isInteger(rows) && rows > 0 ? rows : undefined;
}

function trialConfig(batchSize: number): TrainingConfig {
  return { localEpochs: 1, batchSize, optimizer: 'sgd', learningRate: 0.01, proxMu: 0, maxExamples: 0 };
}

/**
 * Training throughput of one backend on the task's model: a warm-up batch (shader compilation,
 * wasm start-up) and then `batches` timed ones, through the same trainLocal the rounds use.
 * Never throws: a backend that fails measures 0 with the error kept.
 */
export async function measureBackend(backend: BackendId, model: TrialModel, options: TrialOptions): Promise<BackendMeasurement> {
  const batchSize = options.batchSize ?? 10;
  const batches = options.batches ?? 4;
  const budgetMs = options.budgetMs ?? 5_000;
  let built: tf.LayersModel | undefined;
  try {
    await activateBackend(backend, options.wasmBaseUrl);
    const threads = backend === 'wasm' ? { threads: Math.max(1, (await import('@tensorflow/tfjs-backend-wasm')).getThreadsCount()) } : {};
    built = await modelFromTopology(model.topology);
    const config = trialConfig(batchSize);
    const random = createSeededRandom(7);
    const ids = embeddingRows(built);
    const warmStart = performance.now();
    await trainLocal(built, syntheticDataset(model, batchSize, ids), config, { random });
    const warmMs = performance.now() - warmStart;
    if (warmMs > budgetMs) return { backend, samplesPerSecond: (batchSize * 1000) / warmMs, ...threads };
    const timed = syntheticDataset(model, batchSize * batches, ids);
    const start = performance.now();
    await trainLocal(built, timed, config, { random });
    const ms = performance.now() - start;
    return { backend, samplesPerSecond: ms > 0 ? (timed.count * 1000) / ms : 0, ...threads };
  } catch (err) {
    return { backend, samplesPerSecond: 0, error: err instanceof Error ? err.message : String(err) };
  } finally {
    built?.dispose();
  }
}

/** The fastest backend that worked; UNAVAILABLE naming every failure when none did. */
export function chooseBackend(measurements: readonly BackendMeasurement[]): BackendMeasurement {
  let best: BackendMeasurement | undefined;
  for (const m of measurements) if (m.samplesPerSecond > 0 && (!best || m.samplesPerSecond > best.samplesPerSecond)) best = m;
  if (!best) {
    const why = measurements.map((m) => `${m.backend}: ${m.error ?? 'no throughput'}`).join('; ');
    throw new ChorusError('UNAVAILABLE', `no tfjs backend could train this model here (${why || 'none tried'})`);
  }
  return best;
}

/** Short, stable key for a model topology (FNV-1a of its JSON). */
export function modelKey(topology: unknown): string {
  const text = JSON.stringify(topology);
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return `m${(h >>> 0).toString(16)}-${text.length}`;
}

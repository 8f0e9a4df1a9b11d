import * as tf from '@tensorflow/tfjs';
import { ChorusError, layoutSize, shuffleInPlace } from '@chorus/core';
import type { Dataset, RandomSource, TrainingConfig } from '@chorus/core';
import { modelLayout, writeModelWeights } from '../models/model-weights.js';
import { assertDatasetFitsModel, countCorrect, crossEntropy, gatherBatch } from './batches.js';
import type { AfterBatch } from './duty-cycle.js';
import { resolveTrainingOptions } from './training-options.js';
import type { TrainingOverrides } from './training-options.js';
import { yieldToEventLoop } from './yield-to-event-loop.js';

export interface LocalTrainingProgress {
  epoch: number;
  epochs: number;
  batch: number;
  batches: number;
  /** Mean loss of this batch (with the proximal term when FedProx is on). */
  loss: number;
}

export interface LocalTrainingResult {
  /** Weights after minus weights before, flat, in layout order. */
  delta: Float32Array;
  numExamples: number;
  /** loss/accuracy: over the last epoch's batches, as the model was while training on them. */
  metrics: { loss: number; accuracy: number; trainMs: number; samplesPerSecond: number };
}

export interface LocalTrainingOptions {
  /** Drives shuffling and the maxExamples subset. @default Math.random */
  random?: RandomSource;
  onProgress?: (p: LocalTrainingProgress) => void;
  /** Aborting restores the model's starting weights and rejects with UNAVAILABLE. */
  signal?: AbortSignal;
  /**
   * Awaited after every batch, with that batch's busy time: a CPU duty cycle rests here (see
   * dutyCyclePause). Time spent in it is not training time: metrics.trainMs and samplesPerSecond
   * leave it out, so they still describe the device.
   */
  afterBatch?: AfterBatch;
  /**
   * Where the proximal term (proxMu > 0) pulls: a flat vector over the model's layout. Default: the
   * weights training starts from (FedProx). Ditto's personal model starts from its own weights and
   * is pulled towards the downloaded global model.
   */
  proxAnchor?: Float32Array;
}

/** The examples this round trains on: all of them, or a random `maxExamples` subset. */
function pickExamples(count: number, maxExamples: number, random: RandomSource): Int32Array {
  const all = Int32Array.from({ length: count }, (_, i) => i);
  if (maxExamples === 0 || maxExamples >= count) return all;
  shuffleInPlace(all, random);
  return all.slice(0, maxExamples);
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new ChorusError('UNAVAILABLE', 'local training was aborted', { cause: signal.reason });
}

/** Copies of the trainable variables as they are at `anchor` (or now); the model is left at `start`. */
function proxTargets(model: tf.LayersModel, vars: readonly tf.Variable[], start: readonly tf.Tensor[], anchor: Float32Array | undefined): tf.Tensor[] {
  if (!anchor) return vars.map((v) => tf.clone(v));
  writeModelWeights(model, anchor);
  const targets = vars.map((v) => tf.clone(v));
  model.setWeights([...start]);
  return targets;
}

/**
 * Weights now minus `start`, flat in layout order, computed on the backend and read back once. Every
 * fresh multi-megabyte array costs its page faults (about 2.5 ms per MB measured on a VM; Chromium
 * maps such arrays afresh each time), so reading the weights before and after into JS and
 * subtracting there cost the CNN ~5 of them per call: one read is what is left.
 */
async function readDelta(model: tf.LayersModel, start: readonly tf.Tensor[]): Promise<Float32Array> {
  const flat = tf.tidy(() => tf.concat(model.weights.map((w, i) => tf.sub(w.read(), start[i]!).reshape([-1]))));
  try {
    return (await flat.data()) as Float32Array;
  } finally {
    flat.dispose();
  }
}

/**
 * E epochs of minibatch SGD/Adam on local data, FedAvg-style; with proxMu > 0 the loss gains
 * FedProx's (mu/2)·‖w − w_global‖², which is why this is a custom loop and not model.fit.
 */
export async function trainLocal(
  model: tf.LayersModel,
  data: Dataset,
  config: TrainingConfig & { overrides?: TrainingOverrides },
  options: LocalTrainingOptions = {},
): Promise<LocalTrainingResult> {
  const opts = resolveTrainingOptions(config);
  if (data.count === 0) throw new ChorusError('INVALID_CONFIG', 'trainLocal: the dataset has no examples');
  assertDatasetFitsModel(model, data, 'trainLocal');
  const random = options.random ?? Math.random;
  throwIfAborted(options.signal);

  if (options.proxAnchor) {
    const size = layoutSize(modelLayout(model));
    if (options.proxAnchor.length !== size) throw new ChorusError('SHAPE_MISMATCH', `trainLocal: proxAnchor holds ${options.proxAnchor.length} values; the model holds ${size}`);
  }

  // The starting weights stay on the backend: a clone shares the data, and the optimizer assigns
  // new tensors to the variables rather than writing into these.
  const start = model.weights.map((w) => tf.clone(w.read()));
  const examples = pickExamples(data.count, opts.maxExamples, random);
  const n = examples.length;
  const batchSize = Math.min(opts.batchSize, n);
  const batches = Math.ceil(n / batchSize);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const globals = opts.proxMu > 0 ? proxTargets(model, vars, start, options.proxAnchor) : [];
  const optimizer = opts.optimizer === 'adam' ? tf.train.adam(opts.learningRate) : tf.train.sgd(opts.learningRate);

  const started = performance.now();
  let lossSum = 0;
  let correct = 0;
  let completed = false;
  let restedMs = 0;
  try {
    for (let epoch = 0; epoch < opts.localEpochs; epoch++) {
      shuffleInPlace(examples, random);
      lossSum = 0;
      correct = 0;
      for (let b = 0; b < batches; b++) {
        throwIfAborted(options.signal);
        const batchStarted = performance.now();
        const start = b * batchSize;
        const end = Math.min(n, start + batchSize);
        const [loss, right] = tf.tidy(() => {
          const { x, y } = gatherBatch(data, examples, start, end);
          const labels = tf.oneHot(y, data.numClasses);
          let batchCorrect: tf.Scalar | undefined;
          const { value, grads } = tf.variableGrads(() => {
            const probs = model.apply(x, { training: true }) as tf.Tensor;
            batchCorrect = tf.keep(countCorrect(y, probs));
            const fit = crossEntropy(labels, probs);
            if (globals.length === 0) return fit;
            const drift = tf.addN(vars.map((v, i) => tf.sum(tf.squaredDifference(v, globals[i]!))));
            return tf.add(fit, tf.mul(opts.proxMu / 2, drift));
          }, vars);
          // tfjs types applyGradients' map as variables; it only reads the gradients by variable name.
          optimizer.applyGradients(grads as unknown as Record<string, tf.Variable>);
          return [value, batchCorrect!];
        });
        const [l, r] = await Promise.all([loss.data(), right.data()]);
        tf.dispose([loss, right]);
        lossSum += l[0]! * (end - start);
        correct += r[0]!;
        options.onProgress?.({ epoch: epoch + 1, epochs: opts.localEpochs, batch: b + 1, batches, loss: l[0]! });
        await yieldToEventLoop();
        if (options.afterBatch) {
          const restStarted = performance.now();
          await options.afterBatch({ epoch: epoch + 1, batch: b + 1, batchMs: restStarted - batchStarted });
          restedMs += performance.now() - restStarted;
        }
      }
    }
    completed = true;
  } finally {
    optimizer.dispose();
    tf.dispose(globals);
    // A half-trained model must not leak into the caller's next round.
    if (!completed) {
      model.setWeights(start);
      tf.dispose(start);
    }
  }
  const trainMs = performance.now() - started - restedMs;

  let delta: Float32Array;
  try {
    delta = await readDelta(model, start);
  } finally {
    tf.dispose(start);
  }
  return {
    delta,
    numExamples: n,
    metrics: {
      loss: lossSum / n,
      accuracy: correct / n,
      trainMs,
      samplesPerSecond: trainMs > 0 ? (n * opts.localEpochs * 1000) / trainMs : 0,
    },
  };
}

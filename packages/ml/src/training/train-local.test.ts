import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChorusError, createSeededRandom, subsetDataset, trainingConfigSchema } from '@chorus/core';
import type { Dataset, TrainingConfig } from '@chorus/core';
import { createInitialModel, modelFromTopology, readModelWeights } from '../models/model-weights.js';
import { initNodeBackend } from '../node/node-backend.js';
import { loadMnist } from '../node/mnist.js';
import { evaluateModel } from './evaluate.js';
import { trainLocal } from './train-local.js';
import type { LocalTrainingProgress } from './train-local.js';

let small: Dataset;
const config = (over: Partial<TrainingConfig> = {}): TrainingConfig => trainingConfigSchema.parse({ batchSize: 10, learningRate: 0.1, ...over });

async function freshModel(templateId: string, seed = 1): Promise<tf.LayersModel> {
  const init = await createInitialModel(templateId, seed);
  return modelFromTopology(init.topology, init.weights);
}

function norm(v: Float32Array): number {
  let s = 0;
  for (const x of v) s += x * x;
  return Math.sqrt(s);
}

beforeAll(async () => {
  await initNodeBackend('wasm');
  const { train } = loadMnist(1);
  small = subsetDataset(train, Int32Array.from({ length: 100 }, (_, i) => i));
});

afterAll(async () => {
  await initNodeBackend('wasm');
});

describe('trainLocal', () => {
  it.each([
    ['mnist-2nn', 'wasm', 3, 0.8],
    ['mnist-2nn', 'cpu', 3, 0.8],
    ['mnist-cnn', 'wasm', 3, 0.95],
  ] as const)('%s on %s lowers the loss, returns after − before and leaks no tensors', async (templateId, backend, epochs, lossRatio) => {
    await initNodeBackend(backend);
    const data = templateId === 'mnist-cnn' ? subsetDataset(small, Int32Array.from({ length: 40 }, (_, i) => i)) : small;
    const model = await freshModel(templateId);
    const before = readModelWeights(model).values;
    const lossBefore = (await evaluateModel(model, data)).loss;
    const tensorsBefore = tf.memory().numTensors;

    const result = await trainLocal(model, data, config({ localEpochs: epochs }), { random: createSeededRandom(1) });

    const after = readModelWeights(model).values;
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect((await evaluateModel(model, data)).loss).toBeLessThan(lossBefore * lossRatio);
    expect(result.numExamples).toBe(data.count);
    expect(result.delta.length).toBe(before.length);
    expect([0, 1000, before.length - 1].map((i) => result.delta[i])).toEqual([0, 1000, before.length - 1].map((i) => Math.fround(after[i]! - before[i]!)));
    expect(norm(result.delta)).toBeGreaterThan(0);
    expect(result.metrics.samplesPerSecond).toBeGreaterThan(0);
    model.dispose();
  });

  it('is deterministic for a seed', async () => {
    const a = await trainLocal(await freshModel('mnist-2nn'), small, config(), { random: createSeededRandom(4) });
    const b = await trainLocal(await freshModel('mnist-2nn'), small, config(), { random: createSeededRandom(4) });
    const c = await trainLocal(await freshModel('mnist-2nn'), small, config(), { random: createSeededRandom(5) });

    // The output layer's weights: every one of them moves (the first layer's border-pixel weights do not).
    const tail = (d: Float32Array) => Array.from(d.subarray(d.length - 2010));
    expect(tail(a.delta)).toEqual(tail(b.delta));
    expect(tail(a.delta)).not.toEqual(tail(c.delta));
  });

  it('runs full-batch (FedSGD) when batchSize ≥ the example count, and honours maxExamples', async () => {
    const seen: LocalTrainingProgress[] = [];

    const full = await trainLocal(await freshModel('mnist-2nn'), small, config({ batchSize: 4096, localEpochs: 2 }), { onProgress: (p) => seen.push(p) });
    const capped = await trainLocal(await freshModel('mnist-2nn'), small, config({ maxExamples: 30 }));

    expect(seen.map((p) => [p.epoch, p.batch, p.batches])).toEqual([[1, 1, 1], [2, 1, 1]]);
    expect(full.numExamples).toBe(100);
    expect(capped.numExamples).toBe(30);
  });

  it('FedProx (proxMu, also via overrides) keeps the update closer to the global model', async () => {
    const run = async (cfg: Parameters<typeof trainLocal>[2]) =>
      trainLocal(await freshModel('mnist-2nn'), small, cfg, { random: createSeededRandom(2) });
    const tensorsBefore = tf.memory().numTensors;

    const plain = await run(config({ localEpochs: 2 }));
    const prox = await run(config({ localEpochs: 2, proxMu: 5 }));
    const viaOverride = await run({ ...config({ localEpochs: 2 }), overrides: { proxMu: 5 } });

    expect(norm(prox.delta)).toBeLessThan(norm(plain.delta) * 0.8);
    expect(Array.from(viaOverride.delta.subarray(0, 500))).toEqual(Array.from(prox.delta.subarray(0, 500)));
    // Models are disposed by nobody here: only the three models' own weights may remain.
    expect(tf.memory().numTensors - tensorsBefore).toBe(3 * 6);
  });

  it('trains with adam without leaking its slot variables', async () => {
    const model = await freshModel('mnist-2nn');
    const lossBefore = (await evaluateModel(model, small)).loss;
    const tensorsBefore = tf.memory().numTensors;

    await trainLocal(model, small, config({ optimizer: 'adam', learningRate: 0.001, localEpochs: 2 }));

    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect((await evaluateModel(model, small)).loss).toBeLessThan(lossBefore * 0.8);
    model.dispose();
  });

  it('yields between batches, so an abort from a timer stops it with UNAVAILABLE and puts the starting weights back', async () => {
    const model = await freshModel('mnist-2nn');
    const before = readModelWeights(model).values;
    const controller = new AbortController();
    const tensorsBefore = tf.memory().numTensors;
    let batchesDone = 0;

    const pending = trainLocal(model, small, config({ localEpochs: 50 }), { signal: controller.signal, onProgress: () => batchesDone++ });
    setTimeout(() => controller.abort(), 5);
    const err = await pending.catch((e: unknown) => e as ChorusError);

    expect(err).toBeInstanceOf(ChorusError);
    expect((err as ChorusError).code).toBe('UNAVAILABLE');
    expect(batchesDone).toBeGreaterThan(0);
    expect(batchesDone).toBeLessThan(500);
    expect(Array.from(readModelWeights(model).values.subarray(-2010))).toEqual(Array.from(before.subarray(-2010)));
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    model.dispose();
  });

  it('rejects bad options with INVALID_CONFIG and mismatched data with SHAPE_MISMATCH', async () => {
    const model = await freshModel('mnist-2nn');
    const threeClasses: Dataset = { ...small, numClasses: 3 };

    await expect(trainLocal(model, small, { ...config(), overrides: { batchSize: 0 } })).rejects.toMatchObject({ code: 'INVALID_CONFIG', message: expect.stringContaining('batchSize') });
    await expect(trainLocal(model, small, { ...config(), overrides: { optimizer: 'rmsprop' } })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
    await expect(trainLocal(model, threeClasses, config())).rejects.toMatchObject({ code: 'SHAPE_MISMATCH' });
    model.dispose();
  });
});

describe('evaluateModel', () => {
  it('gives loss ln(10) and the share of label 0 for a model whose outputs are uniform', async () => {
    const init = await createInitialModel('mnist-2nn', 1);
    const model = await modelFromTopology(init.topology, new Float32Array(init.weights.length));
    const zeros = Array.from(small.y).filter((y) => y === 0).length;

    const { accuracy, loss } = await evaluateModel(model, small, 32);

    // Ties in argMax go to class 0.
    expect(accuracy).toBe(zeros / small.count);
    expect(loss).toBeCloseTo(Math.log(10), 5);
    model.dispose();
  });
});

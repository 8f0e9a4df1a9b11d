import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createSeededRandom, subsetDataset, trainingConfigSchema, type Dataset, type FlatWeights, type PersonalizationInfo } from '@chorus/core';
import { modelLayout, readModelWeights, seededGlorotWeights, writeModelWeights } from '../models/model-weights.js';
import { initNodeBackend } from '../node/node-backend.js';
import { holdoutIndices } from './holdout.js';
import { trainLocal } from './train-local.js';
import { trainPersonalized } from './train-personalized.js';

beforeAll(async () => {
  await initNodeBackend('cpu');
});

/** One softmax layer, 2 inputs → 2 classes: kernel [[k00, k01], [k10, k11]], bias [b0, b1] (6 values). */
function softmaxModel(): tf.LayersModel {
  return tf.sequential({ layers: [tf.layers.dense({ name: 'output', inputShape: [2], units: 2, activation: 'softmax' })] });
}

/**
 * The expected SGD step, in float64 and by hand: the gradient of the mean cross-entropy of a
 * softmax layer is Σᵢ xᵢ(pᵢ − yᵢ)ᵀ / n for the kernel and Σᵢ (pᵢ − yᵢ) / n for the bias; the
 * proximal term (λ/2)‖v − w‖² adds λ(v − w).
 */
function expectedStep(v: number[], w: number[], x: number[][], y: number[], lr: number, lambda: number): number[] {
  const grad = [0, 0, 0, 0, 0, 0];
  for (let i = 0; i < x.length; i++) {
    const [x0, x1] = x[i]!;
    const z = [x0! * v[0]! + x1! * v[2]! + v[4]!, x0! * v[1]! + x1! * v[3]! + v[5]!];
    const m = Math.max(z[0]!, z[1]!);
    const e = z.map((zj) => Math.exp(zj - m));
    const p = e.map((ej) => ej / (e[0]! + e[1]!));
    const d = p.map((pj, j) => (pj - (y[i] === j ? 1 : 0)) / x.length);
    // kernel is row-major [input][unit]
    grad[0]! += x0! * d[0]!;
    grad[1]! += x0! * d[1]!;
    grad[2]! += x1! * d[0]!;
    grad[3]! += x1! * d[1]!;
    grad[4]! += d[0]!;
    grad[5]! += d[1]!;
  }
  return v.map((vi, k) => vi - lr * (grad[k]! + lambda * (vi - w[k]!)));
}

describe('trainLocal with a proximal anchor (the gradient of Ditto’s personal model)', () => {
  const x = [
    [1, -2],
    [0.5, 3],
  ];
  const y = [0, 1];
  const data: Dataset = { x: Float32Array.from(x.flat()), y: Uint8Array.from(y), count: 2, inputShape: [2], numClasses: 2 };
  const v = [0.3, -0.1, 0.2, 0.4, 0.05, -0.05];
  const w = [-0.2, 0.5, 0.1, -0.3, 0.2, 0.1];
  // One full batch, one step: the update is exactly −lr·(∇f(v) + λ(v − w)).
  const training = trainingConfigSchema.parse({ batchSize: 2, learningRate: 0.5, localEpochs: 1 });

  it.each([0, 2, 10])('λ = %d: one SGD step moves v by −lr·(∇f(v) + λ(v − w)), w the anchor, not the start', async (lambda) => {
    // Prepare
    const model = softmaxModel();
    writeModelWeights(model, Float32Array.from(v));
    // Execute
    const r = await trainLocal(model, data, { ...training, overrides: { proxMu: lambda } }, { random: createSeededRandom(1), proxAnchor: Float32Array.from(w) });
    // Assert
    const got = [...readModelWeights(model).values];
    const want = expectedStep(v, w, x, y, 0.5, lambda);
    got.forEach((g, k) => expect(g).toBeCloseTo(want[k]!, 6));
    r.delta.forEach((d, k) => expect(d).toBeCloseTo(want[k]! - v[k]!, 6));
    model.dispose();
  });

  it('without an anchor the pull is towards the start (FedProx): the first step has no proximal part', async () => {
    const model = softmaxModel();
    writeModelWeights(model, Float32Array.from(v));
    await trainLocal(model, data, { ...training, overrides: { proxMu: 10 } }, { random: createSeededRandom(1) });
    const want = expectedStep(v, v, x, y, 0.5, 0);
    [...readModelWeights(model).values].forEach((g, k) => expect(g).toBeCloseTo(want[k]!, 6));
    model.dispose();
  });

  it('refuses an anchor of the wrong size with SHAPE_MISMATCH and leaves the model as it was', async () => {
    const model = softmaxModel();
    writeModelWeights(model, Float32Array.from(v));
    await expect(trainLocal(model, data, { ...training, overrides: { proxMu: 1 } }, { proxAnchor: new Float32Array(5) })).rejects.toMatchObject({ code: 'SHAPE_MISMATCH' });
    [...readModelWeights(model).values].forEach((g, k) => expect(g).toBeCloseTo(v[k]!, 7));
    model.dispose();
  });
});

describe('trainPersonalized with method ditto', () => {
  /** dense1: 4→3, output: 3→2 (23 values in all). */
  function tinyModel(): tf.LayersModel {
    return tf.sequential({
      layers: [tf.layers.dense({ name: 'dense1', inputShape: [4], units: 3, activation: 'relu' }), tf.layers.dense({ name: 'output', units: 2, activation: 'softmax' })],
    });
  }
  function tinyData(): Dataset {
    const random = createSeededRandom(7);
    const xs = new Float32Array(20 * 4).map(() => random() * 2 - 1);
    const ys = Uint8Array.from({ length: 20 }, (_, i) => (xs[i * 4]! > 0 ? 1 : 0));
    return { x: xs, y: ys, count: 20, inputShape: [4], numClasses: 2 };
  }
  const ditto = (lambda: number, chooseByValidation = false): PersonalizationInfo => ({ method: 'ditto', personalLayers: [], headEpochs: 1, lambda, chooseByValidation, holdoutFraction: 0.2 });
  const training = trainingConfigSchema.parse({ batchSize: 4, learningRate: 0.5, localEpochs: 3 });
  const distance = (a: Float32Array, b: Float32Array): number => Math.sqrt(a.reduce((s, ai, i) => s + (ai - b[i]!) ** 2, 0));

  function globalOf(model: tf.LayersModel, seed: number): FlatWeights {
    const layout = modelLayout(model);
    return { layout, values: seededGlorotWeights(layout, createSeededRandom(seed)) };
  }

  it('uploads exactly FedAvg’s update of the whole model, trained on all but the held-out examples', async () => {
    // Prepare
    const model = tinyModel();
    const global = globalOf(model, 1);
    const data = tinyData();
    // Execute
    const r = await trainPersonalized(model, data, global, { config: ditto(1) }, training, { random: createSeededRandom(3) });
    writeModelWeights(model, global.values);
    const plain = await trainLocal(model, subsetDataset(data, holdoutIndices(20, 0.2).train), training, { random: createSeededRandom(3) });
    // Assert
    expect([...r.delta]).toEqual([...plain.delta]);
    expect(r.numExamples).toBe(15);
    expect(r.personal.layout).toEqual(modelLayout(model));
    expect(r.metrics.holdoutExamples).toBe(5);
    expect(r.metrics.personalGainPp).toBeCloseTo((r.metrics.holdoutPersonalAccuracy! - r.metrics.holdoutSharedAccuracy!) * 100, 10);
    model.dispose();
  });

  it('keeps its own model, and a larger λ keeps it nearer the global one', async () => {
    const model = tinyModel();
    const global = globalOf(model, 1);
    const stored = globalOf(model, 2);
    const far = await trainPersonalized(model, tinyData(), global, { config: ditto(0), values: stored }, training, { random: createSeededRandom(3) });
    const near = await trainPersonalized(model, tinyData(), global, { config: ditto(1.5), values: stored }, training, { random: createSeededRandom(3) });
    expect(distance(near.personal.values, global.values)).toBeLessThan(distance(far.personal.values, global.values) * 0.6);
    // The stored model, not the global one, is where the personal model starts: with λ = 0 it stays nearer the stored one.
    expect(distance(far.personal.values, stored.values)).toBeLessThan(distance(far.personal.values, global.values));
    // The shared update does not depend on the personal model.
    expect([...near.delta]).toEqual([...far.delta]);
    model.dispose();
  });

  it('starts the personal model from the global one on the first round (nothing stored, or a stored model of another shape)', async () => {
    const model = tinyModel();
    const global = globalOf(model, 1);
    const fresh = await trainPersonalized(model, tinyData(), global, { config: ditto(0.5) }, training, { random: createSeededRandom(3) });
    const misfit: FlatWeights = { layout: [{ name: 'output/kernel', shape: [3, 2] }], values: new Float32Array(6).fill(9) };
    const refit = await trainPersonalized(model, tinyData(), global, { config: ditto(0.5), values: misfit }, training, { random: createSeededRandom(3) });
    expect([...refit.personal.values]).toEqual([...fresh.personal.values]);
    expect(distance(fresh.personal.values, global.values)).toBeLessThan(1);
    model.dispose();
  });

  /** The tiny model trained well on the tiny data: a model that scores high on every split. */
  async function goodModel(model: tf.LayersModel): Promise<FlatWeights> {
    const layout = modelLayout(model);
    writeModelWeights(model, seededGlorotWeights(layout, createSeededRandom(5)));
    await trainLocal(model, tinyData(), trainingConfigSchema.parse({ batchSize: 4, learningRate: 0.5, localEpochs: 40 }), { random: createSeededRandom(1) });
    return { layout, values: readModelWeights(model).values };
  }
  /** A model that always answers 0: bias towards class 0 only. */
  function constantModel(model: tf.LayersModel): FlatWeights {
    const layout = modelLayout(model);
    const values = new Float32Array(23);
    values[21] = 50;
    return { layout, values };
  }
  const still = trainingConfigSchema.parse({ batchSize: 4, learningRate: 1e-6, localEpochs: 1 });

  it('chooseByValidation: uses the shared model where it validates better, and reports no gain', async () => {
    // Prepare: a good shared model, a useless personal one that λ = 0 and a tiny learning rate keep useless
    const model = tinyModel();
    const global = await goodModel(model);
    const data = tinyData();
    // Execute
    const r = await trainPersonalized(model, data, global, { config: ditto(0, true), values: constantModel(model) }, still, { random: createSeededRandom(3) });
    // Assert
    expect(r.personal.useShared).toBe(true);
    expect(r.metrics.ownModelChosen).toBe(0);
    expect(r.metrics.holdoutPersonalAccuracy).toBe(r.metrics.holdoutSharedAccuracy);
    expect(r.metrics.personalGainPp).toBe(0);
    // The personal model is kept (it trains on), only not used
    expect(distance(r.personal.values, constantModel(model).values)).toBeLessThan(1e-3);
    model.dispose();
  });

  it('chooseByValidation: uses its own model where that validates better; the own model leaves the validation examples out', async () => {
    const model = tinyModel();
    const good = await goodModel(model);
    const r = await trainPersonalized(model, tinyData(), constantModel(model), { config: ditto(0, true), values: good }, still, { random: createSeededRandom(3) });
    expect(r.personal.useShared).toBe(false);
    expect(r.metrics.ownModelChosen).toBe(1);
    expect(r.metrics.holdoutPersonalAccuracy).toBeGreaterThan(r.metrics.holdoutSharedAccuracy!);
    // The shared update trains on all 15 training examples, the own model on all but the validation part
    expect(r.numExamples).toBe(15);
    model.dispose();
  });

  it('refuses a download that is not the whole model', async () => {
    const model = tinyModel();
    const global = globalOf(model, 1);
    const headless = { layout: global.layout.slice(0, 2), values: global.values.slice(0, 15) };
    await expect(trainPersonalized(model, tinyData(), headless, { config: ditto(1) }, training)).rejects.toMatchObject({ code: 'SHAPE_MISMATCH' });
    model.dispose();
  });
});

import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createSeededRandom, trainingConfigSchema, type Dataset, type FlatWeights, type PersonalizationInfo } from '@chorus/core';
import { modelLayout, readModelWeights, seededGlorotWeights } from '../models/model-weights.js';
import { initNodeBackend } from '../node/node-backend.js';
import { holdoutIndices, initialPersonalLayers, trainPersonalized } from './train-personalized.js';

beforeAll(async () => {
  await initNodeBackend('cpu');
});

/** dense1: 4→3 (15 values), output: 3→2 (8 values). */
function tinyModel(): tf.LayersModel {
  return tf.sequential({
    layers: [tf.layers.dense({ name: 'dense1', inputShape: [4], units: 3, activation: 'relu' }), tf.layers.dense({ name: 'output', units: 2, activation: 'softmax' })],
  });
}

/** 20 examples, label = whether the first feature is positive. */
function tinyData(): Dataset {
  const random = createSeededRandom(7);
  const x = new Float32Array(20 * 4).map(() => random() * 2 - 1);
  const y = Uint8Array.from({ length: 20 }, (_, i) => (x[i * 4]! > 0 ? 1 : 0));
  return { x, y, count: 20, inputShape: [4], numClasses: 2 };
}

const fedper: PersonalizationInfo = { method: 'fedper', personalLayers: ['output'], headEpochs: 1, lambda: 1, chooseByValidation: true, holdoutFraction: 0.2 };
const training = trainingConfigSchema.parse({ batchSize: 4, learningRate: 0.5, localEpochs: 2 });

function sharedGlobal(model: tf.LayersModel): FlatWeights {
  const layout = modelLayout(model).filter((t) => t.name.startsWith('dense1/'));
  return { layout, values: seededGlorotWeights(layout, createSeededRandom(1)) };
}

describe('holdoutIndices', () => {
  it('holds out i where frac(i·φ) < fraction: spread, the same on every reload', () => {
    // frac(i·0.618…) for i = 0…9: 0, .618, .236, .854, .472, .090, .708, .326, .944, .562
    const { train, holdout } = holdoutIndices(10, 0.2);
    expect([...holdout]).toEqual([0, 5]);
    expect([...train]).toEqual([1, 2, 3, 4, 6, 7, 8, 9]);
  });

  it('scores nothing when it cannot spare an example', () => {
    expect([...holdoutIndices(1, 0.2).holdout]).toEqual([]);
    expect([...holdoutIndices(1, 0.2).train]).toEqual([0]);
  });
});

describe('initialPersonalLayers', () => {
  it('gives every device the same head: the seeded Glorot draw over the whole model, cut to the personal tensors', () => {
    const model = tinyModel();
    const layout = modelLayout(model);
    const personal = layout.slice(2);
    const a = initialPersonalLayers(layout, personal);
    const b = initialPersonalLayers(layout, personal);
    expect([...a.values]).toEqual([...b.values]);
    expect([...a.values]).toEqual([...seededGlorotWeights(layout, createSeededRandom(0x5eed)).slice(15)]);
    // Biases start at 0
    expect([...a.values.slice(6)]).toEqual([0, 0]);
    model.dispose();
  });
});

describe('trainPersonalized', () => {
  it('FedPer: uploads the shared delta only and keeps the trained head', async () => {
    // Prepare
    const model = tinyModel();
    const global = sharedGlobal(model);
    // Execute
    const r = await trainPersonalized(model, tinyData(), global, { config: fedper }, training, { random: createSeededRandom(3) });
    // Assert: 15 shared values travel; the head's 8 stay, as output/kernel and output/bias
    expect(r.delta.length).toBe(15);
    expect(r.personal.layout).toEqual([{ name: 'output/kernel', shape: [3, 2] }, { name: 'output/bias', shape: [2] }]);
    expect(r.personal.values.length).toBe(8);
    // frac(i·φ) < 0.2 for i = 0, 5, 10, 13, 18: 5 held out, 15 trained on.
    expect(r.numExamples).toBe(15);
    expect(r.metrics.holdoutExamples).toBe(5);
    expect(r.metrics.personalGainPp).toBeCloseTo((r.metrics.holdoutPersonalAccuracy! - r.metrics.holdoutSharedAccuracy!) * 100, 10);
    expect(Math.max(...r.delta.map(Math.abs))).toBeGreaterThan(0);
    model.dispose();
  });

  it('starts from the stored personal layers when they fit the model', async () => {
    const model = tinyModel();
    const stored: FlatWeights = { layout: [{ name: 'output/kernel', shape: [3, 2] }, { name: 'output/bias', shape: [2] }], values: Float32Array.from([1, -1, 2, -2, 3, -3, 0.5, -0.5]) };
    const still = trainingConfigSchema.parse({ batchSize: 4, learningRate: 1e-7 });
    const r = await trainPersonalized(model, tinyData(), sharedGlobal(model), { config: fedper, values: stored }, still, { random: createSeededRandom(3) });
    [...r.personal.values].forEach((v, i) => expect(v).toBeCloseTo(stored.values[i]!, 5));
    model.dispose();
  });

  it('FedRep: trains the head with the body frozen, then the body with the head frozen', async () => {
    const model = tinyModel();
    const rep: PersonalizationInfo = { ...fedper, method: 'fedrep', headEpochs: 3 };
    const r = await trainPersonalized(model, tinyData(), sharedGlobal(model), { config: rep }, training, { random: createSeededRandom(3) });
    expect(r.metrics.headLoss).toBeGreaterThan(0);
    expect(Math.max(...r.delta.map(Math.abs))).toBeGreaterThan(0);
    // Every layer is trainable again afterwards.
    expect(model.layers.every((l) => l.trainable)).toBe(true);
    model.dispose();
  });
});

/**
 * FedRep's schedule and FedPer's joint step, exactly: a 2→2 linear hidden layer (the body) and a
 * 2→2 softmax head, one full batch of 3 examples, plain SGD, computed by hand in float64.
 */
describe('trainPersonalized: one SGD step of each phase, against the gradients by hand', () => {
  type Params = { w1: number[][]; b1: number[]; w2: number[][]; b2: number[] };
  // Row 0 is held out (frac(0·φ) = 0 < 0.2); rows 1–3 train (frac .618, .236, .854): one batch of 3.
  const x = [
    [1, -2],
    [0.5, 3],
    [-1, 0.5],
    [2, 1],
  ];
  const y = [0, 1, 0, 1];
  const start: Params = { w1: [[0.3, -0.1], [0.2, 0.4]], b1: [0.05, -0.05], w2: [[0.5, -0.3], [-0.2, 0.6]], b2: [0.1, -0.1] };
  const lr = 0.5;
  const data: Dataset = { x: Float32Array.from(x.flat()), y: Uint8Array.from(y), count: 4, inputShape: [2], numClasses: 2 };
  const training = trainingConfigSchema.parse({ batchSize: 3, learningRate: lr, localEpochs: 1, optimizer: 'sgd' });
  const body = (p: Params): number[] => [...p.w1.flat(), ...p.b1];
  const head = (p: Params): number[] => [...p.w2.flat(), ...p.b2];

  /**
   * Gradients of the mean cross-entropy over `rows`: with dz = (softmax(z) − onehot(y)) / n,
   * ∂W2 = Σ hᵀdz, ∂b2 = Σ dz, dh = dz·W2ᵀ, ∂W1 = Σ xᵀdh, ∂b1 = Σ dh (kernels row-major [input][unit]).
   */
  function gradients(p: Params, rows: readonly number[]): Params {
    const g: Params = { w1: [[0, 0], [0, 0]], b1: [0, 0], w2: [[0, 0], [0, 0]], b2: [0, 0] };
    for (const i of rows) {
      const xi = x[i]!;
      const h = [0, 1].map((a) => xi[0]! * p.w1[0]![a]! + xi[1]! * p.w1[1]![a]! + p.b1[a]!);
      const z = [0, 1].map((j) => h[0]! * p.w2[0]![j]! + h[1]! * p.w2[1]![j]! + p.b2[j]!);
      const m = Math.max(...z);
      const e = z.map((zj) => Math.exp(zj - m));
      const dz = e.map((ej, j) => (ej / (e[0]! + e[1]!) - (y[i] === j ? 1 : 0)) / rows.length);
      const dh = [0, 1].map((a) => p.w2[a]![0]! * dz[0]! + p.w2[a]![1]! * dz[1]!);
      for (const a of [0, 1]) {
        for (const j of [0, 1]) g.w2[a]![j]! += h[a]! * dz[j]!;
        for (const k of [0, 1]) g.w1[k]![a]! += xi[k]! * dh[a]!;
        g.b1[a]! += dh[a]!;
        g.b2[a]! += dz[a]!;
      }
    }
    return g;
  }
  const step = (v: readonly number[], g: readonly number[]): number[] => v.map((vi, k) => vi - lr * g[k]!);
  const stepKernel = (v: readonly number[][], g: readonly number[][]): number[][] => v.map((row, k) => step(row, g[k]!));

  function model(): tf.LayersModel {
    return tf.sequential({ layers: [tf.layers.dense({ name: 'dense1', inputShape: [2], units: 2, activation: 'linear' }), tf.layers.dense({ name: 'output', units: 2, activation: 'softmax' })] });
  }
  const run = async (method: 'fedper' | 'fedrep') => {
    const m = model();
    const layout = modelLayout(m);
    const global: FlatWeights = { layout: layout.slice(0, 2), values: Float32Array.from(body(start)) };
    const stored: FlatWeights = { layout: layout.slice(2), values: Float32Array.from(head(start)) };
    const r = await trainPersonalized(m, data, global, { config: { ...fedper, method, headEpochs: 1 }, values: stored }, training, { random: createSeededRandom(1) });
    const after = [...readModelWeights(m).values];
    m.dispose();
    return { r, after };
  };
  const expectClose = (got: ArrayLike<number>, want: readonly number[]) => {
    expect(got.length).toBe(want.length);
    want.forEach((w, k) => expect(got[k]).toBeCloseTo(w, 6));
  };

  it('FedRep: the head steps with the body as downloaded, then the body steps under the new head, which stays', async () => {
    // Prepare: phase 1 moves the head only, from the gradients at the start
    const g1 = gradients(start, [1, 2, 3]);
    const afterHead: Params = { ...start, w2: stepKernel(start.w2, g1.w2), b2: step(start.b2, g1.b2) };
    // phase 2 moves the body only, from the gradients under the new head
    const g2 = gradients(afterHead, [1, 2, 3]);
    const afterBody: Params = { ...afterHead, w1: stepKernel(start.w1, g2.w1), b1: step(start.b1, g2.b1) };
    // Execute
    const { r, after } = await run('fedrep');
    // Assert: the kept head is the head phase's result (the body phase did not move it) ...
    expectClose(r.personal.values, head(afterHead));
    // ... and the uploaded delta is the body phase's step from the downloaded body (the head phase did not move it)
    expectClose(r.delta, body(afterBody).map((v, k) => v - body(start)[k]!));
    expectClose(after, [...body(afterBody), ...head(afterHead)]);
    // A schedule that let the body move in the head phase, or took the body step under the old head, is not this one:
    const underOldHead = stepKernel(start.w1, g1.w1).flat();
    expect(Math.max(...underOldHead.map((v, k) => Math.abs(v - body(afterBody)[k]!)))).toBeGreaterThan(1e-3);
  });

  it('FedPer: one joint step of body and head from the same gradients', async () => {
    const g = gradients(start, [1, 2, 3]);
    const { r } = await run('fedper');
    expectClose(r.personal.values, [...stepKernel(start.w2, g.w2).flat(), ...step(start.b2, g.b2)]);
    expectClose(r.delta, [...stepKernel(start.w1, g.w1).flat(), ...step(start.b1, g.b1)].map((v, k) => v - body(start)[k]!));
  });
});


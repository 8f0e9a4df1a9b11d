import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createSeededRandom, trainingConfigSchema, type Dataset, type FlatWeights, type PersonalizationInfo } from '@chorus/core';
import { modelLayout, seededGlorotWeights } from '../models/model-weights.js';
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

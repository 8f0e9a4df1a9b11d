import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { createSeededRandom, trainingConfigSchema } from '@chorus/core';
import { createInitialModel, modelFromTopology } from '../models/model-weights.js';
import { initNodeBackend } from '../node/node-backend.js';
import { sotuSpeakerDataset, sotuSplit, sotuVocabulary } from '../node/sotu.js';
import { evaluateNextWord } from './next-word-metrics.js';
import { trainLocal } from './train-local.js';

afterAll(async () => {
  await initNodeBackend('wasm');
});

describe('nextword-gru training', () => {
  it.each(['cpu', 'wasm'] as const)('on %s lowers the loss on a president\'s addresses and leaks no tensors', { timeout: 180_000 }, async (backend) => {
    await initNodeBackend(backend);
    const data = sotuSpeakerDataset(sotuSplit().speakers[0]!, sotuVocabulary(), 100);
    const init = await createInitialModel('nextword-gru', 1);
    const model = await modelFromTopology(init.topology, init.weights);
    const before = await evaluateNextWord(model, data);
    const tensorsBefore = tf.memory().numTensors;

    const result = await trainLocal(model, data, trainingConfigSchema.parse({ batchSize: 10, learningRate: 0.5, localEpochs: 3 }), { random: createSeededRandom(1) });

    const after = await evaluateNextWord(model, data);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect(result.numExamples).toBe(100);
    expect(before.perplexity).toBeGreaterThan(200);
    expect(after.loss).toBeLessThan(before.loss * 0.8);
    expect(after.top3Accuracy).toBeGreaterThan(after.accuracy);
    model.dispose();
  });
});

describe('evaluateNextWord', () => {
  it('gives perplexity = the class count and top-3 = 3 / classes for a model whose outputs are uniform', async () => {
    await initNodeBackend('cpu');
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: 6, activation: 'softmax', kernelInitializer: 'zeros', biasInitializer: 'zeros' })] });
    const data = { x: new Float32Array(12), y: Uint8Array.from([0, 1, 2, 3, 4, 5]), count: 6, inputShape: [2], numClasses: 6 };

    const m = await evaluateNextWord(model, data, 4);

    expect(m.perplexity).toBeCloseTo(6, 4);
    expect(m.loss).toBeCloseTo(Math.log(6), 5);
    expect(m.top3Accuracy).toBeCloseTo(0.5, 10);
    expect(m.accuracy).toBeCloseTo(1 / 6, 10);
    model.dispose();
  });

  it("never counts <pad> or <unk> among the suggestions, as the strip never shows them", async () => {
    // Prepare: one fixed output for every input, most probable first: <unk>, <pad>, then words 5, 4, 3, 2
    await initNodeBackend('cpu');
    const model = tf.sequential({
      layers: [tf.layers.dense({ inputShape: [2], units: 6, activation: 'softmax', kernelInitializer: 'zeros', biasInitializer: tf.initializers.constant({ value: 0 }) })],
    });
    model.layers[0]!.setWeights([tf.zeros([2, 6]), tf.tensor1d([2, 3, 0, 0.1, 0.2, 0.3])]);
    const data = { x: new Float32Array(8), y: Uint8Array.from([5, 4, 3, 2]), count: 4, inputShape: [2], numClasses: 6 };

    // Execute
    const m = await evaluateNextWord(model, data);

    // Assert: the suggestions are 5, 4, 3 (not <unk>, <pad>, 5), so three of the four next words are among them
    expect(m.top3Accuracy).toBe(0.75);
    expect(m.accuracy).toBe(0.25);
    // The loss is the model's own: −ln p(label) with <pad> and <unk> still holding their share
    const z = [2, 3, 0, 0.1, 0.2, 0.3].reduce((a, v) => a + Math.exp(v), 0);
    expect(m.loss).toBeCloseTo([0.3, 0.2, 0.1, 0].reduce((a, v) => a + Math.log(z) - v, 0) / 4, 5);
    model.dispose();
  });

  it('refuses an empty dataset and a bad batch size with INVALID_CONFIG', async () => {
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: 6, activation: 'softmax' })] });
    const data = { x: new Float32Array(0), y: new Uint8Array(0), count: 0, inputShape: [2], numClasses: 6 };

    await expect(evaluateNextWord(model, data)).rejects.toThrow('evaluateNextWord: the dataset has no examples');
    await expect(evaluateNextWord(model, { ...data, count: 1 }, 0)).rejects.toThrow('evaluateNextWord: batchSize must be a positive integer, got 0');
    model.dispose();
  });
});

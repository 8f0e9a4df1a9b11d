import { describe, expect, it } from 'vitest';
import { createSeededRandom } from '@chorus/core';
import type { DataSchema, Dataset } from '@chorus/core';
import { initNodeBackend, type NodeBackendName } from '../node/node-backend.js';
import { evaluateModel } from '../training/evaluate.js';
import { trainLocal } from '../training/train-local.js';
import { createInitialModel, modelFromTopology } from './model-weights.js';

/** Two separable classes: class 1 has a larger first feature (tabular) or the token at index 0 (text). */
function twoClasses(width: number, count: number): Dataset {
  const random = createSeededRandom(5);
  const x = new Float32Array(count * width);
  const y = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    y[i] = i % 2;
    for (let j = 0; j < width; j++) x[i * width + j] = random() < 0.3 ? 1 : 0;
    x[i * width] = y[i]!;
  }
  return { x, y, count, inputShape: [width], numClasses: 2 };
}

const VOCABULARY = Array.from({ length: 50 }, (_, i) => `w${i}`);
const CASES: [string, DataSchema][] = [
  ['tabular-mlp', { kind: 'tabular', inputShape: [6], numClasses: 2, features: { names: ['a', 'b', 'c', 'd', 'e', 'f'], mean: [0, 0, 0, 0, 0, 0], std: [1, 1, 1, 1, 1, 1], labelColumn: 'y' } }],
  ['spam-bow', { kind: 'text', inputShape: [50], numClasses: 2, vocabulary: VOCABULARY }],
];

describe.each(['wasm', 'cpu'] as NodeBackendName[])('data templates on the %s backend', (backend) => {
  it.each(CASES)('%s learns a separable toy set with trainLocal', { timeout: 60_000 }, async (id, data) => {
    await initNodeBackend(backend);
    const initial = await createInitialModel(id, 2, data);
    const model = await modelFromTopology(initial.topology, initial.weights);
    const set = twoClasses(data.inputShape[0]!, 200);

    await trainLocal(model, set, { localEpochs: 10, batchSize: 20, optimizer: 'adam', learningRate: 0.02, proxMu: 0, maxExamples: 0 }, { random: createSeededRandom(1) });
    const { accuracy } = await evaluateModel(model, set);
    model.dispose();

    expect(model.name).toBe(id === 'spam-bow' ? 'spam_bow' : 'tabular_mlp');
    expect(accuracy).toBeGreaterThan(0.95);
  });
});

describe('data template checks', () => {
  it('refuses a spam-bow input size that is not the vocabulary size, and a tabular task without features', async () => {
    await expect(createInitialModel('spam-bow', 1, { kind: 'text', inputShape: [49], numClasses: 2, vocabulary: VOCABULARY })).rejects.toThrow('spam-bow: data.inputShape [49] must be [50], the vocabulary size');
    await expect(createInitialModel('tabular-mlp', 1, { kind: 'tabular', inputShape: [4], numClasses: 3 })).rejects.toThrow('data.features is missing');
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subsetDataset, trainingConfigSchema, type Dataset } from '@chorus/core';
import { createInitialModel, modelFromTopology } from '../models/model-weights.js';
import { initNodeBackend } from '../node/node-backend.js';
import { loadMnist } from '../node/mnist.js';
import { dutyCyclePause, restFor } from './duty-cycle.js';
import { trainLocal } from './train-local.js';

let small: Dataset;

beforeAll(async () => {
  await initNodeBackend('wasm');
  small = subsetDataset(loadMnist(1).train, Int32Array.from({ length: 120 }, (_, i) => i));
});

afterAll(async () => {
  await initNodeBackend('wasm');
});

describe('restFor', () => {
  it('rests busy × (1 − d) / d: nothing at d = 1, as long as the work at d = 0.5, three times at 0.25', () => {
    expect([restFor(40, 1), restFor(40, 0.5), restFor(40, 0.25), restFor(0, 0.5)]).toEqual([0, 40, 120, 0]);
  });
});

describe('dutyCyclePause', () => {
  it('refuses a duty cycle outside (0, 1], naming it', () => {
    expect(() => dutyCyclePause(0)).toThrow('dutyCycle: expected a share of the CPU time with 0 < dutyCycle ≤ 1, got 0');
    expect(() => dutyCyclePause(1.5)).toThrow('got 1.5');
  });

  it('at d = 0.5 makes a round take about twice its busy time, resting after every batch', async () => {
    // Prepare: a sleep that advances a virtual wall clock instead of waiting, so the bound does not
    // depend on how busy this machine is.
    const init = await createInitialModel('mnist-2nn', 1);
    const model = await modelFromTopology(init.topology, init.weights);
    const rests: number[] = [];
    const sleep = async (ms: number): Promise<void> => void rests.push(ms);

    // Execute
    const result = await trainLocal(model, small, trainingConfigSchema.parse({ batchSize: 10, learningRate: 0.1, localEpochs: 2 }), { afterBatch: dutyCyclePause(0.5, sleep) });
    const busy = result.metrics.trainMs;
    const wall = busy + rests.reduce((a, b) => a + b, 0);

    // Assert: one rest per batch (2 epochs × 12 batches), and wall ≈ 2 × busy.
    expect(rests).toHaveLength(24);
    expect(rests.every((ms) => ms > 0)).toBe(true);
    expect(wall / busy).toBeGreaterThanOrEqual(1.6);
    expect(wall / busy).toBeLessThanOrEqual(2.05);
    model.dispose();
  });

  it('leaves rests out of trainMs, so samples per second still describes the device', async () => {
    const init = await createInitialModel('mnist-2nn', 1);
    const model = await modelFromTopology(init.topology, init.weights);
    const started = performance.now();

    const result = await trainLocal(model, small, trainingConfigSchema.parse({ batchSize: 40, learningRate: 0.1 }), { afterBatch: () => new Promise((r) => setTimeout(r, 50)) });
    const wall = performance.now() - started;

    expect(wall - result.metrics.trainMs).toBeGreaterThanOrEqual(3 * 45);
    model.dispose();
  });
});

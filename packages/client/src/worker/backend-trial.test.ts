import { describe, expect, it } from 'vitest';
import { createInitialModel, modelFromTopology } from '@chorus/ml';
import { chooseBackend, embeddingRows, measureBackend, modelKey, syntheticDataset } from './backend-trial.js';

describe('backend trial', () => {
  it('measures a positive training rate on cpu and explains an unusable backend', async () => {
    // Prepare
    const initial = await createInitialModel('mnist-2nn', 1);
    const model = { topology: initial.topology, inputShape: [28, 28, 1], numClasses: 10 };
    // Execute
    const cpu = await measureBackend('cpu', model, { wasmBaseUrl: 'unused', batchSize: 8, batches: 2 });
    const webgpu = await measureBackend('webgpu', model, { wasmBaseUrl: 'unused' });
    // Assert
    expect(cpu.error).toBeUndefined();
    expect(cpu.samplesPerSecond).toBeGreaterThan(0);
    expect(webgpu).toEqual({ backend: 'webgpu', samplesPerSecond: 0, error: 'backend "webgpu" cannot be used on this device: this browser has no WebGPU (navigator.gpu is missing)' });
  });

  it('chooses the fastest backend that worked', () => {
    const chosen = chooseBackend([
      { backend: 'webgpu', samplesPerSecond: 0, error: 'no adapter' },
      { backend: 'webgl', samplesPerSecond: 40 },
      { backend: 'wasm', samplesPerSecond: 700 },
      { backend: 'cpu', samplesPerSecond: 30 },
    ]);
    expect(chosen.backend).toBe('wasm');
  });

  it('fails with UNAVAILABLE naming each failure when nothing worked', () => {
    expect(() => chooseBackend([{ backend: 'webgl', samplesPerSecond: 0, error: 'lost context' }])).toThrow(
      expect.objectContaining({ code: 'UNAVAILABLE', message: 'no tfjs backend could train this model here (webgl: lost context)' }),
    );
  });

  it('keys models by topology and builds class-cycling synthetic data', async () => {
    const a = await createInitialModel('mnist-2nn', 1);
    const b = await createInitialModel('mnist-cnn', 1);
    expect(modelKey(a.topology)).toBe(modelKey((await createInitialModel('mnist-2nn', 2)).topology));
    expect(modelKey(a.topology)).not.toBe(modelKey(b.topology));
    const ds = syntheticDataset({ topology: null, inputShape: [2], numClasses: 3 }, 5);
    expect(Array.from(ds.y)).toEqual([0, 1, 2, 0, 1]);
    expect(ds.x.length).toBe(10);
  });

  it('feeds a model that starts with an embedding token ids below its rows, and measures the keyboard model on cpu', async () => {
    // Prepare: nextword-gru as shipped, 8 context ids over 256 words.
    const initial = await createInitialModel('nextword-gru', 1);
    const model = { topology: initial.topology, inputShape: [8], numClasses: 256 };
    // Execute
    const built = await modelFromTopology(initial.topology);
    const mnist = await modelFromTopology((await createInitialModel('mnist-2nn', 1)).topology);
    const ds = syntheticDataset(model, 20, 256);
    const cpu = await measureBackend('cpu', model, { wasmBaseUrl: 'unused', batchSize: 10, batches: 1 });
    // Assert: whole ids spread over the vocabulary (floats in [0, 1) would all be id 0)
    expect(embeddingRows(built)).toBe(256);
    expect(embeddingRows(mnist)).toBeUndefined();
    built.dispose();
    mnist.dispose();
    expect(Array.from(ds.x).every((v) => Number.isInteger(v) && v >= 0 && v < 256)).toBe(true);
    expect(new Set(ds.x).size).toBeGreaterThan(50);
    expect(cpu.error).toBeUndefined();
    expect(cpu.samplesPerSecond).toBeGreaterThan(0);
  });
});

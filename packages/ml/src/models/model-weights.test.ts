import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ChorusError, layoutSize } from '@chorus/core';
import { initNodeBackend } from '../node/node-backend.js';
import { createInitialModel, modelFromTopology, readModelWeights, toTfjsArtifacts, writeModelWeights } from './model-weights.js';

beforeAll(async () => {
  await initNodeBackend('wasm');
});

/** Index of the first differing value, or -1 (vitest's deep equality is slow on 1.6M floats). */
function firstDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

function maxOf(values: Float32Array): number {
  return values.reduce((m, v) => Math.max(m, v), -Infinity);
}

async function rejection(p: Promise<unknown>): Promise<ChorusError> {
  try {
    await p;
  } catch (e) {
    return e as ChorusError;
  }
  throw new Error('expected a rejection');
}

describe('createInitialModel', () => {
  it('is deterministic for a seed, differs across seeds, and has Glorot-bounded kernels and zero biases', async () => {
    const a = await createInitialModel('mnist-2nn', 7);
    const b = await createInitialModel('mnist-2nn', 7);
    const c = await createInitialModel('mnist-2nn', 8);

    expect(firstDifference(a.weights, b.weights)).toBe(-1);
    expect(firstDifference(a.weights, c.weights)).toBe(0);
    expect(a.weights.length).toBe(199_210);
    expect(a.layout.map((s) => s.name)).toEqual(['dense1/kernel', 'dense1/bias', 'dense2/kernel', 'dense2/bias', 'output/kernel', 'output/bias']);
    const limit = Math.sqrt(6 / (784 + 200));
    const kernel = a.weights.subarray(0, 784 * 200);
    expect(maxOf(kernel)).toBeLessThanOrEqual(limit);
    expect(maxOf(kernel)).toBeGreaterThan(limit * 0.99);
    expect(Array.from(a.weights.subarray(784 * 200, 784 * 200 + 200)).every((v) => v === 0)).toBe(true);
    expect(a.data.numClasses).toBe(10);
  });
});

describe('modelFromTopology / readModelWeights / writeModelWeights', () => {
  it('rebuilds the model and round-trips the exact weights', async () => {
    const init = await createInitialModel('mnist-cnn', 1);

    const model = await modelFromTopology(init.topology, init.weights, init.layout);
    const read = readModelWeights(model);

    expect(read.layout).toEqual(init.layout);
    expect(firstDifference(read.values, init.weights)).toBe(-1);
    model.dispose();
  });

  it('rejects weights of the wrong length with SHAPE_MISMATCH', async () => {
    const init = await createInitialModel('mnist-2nn', 1);

    const err = await rejection(modelFromTopology(init.topology, init.weights.subarray(1)));

    expect(err.code).toBe('SHAPE_MISMATCH');
    expect(err.message).toContain('199209');
  });

  it('rejects a layout that names other tensors with SHAPE_MISMATCH', async () => {
    const init = await createInitialModel('mnist-2nn', 1);
    const layout = init.layout.map((s, i) => (i === 2 ? { ...s, name: 'hidden/kernel' } : s));

    const err = await rejection(modelFromTopology(init.topology, init.weights, layout));

    expect(err.code).toBe('SHAPE_MISMATCH');
    expect(err.message).toContain('dense2/kernel');
  });

  it('rejects a topology tfjs cannot build with INVALID_CONFIG', async () => {
    const err = await rejection(modelFromTopology({ class_name: 'NoSuchModel', config: {} }));

    expect(err.code).toBe('INVALID_CONFIG');
  });

  it('writeModelWeights changes what the model predicts', async () => {
    const init = await createInitialModel('mnist-2nn', 3);
    const model = await modelFromTopology(init.topology, init.weights);
    const x = tf.ones([1, 28, 28, 1]);
    const before = (model.predict(x) as tf.Tensor).dataSync();

    writeModelWeights(model, new Float32Array(init.weights.length));
    const after = (model.predict(x) as tf.Tensor).dataSync();

    expect(Array.from(after)).toEqual(new Array(10).fill(0.1).map((v) => Math.fround(v)));
    expect(Array.from(before)).not.toEqual(Array.from(after));
    model.dispose();
  });
});

describe('toTfjsArtifacts', () => {
  it('produces a model.json + weights.bin that tf.loadLayersModel loads with the same weights', async () => {
    const init = await createInitialModel('mnist-cnn', 5);

    const { modelJson, weightData } = toTfjsArtifacts(init.topology, init.layout, init.weights);
    // Serve them the way an HTTP loader would: JSON text, and the bytes of the file named in the manifest.
    const json = JSON.parse(JSON.stringify(modelJson)) as tf.io.ModelJSON;
    const files: Record<string, Uint8Array> = { 'weights.bin': weightData };
    const handler: tf.io.IOHandler = {
      load: () =>
        tf.io.getModelArtifactsForJSON(json, async (manifest) => {
          const specs = manifest.flatMap((group) => group.weights);
          const bin = files[manifest[0]!.paths[0]!]!;
          return [specs, bin.slice().buffer];
        }),
    };
    const loaded = await tf.loadLayersModel(handler);

    expect(json.format).toBe('layers-model');
    expect(json.weightsManifest[0]!.paths).toEqual(['weights.bin']);
    expect(weightData.byteLength).toBe(layoutSize(init.layout) * 4);
    expect(firstDifference(readModelWeights(loaded).values, init.weights)).toBe(-1);
    loaded.dispose();
  });

  it('rejects values that do not fill the layout with SHAPE_MISMATCH', async () => {
    const init = await createInitialModel('mnist-2nn', 5);

    expect(() => toTfjsArtifacts(init.topology, init.layout, new Float32Array(3))).toThrow(
      expect.objectContaining({ code: 'SHAPE_MISMATCH' }),
    );
  });
});

import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { initNodeBackend } from '../node/node-backend.js';
import { registerWasmGradientKernels } from './wasm-gradient-kernels.js';
import { getModelTemplate } from '../models/templates.js';
import { readModelWeights, writeModelWeights } from '../models/model-weights.js';

function maxRelativeError(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]!));
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / scale);
  return worst;
}

/** Gradients of the mean cross-entropy w.r.t. every weight, flattened in `model.weights` order. */
function flatGradients(templateId: string, weights: Float32Array, xs: Float32Array, labels: number[]): Float32Array {
  return tf.tidy(() => {
    const model = getModelTemplate(templateId).build();
    writeModelWeights(model, weights);
    const x = tf.tensor4d(xs, [labels.length, 28, 28, 1]);
    const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 10);
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const { grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, model.apply(x) as tf.Tensor) as tf.Scalar, vars);
    const flat = tf.concat(vars.map((v) => grads[v.name]!.flatten()));
    const out = flat.dataSync() as Float32Array;
    model.dispose();
    return out;
  });
}

describe('registerWasmGradientKernels', () => {
  it('registers Conv2DBackpropFilter on wasm, once', () => {
    registerWasmGradientKernels();
    registerWasmGradientKernels();

    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
  });

  it('gives the same conv2DBackpropFilter as cpu for strides, valid padding and several channels', async () => {
    const x = Float32Array.from({ length: 2 * 9 * 7 * 3 }, (_, i) => Math.sin(i * 0.37));
    const dyShape: [number, number, number, number] = [2, 3, 3, 4];
    const dy = Float32Array.from({ length: 2 * 3 * 3 * 4 }, (_, i) => Math.cos(i * 0.11));
    const run = async (backend: 'cpu' | 'wasm') => {
      await initNodeBackend(backend);
      // d/dW of sum(conv2d(x, W) · dy) is exactly Conv2DBackpropFilter(x, dy).
      const xT = tf.tensor4d(x, [2, 9, 7, 3]);
      const dyT = tf.tensor4d(dy, dyShape);
      const w = tf.zeros([3, 3, 3, 4]) as tf.Tensor4D;
      const r = tf.grad((f) => tf.sum(tf.mul(tf.conv2d(xT, f as tf.Tensor4D, [3, 2], 'valid'), dyT)))(w);
      tf.dispose([xT, dyT, w]);
      const v = (await r.data()) as Float32Array;
      tf.dispose(r);
      return v;
    };

    const cpu = await run('cpu');
    const wasm = await run('wasm');

    expect(wasm.length).toBe(3 * 3 * 3 * 4);
    expect(maxRelativeError(wasm, cpu)).toBeLessThan(1e-5);
  });

  it.each(['mnist-cnn', 'mnist-2nn'])('%s gradients on wasm match cpu within 1e-5', async (templateId) => {
    await initNodeBackend('cpu');
    const seedModel = getModelTemplate(templateId).build();
    const weights = readModelWeights(seedModel).values;
    seedModel.dispose();
    const xs = Float32Array.from({ length: 3 * 784 }, (_, i) => (Math.sin(i * 12.9898) * 43758.5453) % 1 > 0.3 ? 0.9 : 0);
    const labels = [3, 7, 1];

    const cpu = flatGradients(templateId, weights, xs, labels);
    await initNodeBackend('wasm');
    const wasm = flatGradients(templateId, weights, xs, labels);

    expect(wasm.length).toBe(weights.length);
    expect(maxRelativeError(wasm, cpu)).toBeLessThan(1e-5);
  });
});

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
  it('registers the missing Conv2DBackpropFilter and UnsortedSegmentSum on wasm', () => {
    registerWasmGradientKernels();
    registerWasmGradientKernels();

    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
    expect(tf.getKernel('UnsortedSegmentSum', 'wasm')).toBeDefined();
  });

  it('sums rows by segment on wasm exactly like cpu, dropping ids outside the segments', async () => {
    const run = async (backend: 'cpu' | 'wasm') => {
      await initNodeBackend(backend);
      const x = tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [5, 2]);
      const ids = tf.tensor1d([2, 0, 2, 5, -1], 'int32');
      const out = tf.unsortedSegmentSum(x, ids, 3);
      const result = { shape: out.shape, values: [...(await out.data())] };
      tf.dispose([x, ids, out]);
      return result;
    };

    const cpu = await run('cpu');
    const wasm = await run('wasm');

    expect(wasm).toEqual({ shape: [3, 2], values: [3, 4, 0, 0, 6, 8] });
    expect(wasm).toEqual(cpu);
  });

  it('nextword-gru gradients on wasm match cpu within 1e-5 (embedding, GRU, softmax)', async () => {
    await initNodeBackend('cpu');
    const seedModel = getModelTemplate('nextword-gru').build();
    const weights = readModelWeights(seedModel).values;
    seedModel.dispose();
    const ids = [[0, 0, 0, 5, 9, 2, 7, 7], [3, 200, 17, 4, 4, 1, 9, 255], [0, 0, 0, 0, 0, 0, 0, 12]];
    const grads = () =>
      tf.tidy(() => {
        const model = getModelTemplate('nextword-gru').build();
        writeModelWeights(model, weights);
        const x = tf.tensor2d(ids.flat(), [3, 8]);
        const y = tf.oneHot(tf.tensor1d([9, 2, 77], 'int32'), 256);
        const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
        const { grads: g } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, model.apply(x) as tf.Tensor) as tf.Scalar, vars);
        const out = tf.concat(vars.map((v) => g[v.name]!.flatten())).dataSync() as Float32Array;
        model.dispose();
        return out;
      });

    const cpu = grads();
    await initNodeBackend('wasm');
    const wasm = grads();

    expect(wasm.length).toBe(43_456);
    expect(maxRelativeError(wasm, cpu)).toBeLessThan(1e-5);
  });

  it('replaces BatchMatMul, Conv2DBackpropInput and MaxPoolGrad on wasm with our wrappers, once', () => {
    registerWasmGradientKernels();
    const matMul = tf.getKernel('BatchMatMul', 'wasm')!.kernelFunc;
    const backpropInput = tf.getKernel('Conv2DBackpropInput', 'wasm')!.kernelFunc;
    const maxPoolGrad = tf.getKernel('MaxPoolGrad', 'wasm')!.kernelFunc;

    registerWasmGradientKernels();

    expect(tf.getKernel('BatchMatMul', 'wasm')!.kernelFunc).toBe(matMul);
    expect(tf.getKernel('Conv2DBackpropInput', 'wasm')!.kernelFunc).toBe(backpropInput);
    expect(tf.getKernel('MaxPoolGrad', 'wasm')!.kernelFunc).toBe(maxPoolGrad);
  });

  it.each<[string, [number, number], 'same' | 'valid']>([
    ['stride 1, same padding', [1, 1], 'same'],
    ['stride 1, valid padding', [1, 1], 'valid'],
    ['strides 3×2, valid padding (original kernel for dx)', [3, 2], 'valid'],
  ])('conv2d filter and input gradients on wasm match cpu: %s', async (_name, strides, pad) => {
    const xValues = Float32Array.from({ length: 2 * 9 * 7 * 3 }, (_, i) => Math.sin(i * 0.37));
    const wValues = Float32Array.from({ length: 3 * 3 * 3 * 4 }, (_, i) => Math.cos(i * 0.23));
    const run = async (backend: 'cpu' | 'wasm') => {
      await initNodeBackend(backend);
      const [dx, dw] = tf.tidy(() => {
        const x = tf.tensor4d(xValues, [2, 9, 7, 3]);
        const w = tf.tensor4d(wValues, [3, 3, 3, 4]);
        const y = tf.conv2d(x, w, strides, pad);
        // A fixed, position-dependent upstream gradient.
        const dy = tf.sin(tf.reshape(tf.range(0, y.size), y.shape));
        const grads = tf.grads((a, b) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, strides, pad), dy)));
        return grads([x, w]);
      });
      const out = [(await dx!.data()) as Float32Array, (await dw!.data()) as Float32Array];
      tf.dispose([dx!, dw!]);
      return out;
    };

    const [cpuDx, cpuDw] = await run('cpu');
    const [wasmDx, wasmDw] = await run('wasm');

    expect(wasmDx!.length).toBe(2 * 9 * 7 * 3);
    expect(maxRelativeError(wasmDx!, cpuDx!)).toBeLessThan(1e-5);
    expect(maxRelativeError(wasmDw!, cpuDw!)).toBeLessThan(1e-5);
  });

  it.each([
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ])('batched matMul on wasm matches cpu with transposeA=%s transposeB=%s', async (ta, tb) => {
    const aValues = Float32Array.from({ length: 2 * 5 * 3 }, (_, i) => Math.sin(i));
    const bValues = Float32Array.from({ length: 2 * 5 * 3 }, (_, i) => Math.cos(i));
    const run = async (backend: 'cpu' | 'wasm') => {
      await initNodeBackend(backend);
      const a = tf.tensor3d(aValues, ta ? [2, 3, 5] : [2, 5, 3]);
      const b = tf.tensor3d(bValues, tb ? [2, 5, 3] : [2, 3, 5]);
      const c = tf.matMul(a, b, ta, tb);
      const out = { shape: c.shape, values: (await c.data()) as Float32Array };
      tf.dispose([a, b, c]);
      return out;
    };

    const cpu = await run('cpu');
    const wasm = await run('wasm');

    expect(wasm.shape).toEqual([2, 5, 5]);
    expect(maxRelativeError(wasm.values, cpu.values)).toBeLessThan(1e-6);
  });

  it.each([
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ])('a short a times a large b (computed as (bᵀ·aᵀ)ᵀ) matches cpu with transposeA=%s transposeB=%s, also when b is reused', async (ta, tb) => {
    const aValues = Float32Array.from({ length: 3 * 64 }, (_, i) => Math.sin(i * 0.7));
    const bValues = Float32Array.from({ length: 64 * 300 }, (_, i) => Math.cos(i * 0.11));
    const run = async (backend: 'cpu' | 'wasm') => {
      await initNodeBackend(backend);
      const a = tf.tensor2d(aValues, ta ? [64, 3] : [3, 64]);
      const b = tf.tensor2d(bValues, tb ? [300, 64] : [64, 300]);
      const first = tf.matMul(a, b, ta, tb);
      const second = tf.matMul(a, b, ta, tb);
      const out = { shape: first.shape, first: (await first.data()) as Float32Array, second: (await second.data()) as Float32Array };
      tf.dispose([a, b, first, second]);
      return out;
    };

    const cpu = await run('cpu');
    const wasm = await run('wasm');

    expect(wasm.shape).toEqual([3, 300]);
    // 64-term float32 sums in another order: ~1e-6 apart.
    expect(maxRelativeError(wasm.first, cpu.first)).toBeLessThan(1e-5);
    expect(maxRelativeError(wasm.second, cpu.second)).toBeLessThan(1e-5);
  });

  it.each<[string, [number, number], [number, number], 'same' | 'valid']>([
    ['2×2 windows, stride 2', [2, 2], [2, 2], 'valid'],
    ['overlapping 3×3 windows, stride 2, same padding', [3, 3], [2, 2], 'same'],
  ])('max-pool gradient on wasm matches cpu with ties and negative windows: %s', async (_name, filter, strides, pad) => {
    // Rounded values repeat (ties) and many windows hold only negatives.
    const xValues = Float32Array.from({ length: 2 * 7 * 6 * 3 }, (_, i) => Math.round(Math.sin(i * 0.9) * 2) - 1);
    const run = async (backend: 'cpu' | 'wasm') => {
      await initNodeBackend(backend);
      const dx = tf.tidy(() => {
        const x = tf.tensor4d(xValues, [2, 7, 6, 3]);
        const y = tf.maxPool(x, filter, strides, pad);
        const dy = tf.add(tf.reshape(tf.range(0, y.size), y.shape), 1);
        return tf.grad((a) => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, filter, strides, pad), dy)))(x);
      });
      const out = (await dx.data()) as Float32Array;
      dx.dispose();
      return out;
    };

    const cpu = await run('cpu');
    const wasm = await run('wasm');

    expect(Array.from(wasm)).toEqual(Array.from(cpu));
    expect(cpu.some((v) => v !== 0)).toBe(true);
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

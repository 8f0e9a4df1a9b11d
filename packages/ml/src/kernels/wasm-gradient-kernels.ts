import { getKernel, registerKernel, unregisterKernel } from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc } from '@tensorflow/tfjs';
import { fastBatchMatMul } from './batch-mat-mul-wasm.js';
import { conv2DBackpropFilterWasm } from './conv2d-backprop-filter-wasm.js';
import { fastConv2DBackpropInput } from './conv2d-backprop-input-wasm.js';
import { fastMaxPoolGrad } from './max-pool-grad-wasm.js';
import { unsortedSegmentSumWasm } from './unsorted-segment-sum-wasm.js';

const BACKEND = 'wasm';

/**
 * Kernels that training our templates needs on 'wasm' but tfjs-backend-wasm 4.22 does not ship.
 * Found by profiling a training step of each template on 'cpu' and diffing against the wasm kernel
 * list: Conv2DBackpropFilter (the CNN) and UnsortedSegmentSum (the gradient of an Embedding's
 * lookup, nextword-gru) are missing; MaxPoolGrad, Conv2DBackpropInput, Step and the GRU's ops exist.
 */
const MISSING: readonly KernelConfig[] = [
  { kernelName: 'Conv2DBackpropFilter', backendName: BACKEND, kernelFunc: conv2DBackpropFilterWasm },
  { kernelName: 'UnsortedSegmentSum', backendName: BACKEND, kernelFunc: unsortedSegmentSumWasm },
];

/** Shipped kernels whose backward-pass cases are slow; wrapped, falling back to the original. */
const FASTER: readonly { kernelName: string; wrap: (original: KernelFunc) => KernelFunc }[] = [
  { kernelName: 'BatchMatMul', wrap: fastBatchMatMul },
  { kernelName: 'Conv2DBackpropInput', wrap: fastConv2DBackpropInput },
  { kernelName: 'MaxPoolGrad', wrap: fastMaxPoolGrad },
];

const ours = new WeakSet<KernelFunc>();

/**
 * Registers the missing wasm gradient kernels and the faster backward-pass wrappers. Safe to call
 * many times, before or after the wasm backend is initialised.
 */
export function registerWasmGradientKernels(): void {
  for (const config of MISSING) {
    // A later tfjs that ships the kernel keeps its own.
    if (getKernel(config.kernelName, BACKEND) === undefined) registerKernel(config);
  }
  for (const { kernelName, wrap } of FASTER) {
    const original = getKernel(kernelName, BACKEND);
    if (original === undefined || ours.has(original.kernelFunc)) continue;
    const kernelFunc = wrap(original.kernelFunc);
    ours.add(kernelFunc);
    unregisterKernel(kernelName, BACKEND);
    // setupFunc binds the wasm export the original kernel calls; the backend runs it at init.
    registerKernel({ ...original, kernelFunc });
  }
}

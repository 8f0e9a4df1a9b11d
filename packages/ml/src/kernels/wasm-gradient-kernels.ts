import { getKernel, registerKernel } from '@tensorflow/tfjs';
import type { KernelConfig } from '@tensorflow/tfjs';
import { conv2DBackpropFilterWasm } from './conv2d-backprop-filter-wasm.js';

/**
 * Kernels that training our templates needs on 'wasm' but tfjs-backend-wasm 4.22 does not ship.
 * Found by profiling a training step of each template on 'cpu' and diffing against the wasm kernel
 * list: only Conv2DBackpropFilter is missing (MaxPoolGrad, Conv2DBackpropInput, Step exist).
 */
const MISSING_WASM_KERNELS: readonly KernelConfig[] = [
  { kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: conv2DBackpropFilterWasm },
];

/** Registers the missing wasm gradient kernels. Safe to call many times, before or after setBackend. */
export function registerWasmGradientKernels(): void {
  for (const config of MISSING_WASM_KERNELS) {
    // A later tfjs that ships the kernel keeps its own.
    if (getKernel(config.kernelName, config.backendName) === undefined) registerKernel(config);
  }
}

import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { ChorusError } from '@chorus/core';
import { registerWasmGradientKernels } from '../kernels/wasm-gradient-kernels.js';

export type NodeBackendName = 'wasm' | 'cpu';

let wasmPathsSet = false;

/** Folder holding tfjs-backend-wasm's .wasm binaries, with a trailing slash as setWasmPaths wants. */
export function wasmBinariesFolder(): string {
  const require = createRequire(import.meta.url);
  return path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + path.sep;
}

/**
 * Selects a tfjs backend in Node (tfjs-node cannot be installed here) and registers the gradient
 * kernels the wasm backend lacks. Returns the name of the backend now active.
 */
export async function initNodeBackend(backend: NodeBackendName = 'wasm'): Promise<string> {
  if (backend !== 'wasm' && backend !== 'cpu') {
    throw new ChorusError('INVALID_CONFIG', `initNodeBackend: backend must be "wasm" or "cpu", got "${String(backend)}"`);
  }
  registerWasmGradientKernels();
  if (backend === 'wasm' && !wasmPathsSet) {
    setWasmPaths(wasmBinariesFolder());
    wasmPathsSet = true;
  }
  if (tf.getBackend() !== backend) {
    const ok = await tf.setBackend(backend);
    if (!ok) throw new ChorusError('UNAVAILABLE', `initNodeBackend: tfjs backend "${backend}" failed to initialise`);
  }
  await tf.ready();
  return tf.getBackend();
}

import * as tf from '@tensorflow/tfjs';
import { ChorusError } from '@chorus/core';
import { registerWasmGradientKernels } from '@chorus/ml';
import type { BackendId } from './trainer-protocol.js';
import type { WasmVariantChoice } from './wasm-variant.js';
import { installThreadedSimdSource, withThreadsAllowed } from './wasm-threaded-source.js';

interface GpuLike {
  requestAdapter(): Promise<{ info?: { vendor?: string; architecture?: string; description?: string }; isFallbackAdapter?: boolean } | null>;
}

interface BackendLoader {
  /** Undefined when usable here, else why not (shown to the participant when they force it). */
  unavailableReason(): Promise<string | undefined>;
  /** Registers the backend with tfjs (idempotent). */
  register(wasmBaseUrl: string): Promise<void>;
}

/**
 * The wasm build this worker starts: tfjs reads its flags once, when the wasm backend first starts,
 * so the first choice holds for the worker's life. Set by `useWasmVariant` before any trial.
 */
let wasmVariant: WasmVariantChoice = { variant: 'single', threads: 1, reason: 'not chosen yet' };
let wasmStarted = false;

/** Chooses the wasm build for this worker (see chooseWasmVariant); no effect once wasm has started. */
export function useWasmVariant(choice: WasmVariantChoice): void {
  if (!wasmStarted) wasmVariant = choice;
}

/** The wasm build this worker runs or will run, with why (a failed threaded start says so here). */
export function currentWasmVariant(): WasmVariantChoice {
  return wasmVariant;
}

const gpu = (): GpuLike | undefined => (globalThis.navigator as { gpu?: GpuLike } | undefined)?.gpu;

/**
 * One entry per backend instead of if/else chains: adding a backend adds a loader. Backends other
 * than cpu are imported on demand so a device never downloads code it cannot use.
 */
const LOADERS: Record<BackendId, BackendLoader> = {
  webgpu: {
    async unavailableReason() {
      const g = gpu();
      if (!g) return 'this browser has no WebGPU (navigator.gpu is missing)';
      const adapter = await g.requestAdapter().catch(() => null);
      return adapter ? undefined : 'WebGPU is present but offered no adapter';
    },
    async register() {
      await import('@tensorflow/tfjs-backend-webgpu');
    },
  },
  webgl: {
    async unavailableReason() {
      if (typeof OffscreenCanvas === 'undefined' && typeof document === 'undefined') return 'no OffscreenCanvas for WebGL in a worker';
      const canvas = typeof OffscreenCanvas !== 'undefined' ? new OffscreenCanvas(1, 1) : document.createElement('canvas');
      return canvas.getContext('webgl2') ? undefined : 'WebGL2 is not available';
    },
    async register() {
      // @tensorflow/tfjs registers webgl itself.
    },
  },
  wasm: {
    async unavailableReason() {
      return typeof WebAssembly === 'object' ? undefined : 'WebAssembly is not available';
    },
    async register(wasmBaseUrl) {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      if (!wasmStarted) {
        wasm.setWasmPaths(wasmBaseUrl);
        if (wasmVariant.variant === 'threaded-simd') {
          try {
            await installThreadedSimdSource(wasmBaseUrl);
            wasm.setThreadsCount(wasmVariant.threads);
          } catch (err) {
            // Without the unminified factory every pthread would die: run one thread instead.
            wasmVariant = { variant: 'single', threads: 1, reason: `threads unavailable: ${err instanceof Error ? err.message : String(err)}` };
          }
        }
        // tfjs would pick its threaded build by itself wherever SharedArrayBuffer exists.
        if (wasmVariant.variant === 'single') tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
        wasmStarted = true;
      }
      registerWasmGradientKernels();
    },
  },
  cpu: {
    async unavailableReason() {
      return undefined;
    },
    async register() {
      // @tensorflow/tfjs registers cpu itself.
    },
  },
};

/** Backends usable on this device, in BACKEND_IDS order, with the reasons for the others. */
export async function probeBackends(candidates: readonly BackendId[]): Promise<{ usable: BackendId[]; unusable: Map<BackendId, string> }> {
  const usable: BackendId[] = [];
  const unusable = new Map<BackendId, string>();
  for (const id of candidates) {
    const reason = await LOADERS[id].unavailableReason();
    if (reason) unusable.set(id, reason);
    else usable.push(id);
  }
  return { usable, unusable };
}

/** Makes `id` tfjs's active backend; throws UNAVAILABLE (with the reason) when it cannot be. */
export async function activateBackend(id: BackendId, wasmBaseUrl: string): Promise<void> {
  const reason = await LOADERS[id].unavailableReason();
  if (reason) throw new ChorusError('UNAVAILABLE', `backend "${id}" cannot be used on this device: ${reason}`);
  await LOADERS[id].register(wasmBaseUrl);
  let ok: boolean;
  try {
    const start = () => tf.setBackend(id);
    ok = id === 'wasm' && wasmVariant.variant === 'threaded-simd' ? await withThreadsAllowed(wasmVariant.threads, start) : await start();
  } catch (err) {
    throw new ChorusError('UNAVAILABLE', `backend "${id}" failed to start: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (!ok) throw new ChorusError('UNAVAILABLE', `backend "${id}" failed to start on this device`);
  await tf.ready();
}

/** Identifies the device for the trial cache: a browser update or a new GPU measures again. */
export async function deviceKey(): Promise<string> {
  const nav = globalThis.navigator as (Navigator & { gpu?: GpuLike }) | undefined;
  let gpuName = 'none';
  const adapter = await gpu()?.requestAdapter().catch(() => null);
  if (adapter) gpuName = [adapter.info?.vendor, adapter.info?.architecture, adapter.info?.description, adapter.isFallbackAdapter ? 'fallback' : ''].filter(Boolean).join('/');
  // Isolation decides whether wasm can use threads, so an isolated page measures again.
  const isolation = globalThis.crossOriginIsolated === true ? 'isolated' : 'not-isolated';
  return [nav?.userAgent ?? 'unknown', nav?.hardwareConcurrency ?? 0, gpuName, isolation].join('|');
}

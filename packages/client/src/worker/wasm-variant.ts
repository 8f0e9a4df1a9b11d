/**
 * Which build of tfjs-backend-wasm the trainer worker starts. The threaded SIMD build needs
 * SharedArrayBuffer, which browsers hand out only to cross-origin isolated pages (COOP + COEP) and
 * their workers; it only pays off with more than one core (a pool of one thread is the
 * single-threaded build plus message passing).
 */
export type WasmVariant = 'threaded-simd' | 'single';

export interface WasmVariantInput {
  /** `globalThis.crossOriginIsolated` where the worker runs. */
  readonly crossOriginIsolated: boolean;
  /** `navigator.hardwareConcurrency` (0 or missing when the browser hides it). */
  readonly hardwareConcurrency: number | undefined;
  /** The set-up's `wasmThreads` switch; false forces one thread (benchmarks compare the two). */
  readonly allowThreads: boolean | undefined;
}

export interface WasmVariantChoice {
  readonly variant: WasmVariant;
  /** Threads the pool is asked for (1 for the single-threaded build). */
  readonly threads: number;
  /** Why, in words a participant can read on the device check. */
  readonly reason: string;
}

/** tfjs-backend-wasm pre-creates 8 pthreads; its pool never uses more. */
const MAX_THREADS = 8;

/** Threads for the wasm backend: one per logical core (at most 8) when isolated with more than one core, else one. */
export function chooseWasmVariant(input: WasmVariantInput): WasmVariantChoice {
  const cores = Number.isInteger(input.hardwareConcurrency) && input.hardwareConcurrency! > 0 ? input.hardwareConcurrency! : 1;
  if (input.allowThreads === false) return { variant: 'single', threads: 1, reason: 'threads turned off for this run' };
  if (!input.crossOriginIsolated) return { variant: 'single', threads: 1, reason: 'the page is not cross-origin isolated (no SharedArrayBuffer)' };
  if (cores < 2) return { variant: 'single', threads: 1, reason: 'this device reports one core' };
  const threads = Math.min(cores, MAX_THREADS);
  return { variant: 'threaded-simd', threads, reason: `cross-origin isolated, ${cores} cores` };
}

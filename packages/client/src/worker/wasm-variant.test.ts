import { describe, expect, it } from 'vitest';
import { chooseWasmVariant } from './wasm-variant.js';

describe('chooseWasmVariant', () => {
  it('uses one thread per core when the page is cross-origin isolated on a multi-core device', () => {
    expect(chooseWasmVariant({ crossOriginIsolated: true, hardwareConcurrency: 2, allowThreads: undefined })).toMatchObject({ variant: 'threaded-simd', threads: 2 });
    expect(chooseWasmVariant({ crossOriginIsolated: true, hardwareConcurrency: 8, allowThreads: true })).toMatchObject({ variant: 'threaded-simd', threads: 8 });
    // tfjs pre-creates 8 pthreads: more would only add workers.
    expect(chooseWasmVariant({ crossOriginIsolated: true, hardwareConcurrency: 32, allowThreads: true })).toMatchObject({ variant: 'threaded-simd', threads: 8 });
  });

  it('stays single-threaded without isolation (a partner page\'s iframe), whatever the cores', () => {
    const choice = chooseWasmVariant({ crossOriginIsolated: false, hardwareConcurrency: 16, allowThreads: undefined });
    expect(choice).toMatchObject({ variant: 'single', threads: 1 });
    expect(choice.reason).toMatch(/not cross-origin isolated/);
  });

  it('stays single-threaded on one core, or when the core count is hidden', () => {
    expect(chooseWasmVariant({ crossOriginIsolated: true, hardwareConcurrency: 1, allowThreads: undefined })).toMatchObject({ variant: 'single', threads: 1 });
    expect(chooseWasmVariant({ crossOriginIsolated: true, hardwareConcurrency: undefined, allowThreads: undefined })).toMatchObject({ variant: 'single', threads: 1 });
    expect(chooseWasmVariant({ crossOriginIsolated: true, hardwareConcurrency: 0, allowThreads: undefined })).toMatchObject({ variant: 'single', threads: 1 });
  });

  it('honours wasmThreads: false even where threads would run', () => {
    expect(chooseWasmVariant({ crossOriginIsolated: true, hardwareConcurrency: 4, allowThreads: false })).toMatchObject({ variant: 'single', threads: 1, reason: 'threads turned off for this run' });
  });
});

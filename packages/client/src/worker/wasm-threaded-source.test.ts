import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import vm from 'node:vm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { THREADED_SIMD_SOURCE_FILE, threadedSimdFactoryExpression, withThreadsAllowed } from './wasm-threaded-source.js';

const require = createRequire(import.meta.url);
const packageDir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
const fileText = readFileSync(path.join(packageDir, 'wasm-out', THREADED_SIMD_SOURCE_FILE), 'utf8');

describe('threadedSimdFactoryExpression', () => {
  it('gives the script tfjs hands each pthread a global factory, with nothing from outside it', () => {
    // What backend_wasm.js puts in the pthread Blob, run in a bare context like a classic worker
    // (no module, exports, define, or any bundle-level name).
    const script = `var WasmBackendModuleThreadedSimd = ${threadedSimdFactoryExpression(fileText)}`;
    const context = vm.createContext({});
    vm.runInContext(script, context);
    expect(typeof context.WasmBackendModuleThreadedSimd).toBe('function');
    // The Emscripten factory itself, not the file's module wrapper.
    expect(String(context.WasmBackendModuleThreadedSimd)).toContain('WasmBackendModuleThreadedSimd.ready');
  });

  it('refuses a file that is not the factory (an HTML error page, say) with a typed error', () => {
    expect(() => threadedSimdFactoryExpression('<!doctype html><title>404</title>')).toThrow(expect.objectContaining({ code: 'UNAVAILABLE' }));
  });
});

describe('withThreadsAllowed', () => {
  afterEach(() => vi.unstubAllGlobals());

  /** A navigator whose hardwareConcurrency is a prototype getter, as in a browser worker. */
  function stubNavigator(cores: number) {
    const nav = Object.create({ get hardwareConcurrency() { return cores; } }) as { hardwareConcurrency: number };
    vi.stubGlobal('navigator', nav);
    return nav;
  }

  it('reports twice the threads while wasm starts (tfjs halves it), then the real count again', async () => {
    const nav = stubNavigator(2);
    const seen = await withThreadsAllowed(2, async () => nav.hardwareConcurrency);
    expect(seen).toBe(4);
    expect(nav.hardwareConcurrency).toBe(2);
  });

  it('restores the real count when the start fails', async () => {
    const nav = stubNavigator(6);
    await expect(withThreadsAllowed(3, async () => Promise.reject(new Error('no wasm')))).rejects.toThrow('no wasm');
    expect(nav.hardwareConcurrency).toBe(6);
  });
});

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { THREADED_SIMD_SOURCE_FILE, threadedSimdFactoryExpression } from './wasm-threaded-source.js';

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

import threadedSimdFactory from '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js';
import { ChorusError } from '@chorus/core';

/** The unminified Emscripten factory, copied next to the .wasm files by scripts/build-web-assets.ts. */
export const THREADED_SIMD_SOURCE_FILE = 'tfjs-backend-wasm-threaded-simd.js';

/**
 * tfjs-backend-wasm starts each pthread from a Blob of `factory.toString()` (backend_wasm.js,
 * `mainScriptUrlOrBlob`). In a minified bundle that text refers to names the minifier renamed
 * outside the function (`ReferenceError: r is not defined` in every pthread), and tfjs offers no
 * option to point pthreads at a script instead. The factory is one object shared with tfjs (it
 * imports the same module), so giving it an own `toString` that returns the package's own,
 * unminified factory makes the pthread Blob self-contained again; the main thread keeps running
 * the bundled copy of the same code.
 */
export function threadedSimdFactoryExpression(fileText: string): string {
  if (!/\bvar WasmBackendModuleThreadedSimd\b/.test(fileText)) {
    throw new ChorusError('UNAVAILABLE', `${THREADED_SIMD_SOURCE_FILE} does not define WasmBackendModuleThreadedSimd (not tfjs-backend-wasm's factory)`);
  }
  // tfjs prepends `var WasmBackendModuleThreadedSimd = `, so this must be one expression. Inside a
  // classic pthread worker `exports`, `module` and `define` are undefined: the file's export
  // footer does nothing there.
  return `(function () {\n${fileText}\n;return WasmBackendModuleThreadedSimd;\n})()`;
}

let installed: Promise<void> | undefined;

/** Downloads the unminified factory from `wasmBaseUrl` and makes tfjs's pthread Blob use it (once per worker). */
export function installThreadedSimdSource(wasmBaseUrl: string): Promise<void> {
  installed ??= (async () => {
    const url = `${wasmBaseUrl}${THREADED_SIMD_SOURCE_FILE}`;
    const response = await fetch(url);
    if (!response.ok) throw new ChorusError('UNAVAILABLE', `threaded wasm: GET ${url} answered ${response.status}`);
    const expression = threadedSimdFactoryExpression(await response.text());
    Object.defineProperty(threadedSimdFactory, 'toString', { value: () => expression, configurable: true, writable: true });
  })();
  installed.catch(() => {
    installed = undefined;
  });
  return installed;
}

/**
 * Runs `start` (the wasm backend's first start) while `navigator.hardwareConcurrency` reads
 * `2 × threads` in this worker, then restores it. tfjs 4.22 caps its pool at
 * `hardwareConcurrency / 2` (backend.cc assumes two hyper-threads per core, read once when the
 * module instantiates), so on a 2-core device `setThreadsCount(2)` alone still gives one thread.
 */
export async function withThreadsAllowed<T>(threads: number, start: () => Promise<T>): Promise<T> {
  const nav = globalThis.navigator as Navigator | undefined;
  if (!nav) return start();
  Object.defineProperty(nav, 'hardwareConcurrency', { get: () => 2 * threads, configurable: true });
  try {
    return await start();
  } finally {
    // The own property shadowed the prototype's getter: removing it restores the real count.
    delete (nav as { hardwareConcurrency?: number }).hardwareConcurrency;
  }
}

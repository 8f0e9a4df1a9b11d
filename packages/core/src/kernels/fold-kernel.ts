import { ChorusError } from '../errors/chorus-error.js';
import { FOLD_KERNEL_WASM, KERNEL_GROUP, type FoldKernelExports } from './fold-kernel-module.js';

/**
 * Fast folds into a running sum that lives in WebAssembly memory. `allocateFoldTarget` hands out a
 * Float32Array backed by a kernel instance's memory; codecs' `foldInto` looks the target up here and,
 * when it belongs to a kernel, copies the (small) encoded body next to it and folds with SIMD.
 * Any other Float32Array, or an engine without WASM SIMD (or a CSP that forbids compiling it),
 * takes the codecs' plain JS loops: same results within float rounding.
 */
export interface FoldKernel {
  /** Folds the first `chunks × chunkLen` values of an int8 body (scales first, then int8 values). Returns values folded. */
  foldInt8(target: Float32Array, body: Uint8Array, scaleCount: number, chunks: number, chunkLen: number, weight: number): number;
  /** Folds the largest multiple of 16 of `length` float32 values. Returns values folded. */
  foldFloat32(target: Float32Array, body: Uint8Array, length: number, weight: number): number;
  /** Folds the largest multiple of 16 of `length` float16 values. Returns values folded. */
  foldFloat16(target: Float32Array, body: Uint8Array, length: number, weight: number): number;
}

const PAGE = 65536;
let compiled: WebAssembly.Module | null | undefined;
const kernels = new WeakMap<ArrayBufferLike, FoldKernel>();

function kernelModule(): WebAssembly.Module | null {
  if (compiled !== undefined) return compiled;
  compiled = null;
  try {
    if (typeof WebAssembly === 'object' && WebAssembly.validate(FOLD_KERNEL_WASM)) {
      // Synchronous compile is fine (and allowed on the main thread) for a module under 4 KiB.
      compiled = new WebAssembly.Module(FOLD_KERNEL_WASM);
    }
  } catch {
    compiled = null;
  }
  return compiled;
}

/** True when this engine runs the SIMD fold kernel. */
export function foldKernelAvailable(): boolean {
  return kernelModule() !== null;
}

export interface FoldTargetOptions {
  /** Set false to get a plain Float32Array (JS folds), e.g. to compare speeds. @default true */
  readonly useKernel?: boolean;
}

/**
 * A zeroed Float32Array of `length` values to accumulate folds into; kernel-backed when possible.
 * Costs about twice the model's float32 size: the sum plus scratch room for one encoded body.
 */
export function allocateFoldTarget(length: number, options: FoldTargetOptions = {}): Float32Array {
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new ChorusError('SHAPE_MISMATCH', `allocateFoldTarget: length must be a non-negative integer, got ${length}`);
  }
  const module = options.useKernel === false ? null : kernelModule();
  if (!module) return new Float32Array(length);
  const sumBytes = Math.ceil((length * 4) / 16) * 16;
  const scratchBytes = length * 4 + 64;
  let memory: WebAssembly.Memory;
  let instance: WebAssembly.Instance;
  try {
    memory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil((sumBytes + scratchBytes) / PAGE)) });
    instance = new WebAssembly.Instance(module, { env: { memory } });
  } catch {
    return new Float32Array(length);
  }
  const target = new Float32Array(memory.buffer, 0, length);
  kernels.set(memory.buffer, createKernel(memory, instance.exports as unknown as FoldKernelExports, sumBytes));
  return target;
}

/** Whether folds into `target` run in the SIMD kernel (it came from allocateFoldTarget with a kernel). */
export function isKernelFoldTarget(target: Float32Array): boolean {
  return findFoldKernel(target) !== null;
}

/** The kernel that can fold into `target`, or null when the target is an ordinary array. */
export function findFoldKernel(target: Float32Array): FoldKernel | null {
  return kernels.get(target.buffer) ?? null;
}

function createKernel(memory: WebAssembly.Memory, exports: FoldKernelExports, scratch: number): FoldKernel {
  const bytes = new Uint8Array(memory.buffer);
  const sumPointer = (target: Float32Array, length: number): number => {
    if (target.byteOffset + length * 4 > scratch) {
      throw new ChorusError('INTERNAL', 'fold target overlaps the kernel scratch area');
    }
    return target.byteOffset;
  };
  return {
    foldInt8(target, body, scaleCount, chunks, chunkLen, weight) {
      if (chunkLen % KERNEL_GROUP !== 0) return 0;
      const sum = sumPointer(target, chunks * chunkLen);
      bytes.set(body.subarray(0, scaleCount * 4 + chunks * chunkLen), scratch);
      exports.foldInt8(sum, scratch + scaleCount * 4, scratch, chunks, chunkLen, weight);
      return chunks * chunkLen;
    },
    foldFloat32(target, body, length, weight) {
      const n = length - (length % KERNEL_GROUP);
      const sum = sumPointer(target, n);
      bytes.set(body.subarray(0, n * 4), scratch);
      exports.foldFloat32(sum, scratch, n, weight);
      return n;
    },
    foldFloat16(target, body, length, weight) {
      const n = length - (length % KERNEL_GROUP);
      const sum = sumPointer(target, n);
      bytes.set(body.subarray(0, n * 2), scratch);
      exports.foldFloat16(sum, scratch, n, weight);
      return n;
    },
  };
}

let norms: { memory: WebAssembly.Memory; exports: FoldKernelExports } | null | undefined;

/**
 * Σ q² × scale² over the first `chunks` whole chunks of an int8 body (scales first, then int8
 * values), the same bits as the codec's JS loop, or null when the kernel is unavailable (the caller
 * runs that loop). The server checks the norm of every update it takes; in JS this was the largest
 * single cost of accepting a 2NN update. One instance with its own memory, grown to the largest body.
 */
export function int8SumOfSquares(body: Uint8Array, scaleCount: number, chunks: number, chunkLen: number): number | null {
  if (chunks === 0 || chunkLen % KERNEL_GROUP !== 0) return null;
  if (norms === undefined) {
    const module = kernelModule();
    norms = null;
    if (module) {
      try {
        const memory = new WebAssembly.Memory({ initial: 1 });
        norms = { memory, exports: new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as FoldKernelExports };
      } catch {
        norms = null;
      }
    }
  }
  if (!norms) return null;
  const scaleBytes = scaleCount * 4;
  const need = scaleBytes + chunks * chunkLen;
  const have = norms.memory.buffer.byteLength;
  if (have < need) norms.memory.grow(Math.ceil((need - have) / PAGE));
  new Uint8Array(norms.memory.buffer).set(body.subarray(0, need), 0);
  return norms.exports.sumSquaresInt8(scaleBytes, 0, chunks, chunkLen);
}

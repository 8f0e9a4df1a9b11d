import { getKernel, util } from '@tensorflow/tfjs';
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { WasmBackendLike } from './wasm-backend-like.js';

/** Below this many elements in b, packing it is cheap and the product runs as asked. */
const SWAP_MIN_B_SIZE = 16_384;

/**
 * tfjs-backend-wasm 4.22 runs a·b on XNNPACK as a fully-connected layer with b as its weights,
 * packing b into a new operator (single-threaded, ~6 ns per element) whenever b is a tensor it
 * has not packed before, and only then runs the (threaded) product. In training every weight is a
 * new tensor each step, so a dense layer's forward x·W and backward dy·Wᵀ spent ~10 ms of a
 * ~70 ms CNN step packing its 1.6 M weights on one thread while the product itself took ~1 ms.
 * When a has few rows, (bᵀ·aᵀ)ᵀ packs only the small a instead.
 */
export function shouldSwap(rowsA: number, colsB: number, bSize: number): boolean {
  return bSize >= SWAP_MIN_B_SIZE && rowsA * 4 <= colsB;
}

/** b tensors we multiplied swapped once: seen again (evaluation reuses weights), the packed operator pays off. */
const seenAsWeights = new WeakSet<object>();

/**
 * tfjs-backend-wasm 4.22 multiplies with XNNPACK only when neither operand is transposed; with
 * transposeA/transposeB it falls back to a loop ~10–20× slower. Every dense layer's backward pass
 * asks for a transpose (dW = xᵀ·dy, dx = dy·Wᵀ), so transposing explicitly first is much faster.
 */
export function fastBatchMatMul(original: KernelFunc): KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
    const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return original(args);
    const wasm = backend as unknown as WasmBackendLike;
    const transpose = getKernel('Transpose', 'wasm')!.kernelFunc;
    const swapLast = (x: TensorInfo): TensorInfo => {
      const perm = x.shape.map((_, i) => i);
      [perm[perm.length - 2], perm[perm.length - 1]] = [perm[perm.length - 1]!, perm[perm.length - 2]!];
      return transpose({ inputs: { x }, backend, attrs: { perm } }) as TensorInfo;
    };
    /** x·y with explicit transposes, so the original kernel always takes its XNNPACK path. */
    const plain = (x: TensorInfo, y: TensorInfo, tx: boolean, ty: boolean): TensorInfo => {
      const x2 = tx ? swapLast(x) : x;
      const y2 = ty ? swapLast(y) : y;
      const out = original({ inputs: { a: x2, b: y2 }, backend, attrs: { ...attrs, transposeA: false, transposeB: false } }) as TensorInfo;
      if (x2 !== x) wasm.disposeData(x2.dataId);
      if (y2 !== y) wasm.disposeData(y2.dataId);
      return out;
    };
    const batch = (t: TensorInfo) => util.sizeFromShape(t.shape.slice(0, -2));
    const rowsA = a.shape[transposeA ? a.shape.length - 1 : a.shape.length - 2]!;
    const colsB = b.shape[transposeB ? b.shape.length - 2 : b.shape.length - 1]!;
    const bSize = util.sizeFromShape(b.shape);
    // With transposeB the direct path packs a fresh transposed copy every call anyway.
    const reusedWeights = !transposeB && seenAsWeights.has(b.dataId);
    if (batch(a) === 1 && batch(b) === 1 && !reusedWeights && shouldSwap(rowsA, colsB, bSize)) {
      if (!transposeB) seenAsWeights.add(b.dataId);
      const outT = plain(b, a, !transposeB, !transposeA);
      const out = swapLast(outT);
      wasm.disposeData(outT.dataId);
      return out;
    }
    if (!transposeA && !transposeB) return original(args);
    return plain(a, b, transposeA, transposeB);
  };
}

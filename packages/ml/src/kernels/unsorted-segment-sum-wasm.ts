import { util } from '@tensorflow/tfjs';
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { WasmBackendLike } from './wasm-backend-like.js';

/**
 * out[s] = Σ x[i] over the rows i whose segmentIds[i] = s; ids outside [0, numSegments) are dropped,
 * as on cpu. The gradient of Gather (an Embedding layer's lookup) is this sum with 1-D ids, the only
 * case tfjs's own backward passes produce, so only that case is supported.
 */
export function unsortedSegmentSumRows(x: Float32Array, segmentIds: Int32Array, numSegments: number, out: Float32Array): void {
  const rowLen = segmentIds.length === 0 ? 0 : x.length / segmentIds.length;
  out.fill(0);
  for (let i = 0; i < segmentIds.length; i++) {
    const s = segmentIds[i]!;
    if (s < 0 || s >= numSegments) continue;
    const from = i * rowLen;
    const to = s * rowLen;
    for (let j = 0; j < rowLen; j++) out[to + j]! += x[from + j]!;
  }
}

export const unsortedSegmentSumWasm: KernelFunc = ({ inputs, backend, attrs }) => {
  const wasm = backend as unknown as WasmBackendLike;
  const { x, segmentIds } = inputs as { x: TensorInfo; segmentIds: TensorInfo };
  const { numSegments } = attrs as unknown as { numSegments: number };
  util.assert(x.dtype === 'float32', () => `UnsortedSegmentSum on wasm needs float32 x, got ${x.dtype}`);
  util.assert(segmentIds.dtype === 'int32', () => `UnsortedSegmentSum on wasm needs int32 segmentIds, got ${segmentIds.dtype}`);
  util.assert(
    segmentIds.shape.length === 1 && x.shape.length >= 1 && x.shape[0] === segmentIds.shape[0],
    () => `UnsortedSegmentSum on wasm supports 1-D segmentIds as long as x's first axis, got x [${x.shape}] and segmentIds [${segmentIds.shape}]`,
  );
  util.assert(Number.isInteger(numSegments) && numSegments >= 0, () => `UnsortedSegmentSum: numSegments must be a non-negative integer, got ${numSegments}`);
  const out = wasm.makeOutput([numSegments, ...x.shape.slice(1)], 'float32');
  // Views are taken after the allocation: growing the wasm heap detaches earlier views.
  unsortedSegmentSumRows(
    wasm.typedArrayFromHeap(x),
    wasm.typedArrayFromHeap(segmentIds) as unknown as Int32Array,
    numSegments,
    wasm.typedArrayFromHeap(out),
  );
  return out;
};

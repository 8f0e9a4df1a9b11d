import { backend_util } from '@tensorflow/tfjs';
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { WasmBackendLike } from './wasm-backend-like.js';

interface MaxPoolGradAttrs {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/**
 * dx = dy routed to each window's maximum, the first one in row-major window order when several
 * are equal (as the cpu backend does; windows holding only NaN or −∞ pass nothing). Overlapping
 * windows add up. Channels are the inner loop so x, dy and dx are read in memory order.
 */
export function maxPoolBackprop(x: Float32Array, dy: Float32Array, info: backend_util.Conv2DInfo, dx: Float32Array): void {
  const { batchSize, inHeight, inWidth, inChannels: channels, outHeight, outWidth } = info;
  const { strideHeight, strideWidth, dilationHeight, dilationWidth, effectiveFilterHeight, effectiveFilterWidth } = info;
  const padTop = info.padInfo.top;
  const padLeft = info.padInfo.left;
  const maxValue = new Float32Array(channels);
  const maxPosition = new Int32Array(channels);
  dx.fill(0);
  let dyIndex = 0;
  for (let b = 0; b < batchSize; b++) {
    for (let oh = 0; oh < outHeight; oh++) {
      const rCorner = oh * strideHeight - padTop;
      let rMin = rCorner;
      while (rMin < 0) rMin += dilationHeight;
      const rMax = Math.min(inHeight, effectiveFilterHeight + rCorner);
      for (let ow = 0; ow < outWidth; ow++, dyIndex += channels) {
        const cCorner = ow * strideWidth - padLeft;
        let cMin = cCorner;
        while (cMin < 0) cMin += dilationWidth;
        const cMax = Math.min(inWidth, effectiveFilterWidth + cCorner);
        maxValue.fill(-Infinity);
        maxPosition.fill(-1);
        for (let r = rMin; r < rMax; r += dilationHeight) {
          for (let col = cMin; col < cMax; col += dilationWidth) {
            const base = ((b * inHeight + r) * inWidth + col) * channels;
            for (let c = 0; c < channels; c++) {
              const v = x[base + c]!;
              if (v > maxValue[c]!) {
                maxValue[c] = v;
                maxPosition[c] = base + c;
              }
            }
          }
        }
        for (let c = 0; c < channels; c++) {
          const at = maxPosition[c]!;
          if (at >= 0) dx[at]! += dy[dyIndex + c]!;
        }
      }
    }
  }
}

/**
 * tfjs-backend-wasm 4.22's MaxPoolGrad is a generic 3-D pooling loop (~18 ns per input element,
 * 6–7 ms of a CNN training step, all on one thread whatever the thread count); it also starts its
 * running maximum at FLT_MIN, so windows of non-positive values lose their gradient. This loop is
 * several times faster and agrees with the cpu backend.
 */
export function fastMaxPoolGrad(original: KernelFunc): KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const { dy, input } = inputs as { dy: TensorInfo; input: TensorInfo };
    if (dy.dtype !== 'float32' || input.dtype !== 'float32' || input.shape.length !== 4) return original(args);
    const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as MaxPoolGradAttrs;
    const info = backend_util.computePool2DInfo(input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
    const wasm = backend as unknown as WasmBackendLike;
    const dx = wasm.makeOutput([...input.shape], 'float32');
    // Views are taken after the allocation: growing the wasm heap detaches earlier views.
    maxPoolBackprop(wasm.typedArrayFromHeap(input), wasm.typedArrayFromHeap(dy), info, wasm.typedArrayFromHeap(dx));
    return dx;
  };
}

import { backend_util, getKernel, util } from '@tensorflow/tfjs';
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { WasmBackendLike } from './wasm-backend-like.js';

interface Conv2DBackpropFilterAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

/**
 * Fills `colsT` ([fh·fw·inC, batch·outH·outW], row-major) with the input patches each output pixel
 * saw in the forward convolution, one patch per column; padded positions are zero. Built already
 * transposed because the wasm BatchMatMul is ~10× slower with transposeA/transposeB set.
 */
export function im2colTransposed(x: Float32Array, info: backend_util.Conv2DInfo, colsT: Float32Array): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth } = info;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
  const { dilationHeight: dh, dilationWidth: dw } = info;
  const padTop = info.padInfo.top;
  const padLeft = info.padInfo.left;
  const columns = batchSize * outHeight * outWidth;
  for (let kh = 0; kh < fh; kh++) {
    for (let kw = 0; kw < fw; kw++) {
      for (let c = 0; c < inChannels; c++) {
        let out = ((kh * fw + kw) * inChannels + c) * columns;
        for (let b = 0; b < batchSize; b++) {
          for (let oh = 0; oh < outHeight; oh++) {
            const ih = oh * sh - padTop + kh * dh;
            const rowOk = ih >= 0 && ih < inHeight;
            const rowBase = ((b * inHeight + ih) * inWidth) * inChannels + c;
            for (let ow = 0; ow < outWidth; ow++, out++) {
              const iw = ow * sw - padLeft + kw * dw;
              colsT[out] = rowOk && iw >= 0 && iw < inWidth ? x[rowBase + iw * inChannels]! : 0;
            }
          }
        }
      }
    }
  }
}

/**
 * dW = im2col(x)ᵀ · dy. The patch matrix is built in JS straight into the wasm heap; the product runs
 * on the backend's own BatchMatMul kernel (XNNPACK), which carries nearly all of the arithmetic.
 */
export const conv2DBackpropFilterWasm: KernelFunc = ({ inputs, backend, attrs }) => {
  const wasm = backend as unknown as WasmBackendLike;
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as Conv2DBackpropFilterAttrs;
  util.assert(dataFormat === 'NHWC', () => `Conv2DBackpropFilter on wasm supports dataFormat NHWC only, got ${dataFormat}`);
  util.assert(x.dtype === 'float32' && dy.dtype === 'float32', () => 'Conv2DBackpropFilter on wasm needs float32 x and dy');
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  const rows = info.batchSize * info.outHeight * info.outWidth;
  const rowLen = info.filterHeight * info.filterWidth * info.inChannels;
  util.assert(
    util.sizeFromShape(dy.shape) === rows * info.outChannels,
    () => `Conv2DBackpropFilter: dy shape [${dy.shape}] does not match the convolution's output [${info.outShape}]`,
  );

  const colsT = wasm.makeOutput([1, rowLen, rows], 'float32');
  // Views are taken after the allocation: growing the wasm heap detaches earlier views.
  im2colTransposed(wasm.typedArrayFromHeap(x), info, wasm.typedArrayFromHeap(colsT));

  const reshape = getKernel('Reshape', 'wasm')!.kernelFunc;
  const batchMatMul = getKernel('BatchMatMul', 'wasm')!.kernelFunc;
  const dy3d = reshape({ inputs: { x: dy }, backend, attrs: { shape: [1, rows, info.outChannels] } }) as TensorInfo;
  const out = batchMatMul({
    inputs: { a: colsT, b: dy3d },
    backend,
    attrs: { transposeA: false, transposeB: false },
  }) as TensorInfo;
  wasm.disposeData(colsT.dataId);
  wasm.disposeData(dy3d.dataId);
  return { dataId: out.dataId, dtype: out.dtype, shape: [...filterShape] };
};

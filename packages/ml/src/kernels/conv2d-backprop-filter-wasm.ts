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
 * For stride 1, dW[kh, kw, ci, co] = Σ_{b, oh, ow} x[b, oh + kh − top, ow + kw − left, ci] · dy[b, oh, ow, co]
 * is itself a convolution: of x with batch and channels swapped ([ci, H, W, b]) by dy as the filter
 * ([oh, ow, b, co]), giving [ci, fh, fw, co]. The wasm Conv2D runs that on XNNPACK across the thread
 * pool; building im2col in JS (below) left ~4 ms of a CNN step on one thread. Undefined when the
 * padding does not fit (the caller falls back to im2col).
 */
function stride1FilterGradient(
  wasm: WasmBackendLike,
  backend: object,
  x: TensorInfo,
  dy: TensorInfo,
  info: backend_util.Conv2DInfo,
): TensorInfo | undefined {
  const { strideHeight, strideWidth, dilationHeight, dilationWidth, filterHeight: fh, filterWidth: fw } = info;
  if (strideHeight !== 1 || strideWidth !== 1 || dilationHeight !== 1 || dilationWidth !== 1) return undefined;
  // This path transposes and packs dy (serially) where im2col builds the patches: with fewer patch
  // values per pixel than twice dy's channels (a first layer on 1-channel images) im2col is cheaper.
  if (fh * fw * info.inChannels < 2 * info.outChannels) return undefined;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const bottom = fh + info.outHeight - info.inHeight - 1 - top;
  const right = fw + info.outWidth - info.inWidth - 1 - left;
  if (Math.min(top, left, bottom, right) < 0) return undefined;
  const transpose = getKernel('Transpose', 'wasm')!.kernelFunc;
  const conv2d = getKernel('Conv2D', 'wasm')!.kernelFunc;
  const dy4d: TensorInfo = { ...dy, shape: [info.batchSize, info.outHeight, info.outWidth, info.outChannels] };
  const xT = transpose({ inputs: { x }, backend, attrs: { perm: [3, 1, 2, 0] } }) as TensorInfo;
  const dyT = transpose({ inputs: { x: dy4d }, backend, attrs: { perm: [1, 2, 0, 3] } }) as TensorInfo;
  const outT = conv2d({
    inputs: { x: xT, filter: dyT },
    backend,
    attrs: { strides: [1, 1], pad: [[0, 0], [top, bottom], [left, right], [0, 0]], dataFormat: 'NHWC', dilations: [1, 1] },
  }) as TensorInfo;
  const dw = transpose({ inputs: { x: outT }, backend, attrs: { perm: [1, 2, 0, 3] } }) as TensorInfo;
  wasm.disposeData(xT.dataId);
  wasm.disposeData(dyT.dataId);
  wasm.disposeData(outT.dataId);
  return dw;
}

/**
 * Other strides: dW = im2col(x)ᵀ · dy. The patch matrix is built in JS straight into the wasm heap; the product runs
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

  const viaConv = stride1FilterGradient(wasm, backend, x, dy, info);
  if (viaConv !== undefined) return viaConv;
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

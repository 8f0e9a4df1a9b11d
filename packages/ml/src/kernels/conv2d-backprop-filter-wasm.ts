import { backend_util, getKernel, util } from '@tensorflow/tfjs';
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs';

/** The parts of the wasm backend this kernel touches (typed here so we need not import the backend). */
interface WasmBackendLike {
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Float32Array;
  disposeData(dataId: object): boolean;
}

interface Conv2DBackpropFilterAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

/**
 * Fills `cols` ([batch·outH·outW, fh·fw·inC], row-major) with the input patches each output pixel
 * saw in the forward convolution; padded positions stay zero.
 */
export function im2col(x: Float32Array, info: backend_util.Conv2DInfo, cols: Float32Array): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth } = info;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
  const { dilationHeight: dh, dilationWidth: dw } = info;
  const padTop = info.padInfo.top;
  const padLeft = info.padInfo.left;
  const rowLen = fh * fw * inChannels;
  cols.fill(0);
  let row = 0;
  for (let b = 0; b < batchSize; b++) {
    const xBatch = b * inHeight * inWidth * inChannels;
    for (let oh = 0; oh < outHeight; oh++) {
      for (let ow = 0; ow < outWidth; ow++, row++) {
        const rowStart = row * rowLen;
        for (let kh = 0; kh < fh; kh++) {
          const ih = oh * sh - padTop + kh * dh;
          if (ih < 0 || ih >= inHeight) continue;
          for (let kw = 0; kw < fw; kw++) {
            const iw = ow * sw - padLeft + kw * dw;
            if (iw < 0 || iw >= inWidth) continue;
            const src = xBatch + (ih * inWidth + iw) * inChannels;
            const dst = rowStart + (kh * fw + kw) * inChannels;
            for (let c = 0; c < inChannels; c++) cols[dst + c] = x[src + c]!;
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

  const cols = wasm.makeOutput([1, rows, rowLen], 'float32');
  // Views are taken after the allocation: growing the wasm heap detaches earlier views.
  im2col(wasm.typedArrayFromHeap(x), info, wasm.typedArrayFromHeap(cols));

  const reshape = getKernel('Reshape', 'wasm')!.kernelFunc;
  const batchMatMul = getKernel('BatchMatMul', 'wasm')!.kernelFunc;
  const dy3d = reshape({ inputs: { x: dy }, backend, attrs: { shape: [1, rows, info.outChannels] } }) as TensorInfo;
  const out = batchMatMul({
    inputs: { a: cols, b: dy3d },
    backend,
    attrs: { transposeA: true, transposeB: false },
  }) as TensorInfo;
  wasm.disposeData(cols.dataId);
  wasm.disposeData(dy3d.dataId);
  return { dataId: out.dataId, dtype: out.dtype, shape: [...filterShape] };
};

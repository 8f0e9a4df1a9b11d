import { backend_util, getKernel } from '@tensorflow/tfjs';
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { WasmBackendLike } from './wasm-backend-like.js';

interface Conv2DBackpropInputAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  inputShape: [number, number, number, number];
}

/** W'[kh, kw, co, ci] = W[fh−1−kh, fw−1−kw, ci, co]: the filter rotated 180° with its channels swapped. */
export function flipFilter(w: Float32Array, fh: number, fw: number, inC: number, outC: number, out: Float32Array): void {
  for (let kh = 0; kh < fh; kh++) {
    for (let kw = 0; kw < fw; kw++) {
      const src = ((fh - 1 - kh) * fw + (fw - 1 - kw)) * inC * outC;
      const dst = (kh * fw + kw) * outC * inC;
      for (let ci = 0; ci < inC; ci++) {
        for (let co = 0; co < outC; co++) out[dst + co * inC + ci] = w[src + ci * outC + co]!;
      }
    }
  }
}

/**
 * For stride 1, dx is a plain convolution of dy with the flipped filter, which the wasm backend
 * runs on XNNPACK; its own Conv2DBackpropInput is a scalar loop several times slower. Strided or
 * NCHW cases go to the original kernel.
 */
export function fastConv2DBackpropInput(original: KernelFunc): KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
    const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as unknown as Conv2DBackpropInputAttrs;
    if (dataFormat !== 'NHWC' || dy.dtype !== 'float32' || filter.dtype !== 'float32') return original(args);
    const info = backend_util.computeConv2DInfo(
      inputShape,
      filter.shape as [number, number, number, number],
      strides,
      1,
      pad,
      dimRoundingMode,
      false,
      'channelsLast',
    );
    if (info.strideHeight !== 1 || info.strideWidth !== 1) return original(args);
    const { filterHeight: fh, filterWidth: fw, inChannels, outChannels } = info;
    const top = fh - 1 - info.padInfo.top;
    const left = fw - 1 - info.padInfo.left;
    const bottom = info.inHeight - info.outHeight + fh - 1 - top;
    const right = info.inWidth - info.outWidth + fw - 1 - left;
    if (Math.min(top, left, bottom, right) < 0) return original(args);

    const wasm = backend as unknown as WasmBackendLike;
    const flipped = wasm.makeOutput([fh, fw, outChannels, inChannels], 'float32');
    flipFilter(wasm.typedArrayFromHeap(filter), fh, fw, inChannels, outChannels, wasm.typedArrayFromHeap(flipped));
    const conv2d = getKernel('Conv2D', 'wasm')!.kernelFunc;
    const dx = conv2d({
      inputs: { x: dy, filter: flipped },
      backend,
      attrs: { strides: [1, 1], pad: [[0, 0], [top, bottom], [left, right], [0, 0]], dataFormat: 'NHWC', dilations: [1, 1] },
    }) as TensorInfo;
    wasm.disposeData(flipped.dataId);
    return dx;
  };
}

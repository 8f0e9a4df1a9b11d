import { ChorusError } from '../errors/chorus-error.js';
import { findFoldKernel, int8SumOfSquares } from '../kernels/fold-kernel.js';
import { readFloat32s, writeFloat32s } from './byte-views.js';
import { FLOAT32_MAX, assertBodySize, assertFiniteWeight, assertTargetLength, firstNonFinite, outOfBounds, type NormedUpdateCodec } from './codec-checks.js';

/**
 * Values per scale. Part of the wire format (changing it needs a new codec code). 256 keeps the
 * scale overhead at 1.6% (body ≈ 0.254 × float32) while an outlier only coarsens its own chunk.
 */
export const INT8_CHUNK = 256;

function chunkCount(length: number): number {
  return Math.ceil(length / INT8_CHUNK);
}

/**
 * int8 with one float32 scale (max |x| / 127) per chunk of 256 values. Body: all scales
 * (little-endian float32), then one int8 per value. Encoding rounds stochastically —
 * q = floor(x / scale + u), u ~ U[0, 1) — so that E[decode(encode(x))] = x: averaging many
 * clients' updates cancels the quantization error instead of accumulating a bias.
 */
export const int8Codec: NormedUpdateCodec = {
  id: 'int8',
  description: '4× smaller, unbiased rounding',
  code: 3,

  bodyBytes(length) {
    return chunkCount(length) * 4 + length;
  },

  encode(values, random) {
    const length = values.length;
    const bad = firstNonFinite(values);
    if (bad >= 0) throw new ChorusError('NON_FINITE', `int8 encode: value #${bad} is not finite`);
    const chunks = chunkCount(length);
    const body = new Uint8Array(chunks * 4 + length);
    const scales = new Float32Array(chunks);
    const q = new Int8Array(body.buffer, chunks * 4, length);
    for (let c = 0; c < chunks; c++) {
      const from = c * INT8_CHUNK;
      const to = Math.min(from + INT8_CHUNK, length);
      let maxAbs = 0;
      for (let i = from; i < to; i++) {
        const a = Math.abs(values[i]!);
        if (a > maxAbs) maxAbs = a;
      }
      const scale = Math.fround(maxAbs / 127);
      scales[c] = scale;
      if (scale === 0) continue;
      const inverse = 1 / scale;
      for (let i = from; i < to; i++) {
        const r = Math.floor(values[i]! * inverse + random());
        // float32 rounding of the scale can push |x / scale| a hair past 127.
        q[i] = r > 127 ? 127 : r < -127 ? -127 : r;
      }
    }
    writeFloat32s(body, 0, scales);
    return body;
  },

  decode(body, length, out) {
    assertBodySize(int8Codec, body, length);
    const result = out ?? new Float32Array(length);
    assertTargetLength('int8', result, length, 'decode');
    const chunks = chunkCount(length);
    const scales = readFloat32s(body, 0, chunks);
    const q = new Int8Array(body.buffer, body.byteOffset + chunks * 4, length);
    for (let c = 0; c < chunks; c++) {
      const scale = scales[c]!;
      const to = Math.min((c + 1) * INT8_CHUNK, length);
      for (let i = c * INT8_CHUNK; i < to; i++) result[i] = q[i]! * scale;
    }
    return result;
  },

  foldInto(body, length, target, weight) {
    assertBodySize(int8Codec, body, length);
    assertTargetLength('int8', target, length, 'foldInto');
    assertFiniteWeight('int8', weight);
    const chunks = chunkCount(length);
    const fullChunks = Math.floor(length / INT8_CHUNK);
    const kernel = findFoldKernel(target);
    const start = kernel ? kernel.foldInt8(target, body, chunks, fullChunks, INT8_CHUNK, weight) : 0;
    if (start === length) return;
    const scales = readFloat32s(body, 0, chunks);
    const q = new Int8Array(body.buffer, body.byteOffset + chunks * 4, length);
    for (let c = start / INT8_CHUNK; c < chunks; c++) {
      const s = scales[c]! * weight;
      const to = Math.min((c + 1) * INT8_CHUNK, length);
      for (let i = c * INT8_CHUNK; i < to; i++) target[i] += q[i]! * s;
    }
  },

  validate(body, length, maxAbs = FLOAT32_MAX) {
    assertBodySize(int8Codec, body, length);
    const scales = readFloat32s(body, 0, chunkCount(length));
    const bad = firstNonFinite(scales);
    if (bad >= 0) throw new ChorusError('NON_FINITE', `int8 body: the scale of chunk #${bad} is not finite`);
    // A chunk decodes to at most 127 × scale. An honest encoder's scale is max|x| / 127, so a scale
    // above maxAbs / 127 (float32 rounding allowed for) claims values no bounded update can hold.
    const maxScale = (maxAbs / 127) * (1 + 2 ** -20);
    for (let c = 0; c < scales.length; c++) {
      const scale = scales[c]!;
      if (scale < 0) throw new ChorusError('BAD_REQUEST', `int8 body: the scale of chunk #${c} is negative (${scale}); scales are max|x| / 127`);
      if (scale > maxScale) throw outOfBounds('int8', `the scale of chunk #${c} is ${scale.toPrecision(4)}, so its values reach ${(scale * 127).toPrecision(4)}`, maxAbs);
    }
  },

  sumOfSquares(body, length) {
    assertBodySize(int8Codec, body, length);
    const chunks = chunkCount(length);
    const scales = readFloat32s(body, 0, chunks);
    const q = new Int8Array(body.buffer, body.byteOffset + chunks * 4, length);
    // Whole chunks in the WASM SIMD kernel when there is one (same arithmetic, same order, same bits).
    const fullChunks = Math.floor(length / INT8_CHUNK);
    const kernelSum = int8SumOfSquares(body, chunks, fullChunks, INT8_CHUNK);
    let sum = kernelSum ?? 0;
    for (let c = kernelSum === null ? 0 : fullChunks; c < chunks; c++) {
      // Integer arithmetic: a chunk's squares (≤ 256 × 127²) fit an int32, and `| 0` keeps V8 on
      // int adds (about 1.5× faster than doubles); the server does this for every update it takes.
      let squares = 0;
      const to = Math.min((c + 1) * INT8_CHUNK, length);
      for (let i = c * INT8_CHUNK; i < to; i++) {
        const v = q[i]!;
        squares = (squares + v * v) | 0;
      }
      const s = scales[c]!;
      sum += squares * s * s;
    }
    return sum;
  },
};

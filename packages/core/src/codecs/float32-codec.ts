import { ChorusError } from '../errors/chorus-error.js';
import { findFoldKernel } from '../kernels/fold-kernel.js';
import { readFloat32s, writeFloat32s } from './byte-views.js';
import { FLOAT32_MAX, assertBodySize, assertFiniteWeight, assertTargetLength, firstAbove, firstNonFinite, outOfBounds, type NormedUpdateCodec } from './codec-checks.js';

/** Lossless: the body is the float32 values, little-endian. */
export const float32Codec: NormedUpdateCodec = {
  id: 'float32',
  description: 'exact',
  code: 1,

  bodyBytes(length) {
    return length * 4;
  },

  encode(values) {
    const body = new Uint8Array(values.length * 4);
    writeFloat32s(body, 0, values);
    return body;
  },

  decode(body, length, out) {
    assertBodySize(float32Codec, body, length);
    const result = out ?? new Float32Array(length);
    assertTargetLength('float32', result, length, 'decode');
    result.set(readFloat32s(body, 0, length));
    return result;
  },

  foldInto(body, length, target, weight) {
    assertBodySize(float32Codec, body, length);
    assertTargetLength('float32', target, length, 'foldInto');
    assertFiniteWeight('float32', weight);
    const kernel = findFoldKernel(target);
    const start = kernel ? kernel.foldFloat32(target, body, length, weight) : 0;
    if (start === length) return;
    const tail = readFloat32s(body, start * 4, length - start);
    for (let i = 0; i < tail.length; i++) target[start + i] += weight * tail[i]!;
  },

  validate(body, length, maxAbs = FLOAT32_MAX) {
    assertBodySize(float32Codec, body, length);
    const values = readFloat32s(body, 0, length);
    const bad = firstNonFinite(values);
    if (bad >= 0) throw new ChorusError('NON_FINITE', `float32 body: value #${bad} is not finite`);
    const big = firstAbove(values, maxAbs);
    if (big >= 0) throw outOfBounds('float32', `value #${big} is ${values[big]!.toPrecision(4)}`, maxAbs);
  },

  sumOfSquares(body, length) {
    assertBodySize(float32Codec, body, length);
    const values = readFloat32s(body, 0, length);
    let sum = 0;
    for (let i = 0; i < length; i++) sum += values[i]! * values[i]!;
    return sum;
  },
};

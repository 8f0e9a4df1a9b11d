import { ChorusError } from '../errors/chorus-error.js';
import { findFoldKernel } from '../kernels/fold-kernel.js';
import { LITTLE_ENDIAN, readUint16s, writeUint16s } from './byte-views.js';
import { FLOAT32_MAX, assertBodySize, assertFiniteWeight, assertTargetLength, outOfBounds, type NormedUpdateCodec } from './codec-checks.js';
import { float32BitsToHalf, float32ToHalf, halfIsNonFinite, halfTable } from './half-float.js';

function toHalves(values: Float32Array): Uint16Array {
  const halves = new Uint16Array(values.length);
  if (LITTLE_ENDIAN && values.byteOffset % 4 === 0) {
    const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
    for (let i = 0; i < bits.length; i++) halves[i] = float32BitsToHalf(bits[i]!);
  } else {
    for (let i = 0; i < values.length; i++) halves[i] = float32ToHalf(values[i]!);
  }
  return halves;
}

/** IEEE half precision, little-endian: half the bytes of float32, ~3 significant digits. */
export const float16Codec: NormedUpdateCodec = {
  id: 'float16',
  description: '2× smaller',
  code: 2,

  bodyBytes(length) {
    return length * 2;
  },

  encode(values) {
    const body = new Uint8Array(values.length * 2);
    writeUint16s(body, 0, toHalves(values));
    return body;
  },

  decode(body, length, out) {
    assertBodySize(float16Codec, body, length);
    const result = out ?? new Float32Array(length);
    assertTargetLength('float16', result, length, 'decode');
    const halves = readUint16s(body, 0, length);
    const lookup = halfTable();
    for (let i = 0; i < length; i++) result[i] = lookup[halves[i]!]!;
    return result;
  },

  foldInto(body, length, target, weight) {
    assertBodySize(float16Codec, body, length);
    assertTargetLength('float16', target, length, 'foldInto');
    assertFiniteWeight('float16', weight);
    const kernel = findFoldKernel(target);
    const start = kernel ? kernel.foldFloat16(target, body, length, weight) : 0;
    if (start === length) return;
    const tail = readUint16s(body, start * 2, length - start);
    const lookup = halfTable();
    for (let i = 0; i < tail.length; i++) target[start + i] += weight * lookup[tail[i]!]!;
  },

  validate(body, length, maxAbs = FLOAT32_MAX) {
    assertBodySize(float16Codec, body, length);
    const halves = readUint16s(body, 0, length);
    for (let i = 0; i < length; i++) {
      if (halfIsNonFinite(halves[i]!)) throw new ChorusError('NON_FINITE', `float16 body: value #${i} is not finite`);
    }
    // float16 tops out at 65504: only a tight task bound can refuse one.
    if (maxAbs < 65504) {
      const lookup = halfTable();
      for (let i = 0; i < length; i++) {
        const v = lookup[halves[i]!]!;
        if (Math.abs(v) > maxAbs) throw outOfBounds('float16', `value #${i} is ${v.toPrecision(4)}`, maxAbs);
      }
    }
  },

  sumOfSquares(body, length) {
    assertBodySize(float16Codec, body, length);
    const halves = readUint16s(body, 0, length);
    const lookup = halfTable();
    let sum = 0;
    for (let i = 0; i < length; i++) {
      const v = lookup[halves[i]!]!;
      sum += v * v;
    }
    return sum;
  },
};

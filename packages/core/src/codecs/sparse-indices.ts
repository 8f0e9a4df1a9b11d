import { ChorusError } from '../errors/chorus-error.js';

/**
 * Compact encodings of a strictly increasing list of indices into a vector of `length` values. The
 * encoder writes whichever is smaller:
 *  - DELTA_VARINT (0): the first index, then each gap minus one, as unsigned LEB128 varints. Gaps are
 *    ≥ 1 by construction, so indices are unique and increasing by the format itself.
 *  - BITMAP (1): ceil(length / 8) bytes, bit i (LSB first) set when index i is present.
 */
export const DELTA_VARINT = 0;
export const BITMAP = 1;
export type IndexMode = typeof DELTA_VARINT | typeof BITMAP;

export function bitmapBytes(length: number): number {
  return Math.ceil(length / 8);
}

function varintSize(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

export function varintBytes(indices: Uint32Array): number {
  let n = 0;
  let previous = -1;
  for (let i = 0; i < indices.length; i++) {
    n += varintSize(indices[i]! - previous - 1);
    previous = indices[i]!;
  }
  return n;
}

/** The smaller encoding of `indices` (increasing, all < length): its mode and bytes. */
export function encodeIndices(indices: Uint32Array, length: number): { mode: IndexMode; bytes: Uint8Array } {
  const varint = varintBytes(indices);
  const bitmap = bitmapBytes(length);
  if (varint <= bitmap) {
    const bytes = new Uint8Array(varint);
    let at = 0;
    let previous = -1;
    for (let i = 0; i < indices.length; i++) {
      let v = indices[i]! - previous - 1;
      previous = indices[i]!;
      while (v >= 0x80) {
        bytes[at++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      bytes[at++] = v;
    }
    return { mode: DELTA_VARINT, bytes };
  }
  const bytes = new Uint8Array(bitmap);
  for (let i = 0; i < indices.length; i++) bytes[indices[i]! >>> 3]! |= 1 << (indices[i]! & 7);
  return { mode: BITMAP, bytes };
}

/**
 * Decodes and checks at once: exactly `count` indices, each < length, strictly increasing, every
 * byte used, bitmap bits past `length` clear, varints at most 5 bytes. Throws ChorusError naming the
 * codec and the first fault. `out` receives the indices.
 */
export function decodeIndices(codec: string, mode: number, bytes: Uint8Array, count: number, length: number, out: Uint32Array): void {
  if (mode === DELTA_VARINT) {
    let at = 0;
    let previous = -1;
    for (let i = 0; i < count; i++) {
      let v = 0;
      let shift = 0;
      for (;;) {
        if (at >= bytes.length) throw new ChorusError('SHAPE_MISMATCH', `${codec} body: the index list ends after ${i} of ${count} indices`);
        const b = bytes[at++]!;
        v += (b & 0x7f) * 2 ** shift;
        if (b < 0x80) break;
        shift += 7;
        if (shift > 28) throw new ChorusError('BAD_REQUEST', `${codec} body: index #${i} has a varint longer than 5 bytes`);
      }
      const index = previous + 1 + v;
      if (index >= length) throw new ChorusError('OUT_OF_BOUNDS', `${codec} body: index #${i} is ${index}; the update has ${length} values`);
      out[i] = index;
      previous = index;
    }
    if (at !== bytes.length) throw new ChorusError('SHAPE_MISMATCH', `${codec} body: ${bytes.length - at} bytes follow the ${count} indices`);
    return;
  }
  if (mode === BITMAP) {
    if (bytes.length !== bitmapBytes(length)) {
      throw new ChorusError('SHAPE_MISMATCH', `${codec} body: a bitmap for ${length} values has ${bitmapBytes(length)} bytes, not ${bytes.length}`);
    }
    let n = 0;
    for (let byte = 0; byte < bytes.length; byte++) {
      let b = bytes[byte]!;
      while (b !== 0) {
        const bit = 31 - Math.clz32(b & -b);
        b &= b - 1;
        const index = byte * 8 + bit;
        if (index >= length) throw new ChorusError('OUT_OF_BOUNDS', `${codec} body: bitmap bit ${index} is set; the update has ${length} values`);
        if (n >= count) throw new ChorusError('SHAPE_MISMATCH', `${codec} body: the bitmap holds more than the ${count} announced indices`);
        out[n++] = index;
      }
    }
    if (n !== count) throw new ChorusError('SHAPE_MISMATCH', `${codec} body: the bitmap holds ${n} indices; ${count} were announced`);
    return;
  }
  throw new ChorusError('BAD_REQUEST', `${codec} body: index mode ${mode} is not known (0 = delta varint, 1 = bitmap)`);
}

import { ChorusError } from '../errors/chorus-error.js';
import { readFloat32s, writeFloat32s } from './byte-views.js';
import { FLOAT32_MAX, assertBodySize, assertFiniteWeight, assertTargetLength, firstNonFinite, outOfBounds, type NormedUpdateCodec } from './codec-checks.js';
import type { CodecId, EncodeOptions } from './codec.js';
import { HADAMARD_BLOCK, paddedLength, rotate, unrotate } from './hadamard.js';

/**
 * Randomized-Hadamard rotation, then `bits`-bit stochastic quantization per block of 1024 rotated
 * values on the grid of 2^bits points spanning [-s, s], s = max |y| of the block. Unbiased
 * (E[decode] = x) and linear in the rotated domain: with the round's shared seed
 * (roundCodecSeed) every client rotates alike, so sums of rotated updates can be unrotated once —
 * what secure aggregation needs. Body (LE): u32 seed · float32 s per block · packed levels (LSB first).
 *
 * With `kept` < 1024, only the first `kept` rotated values of each block travel (s is their max)
 * and decode scaled by 1024/kept; the others decode as 0. Still unbiased over the round's random
 * signs D: E_D[D·Hᵀ·P·H·D] = diag(Hᵀ·P·H) = kept/1024 · I for the projection P on those
 * coordinates (the sketch of Konečný et al. 2016, after the rotation). It buys a rate below one
 * bit per value — 1-bit codes at 1024/1024 are 32× minus their scales and header — at a little
 * more variance, shared by the round's clients.
 */
function createHadamardCodec(id: CodecId, code: number, bits: 1 | 2 | 4, kept = HADAMARD_BLOCK): NormedUpdateCodec & { seedOf(body: Uint8Array): number } {
  const levels = (1 << bits) - 1;
  const perByte = 8 / bits;
  const blocks = (length: number): number => paddedLength(length) / HADAMARD_BLOCK;
  const bytesPerBlock = kept / perByte;
  const gain = HADAMARD_BLOCK / kept;

  function rotatedValues(body: Uint8Array, length: number): Float32Array {
    const n = blocks(length);
    const scales = readFloat32s(body, 4, n);
    const packed = 4 + 4 * n;
    const y = new Float32Array(n * HADAMARD_BLOCK);
    for (let b = 0; b < n; b++) {
      const s = scales[b]!;
      const step = (2 * s) / levels;
      const from = packed + b * bytesPerBlock;
      let i = b * HADAMARD_BLOCK;
      for (let at = from; at < from + bytesPerBlock; at++) {
        let byte = body[at]!;
        for (let k = 0; k < perByte; k++) {
          y[i++] = (-s + (byte & levels) * step) * gain;
          byte >>>= bits;
        }
      }
    }
    return y;
  }

  function decodeAll(body: Uint8Array, length: number): Float32Array {
    assertBodySize(codec, body, length);
    return unrotate(rotatedValues(body, length), seedOf(body));
  }

  function seedOf(body: Uint8Array): number {
    return new DataView(body.buffer, body.byteOffset, 4).getUint32(0, true);
  }

  const codec: NormedUpdateCodec & { seedOf(body: Uint8Array): number } = {
    id,
    description:
      kept === HADAMARD_BLOCK
        ? `random rotation + ${bits}-bit unbiased, ~${Math.round(32 / bits)}× smaller`
        : `random rotation, ${kept} of every ${HADAMARD_BLOCK} rotated values at ${bits} bit${bits > 1 ? 's' : ''} (unbiased), ~${Math.round((32 * HADAMARD_BLOCK) / (bits * kept))}× smaller`,
    code,
    seedOf,

    bodyBytes(length) {
      const n = blocks(length);
      return 4 + 4 * n + n * bytesPerBlock;
    },

    encode(values, random, options?: EncodeOptions) {
      const bad = firstNonFinite(values);
      if (bad >= 0) throw new ChorusError('NON_FINITE', `${id} encode: value #${bad} is not finite`);
      const seed = (options?.seed ?? Math.floor(random() * 2 ** 32)) >>> 0;
      const y = rotate(values, seed);
      const n = blocks(values.length);
      const body = new Uint8Array(codec.bodyBytes(values.length));
      new DataView(body.buffer).setUint32(0, seed, true);
      const scales = new Float32Array(n);
      const packed = 4 + 4 * n;
      for (let b = 0; b < n; b++) {
        const from = b * HADAMARD_BLOCK;
        let max = 0;
        for (let i = from; i < from + kept; i++) max = Math.max(max, Math.abs(y[i]!));
        const s = Math.fround(max);
        scales[b] = s;
        // An all-zero block: every level decodes to −s + q·step = 0, so the zero bytes stand.
        if (s === 0) continue;
        const inverse = levels / (2 * s);
        let at = packed + b * bytesPerBlock;
        for (let i = from; i < from + kept; i += perByte) {
          let byte = 0;
          for (let k = 0; k < perByte; k++) {
            const r = Math.floor((y[i + k]! + s) * inverse + random());
            byte |= (r > levels ? levels : r < 0 ? 0 : r) << (k * bits);
          }
          body[at++] = byte;
        }
      }
      writeFloat32s(body, 4, scales);
      return body;
    },

    decode(body, length, out) {
      const result = out ?? new Float32Array(length);
      assertTargetLength(id, result, length, 'decode');
      result.set(decodeAll(body, length).subarray(0, length));
      return result;
    },

    foldInto(body, length, target, weight) {
      assertTargetLength(id, target, length, 'foldInto');
      assertFiniteWeight(id, weight);
      const x = decodeAll(body, length);
      for (let i = 0; i < length; i++) target[i] += weight * x[i]!;
    },

    validate(body, length, maxAbs = FLOAT32_MAX) {
      assertBodySize(codec, body, length);
      const scales = readFloat32s(body, 4, blocks(length));
      const bad = firstNonFinite(scales);
      if (bad >= 0) throw new ChorusError('NON_FINITE', `${id} body: the scale of block #${bad} is not finite`);
      // A rotation keeps norms, so an honest block's max |y| is at most the update's L2 norm,
      // which the round bounds by maxAbs. The decoded norm is checked again by the server.
      const maxScale = maxAbs * (1 + 2 ** -20);
      for (let b = 0; b < scales.length; b++) {
        if (scales[b]! < 0) throw new ChorusError('BAD_REQUEST', `${id} body: the scale of block #${b} is negative`);
        if (scales[b]! > maxScale) throw outOfBounds(id, `the scale of block #${b} is ${scales[b]!.toPrecision(4)}`, maxAbs);
      }
    },

    sumOfSquares(body, length) {
      const x = decodeAll(body, length);
      let sum = 0;
      for (let i = 0; i < length; i++) sum += x[i]! * x[i]!;
      return sum;
    },
  };
  return codec;
}

export const hadamard1Codec = createHadamardCodec('hadamard1', 6, 1);
export const hadamard2Codec = createHadamardCodec('hadamard2', 7, 2);
export const hadamard4Codec = createHadamardCodec('hadamard4', 8, 4);
/** 1 bit on 15/16 of the rotated values: just under one bit per value, so past 32× on the wire. */
export const hadamard1sCodec = createHadamardCodec('hadamard1s', 9, 1, 960);
/**
 * hadamard1s's size (120 bytes per block of 1,024) spent on 2 bits for 480 rotated values instead
 * of 1 bit for 960. Both are unbiased; per rotated coordinate (σ² its variance, block max ≈ 3.3σ)
 * hadamard1s's error is ≈ 1.14 × (max² − σ²) ≈ 11σ² (one bit on [−max, max] is mostly noise),
 * this one's ≈ 2.8σ²: half the coordinates dropped (σ² each, the kept scaled by 1024/480) plus
 * 2-bit rounding (≤ (2max/3)²/4 each). About 4× less variance at the same bytes: what keeps the
 * sub-1-bit rate within a point of float32 when only ~10 updates are averaged per round.
 */
export const hadamard2sCodec = createHadamardCodec('hadamard2s', 10, 2, 480);

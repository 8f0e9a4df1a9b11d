import { describe, expect, it } from 'vitest';
import { createSeededRandom } from '../random/seeded-random.js';
import { BITMAP, DELTA_VARINT, decodeIndices, encodeIndices } from './sparse-indices.js';
import { topKIndices } from './top-k.js';
import { TOPK_FRACTION, TOPK_Q4_FRACTION, topKCodec, topKCount, topKQ4Codec } from './topk-codec.js';
import { errorCode } from '../errors/error-code.test-helper.js';

/** 1,000 values: value i is i / 1000 · (−1)^i, except ten large ones at 7, 77, …, 997. */
function sample(): Float32Array {
  const x = Float32Array.from({ length: 1000 }, (_, i) => ((i % 2 === 0 ? 1 : -1) * i) / 1000);
  for (let j = 0; j < 10; j++) x[7 + 110 * j] = 10 + j;
  return x;
}

describe('sparse indices', () => {
  it('writes delta varints when fewer bytes than a bitmap, and reads them back', () => {
    const indices = Uint32Array.of(3, 4, 200, 70000);
    const { mode, bytes } = encodeIndices(indices, 100000);
    expect(mode).toBe(DELTA_VARINT);
    // 3 → 3; 4 − 3 − 1 = 0; 200 − 4 − 1 = 195 → [0xc3, 0x01]; 70000 − 201 = 69799 → [0xa7, 0xa1, 0x04].
    expect([...bytes]).toEqual([3, 0, 0xc3, 0x01, 0xa7, 0xa1, 0x04]);
    const out = new Uint32Array(4);
    decodeIndices('t', mode, bytes, 4, 100000, out);
    expect([...out]).toEqual([3, 4, 200, 70000]);
  });

  it('writes a bitmap when denser, and reads it back', () => {
    const indices = Uint32Array.from({ length: 8 }, (_, i) => i * 2);
    const { mode, bytes } = encodeIndices(indices, 16);
    expect(mode).toBe(BITMAP);
    expect([...bytes]).toEqual([0b01010101, 0b01010101]);
    const out = new Uint32Array(8);
    decodeIndices('t', mode, bytes, 8, 16, out);
    expect([...out]).toEqual([0, 2, 4, 6, 8, 10, 12, 14]);
  });

  it('refuses indices out of range, wrong counts, stray bytes and bits past the end', () => {
    const out = new Uint32Array(4);
    expect(errorCode(() => decodeIndices('t', DELTA_VARINT, Uint8Array.of(5, 5), 2, 10, out))).toBe('OUT_OF_BOUNDS');
    expect(errorCode(() => decodeIndices('t', DELTA_VARINT, Uint8Array.of(1), 2, 10, out))).toBe('SHAPE_MISMATCH');
    expect(errorCode(() => decodeIndices('t', DELTA_VARINT, Uint8Array.of(1, 1, 1), 2, 10, out))).toBe('SHAPE_MISMATCH');
    expect(errorCode(() => decodeIndices('t', DELTA_VARINT, Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 1), 1, 10, out))).toBe('BAD_REQUEST');
    expect(errorCode(() => decodeIndices('t', BITMAP, Uint8Array.of(0, 0b100), 1, 10, out))).toBe('OUT_OF_BOUNDS');
    expect(errorCode(() => decodeIndices('t', BITMAP, Uint8Array.of(0b11, 0), 1, 10, out))).toBe('SHAPE_MISMATCH');
    expect(errorCode(() => decodeIndices('t', 2, Uint8Array.of(0), 1, 10, out))).toBe('BAD_REQUEST');
  });
});

describe('top-k selection', () => {
  it('takes the k largest magnitudes in index order, ties in index order', () => {
    expect([...topKIndices(Float32Array.of(1, -5, 3, 5, 0, -3), 3)]).toEqual([1, 2, 3]);
    expect([...topKIndices(Float32Array.of(2, 2, 2, 2), 2)]).toEqual([0, 1]);
    expect([...topKIndices(Float32Array.of(1, 2), 2)]).toEqual([0, 1]);
  });
});

describe('topk codec', () => {
  it('carries exactly ceil(1% of length) values with their indices, and decodes them exactly', () => {
    const x = sample();
    const body = topKCodec.encode(x, Math.random);
    expect(TOPK_FRACTION).toBe(0.01);
    expect(topKCount(1000)).toBe(10);
    // 12 header bytes, 10 float32 values, 10 one-byte varints (gaps ≤ 127).
    expect(body.byteLength).toBe(12 + 40 + 10);
    expect(body.byteLength).toBeLessThanOrEqual(topKCodec.bodyBytes(1000));
    const decoded = topKCodec.decode(body, 1000);
    const expected = new Float32Array(1000);
    for (let j = 0; j < 10; j++) expected[7 + 110 * j] = 10 + j;
    expect([...decoded]).toEqual([...expected]);
    expect(topKCodec.sumOfSquares(body, 1000)).toBe([...expected].reduce((s, v) => s + v * v, 0));
  });

  it('folds only the carried coordinates, weighted', () => {
    const x = sample();
    const body = topKCodec.encode(x, Math.random);
    const target = new Float32Array(1000).fill(1);
    topKCodec.foldInto(body, 1000, target, 0.5);
    expect(target[7]).toBe(6);
    expect(target[997]).toBe(1 + 0.5 * 19);
    expect(target[8]).toBe(1);
  });

  it('refuses a wrong k, a size that disagrees with the header, non-finite or oversized values', () => {
    const body = topKCodec.encode(sample(), Math.random);
    expect(errorCode(() => topKCodec.validate(body, 2000))).toBe('SHAPE_MISMATCH');
    expect(errorCode(() => topKCodec.validate(body.subarray(0, body.length - 1), 1000))).toBe('SHAPE_MISMATCH');
    expect(errorCode(() => topKCodec.validate(body, 1000, 18))).toBe('OUT_OF_BOUNDS');
    expect(() => topKCodec.validate(body, 1000, 19)).not.toThrow();
    const nan = body.slice();
    new DataView(nan.buffer).setFloat32(12, NaN, true);
    expect(errorCode(() => topKCodec.validate(nan, 1000))).toBe('NON_FINITE');
    const padded = body.slice();
    padded[10] = 1;
    expect(errorCode(() => topKCodec.validate(padded, 1000))).toBe('BAD_REQUEST');
  });
});

describe('topk-q4 codec', () => {
  it('carries 5% of values at 4 bits with one scale per 256, unbiased', () => {
    const x = sample();
    const random = createSeededRandom(3);
    const draws = 2000;
    const mean = new Float64Array(1000);
    let size = 0;
    for (let d = 0; d < draws; d++) {
      const body = topKQ4Codec.encode(x, random);
      size = body.byteLength;
      const decoded = topKQ4Codec.decode(body, 1000);
      for (let i = 0; i < 1000; i++) mean[i] += decoded[i]! / draws;
    }
    // k = 50: 12 header + 4 (one scale) + 25 (fifty nibbles) + 50 one-byte varints (all gaps < 128).
    expect(TOPK_Q4_FRACTION).toBe(0.05);
    expect(size).toBe(91);
    const step = 19 / 7;
    for (let j = 0; j < 10; j++) expect(Math.abs(mean[7 + 110 * j]! - (10 + j))).toBeLessThan((5 * step) / (2 * Math.sqrt(draws)));
  });

  it('refuses level -8, a scale beyond maxAbs / 7 and a non-zero unused nibble', () => {
    const x = new Float32Array(100);
    x[3] = 7;
    const body = topKQ4Codec.encode(x, () => 0.5);
    expect(errorCode(() => topKQ4Codec.validate(body, 100, 6.9))).toBe('OUT_OF_BOUNDS');
    expect(() => topKQ4Codec.validate(body, 100, 7)).not.toThrow();
    const minus8 = body.slice();
    minus8[16] = 0;
    expect(errorCode(() => topKQ4Codec.validate(minus8, 100))).toBe('BAD_REQUEST');
    // k = 5 (indices 0–4): nibbles 0x88, 0xf8, then 0x08 whose high nibble is unused; then five
    // varint gaps of 0 (5 bytes, fewer than the 13 of a bitmap).
    expect([...body.subarray(16)]).toEqual([0x88, 0xf8, 0x08, 0, 0, 0, 0, 0]);
    const high = body.slice();
    high[18]! |= 0x10;
    expect(errorCode(() => topKQ4Codec.validate(high, 100))).toBe('BAD_REQUEST');
  });
});

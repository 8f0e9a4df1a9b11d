import { describe, expect, it } from 'vitest';
import { createSeededRandom } from '../random/seeded-random.js';
import { HADAMARD_BLOCK, rotate, roundCodecSeed, unrotate } from './hadamard.js';
import { hadamard1Codec, hadamard1sCodec, hadamard2Codec, hadamard4Codec, hadamard2sCodec } from './hadamard-codec.js';
import { errorCode } from '../errors/error-code.test-helper.js';

const x = Float32Array.from({ length: 1500 }, (_, i) => Math.sin(i) * (i % 97 === 0 ? 5 : 0.1));
const norm = (v: Float32Array): number => Math.sqrt(v.reduce((s, a) => s + a * a, 0));

describe('randomized Hadamard rotation', () => {
  it('pads to whole blocks, keeps the norm and inverts exactly (to float32 rounding)', () => {
    const y = rotate(x, 1234);
    expect(y.length).toBe(2 * HADAMARD_BLOCK);
    expect(Math.abs(norm(y) - norm(x))).toBeLessThan(1e-4);
    const back = unrotate(y, 1234).subarray(0, x.length);
    expect(Math.max(...back.map((v, i) => Math.abs(v - x[i]!)))).toBeLessThan(1e-5);
  });

  it('derives the same seed for the same round id and different ones otherwise', () => {
    expect(roundCodecSeed('task-r1')).toBe(roundCodecSeed('task-r1'));
    expect(roundCodecSeed('task-r1')).not.toBe(roundCodecSeed('task-r2'));
    expect(roundCodecSeed('')).toBe(0x811c9dc5);
  });
});

describe.each([
  [hadamard1Codec, 1, HADAMARD_BLOCK],
  [hadamard2Codec, 2, HADAMARD_BLOCK],
  [hadamard4Codec, 4, HADAMARD_BLOCK],
  [hadamard1sCodec, 1, 960],
  [hadamard2sCodec, 2, 480],
] as const)('%s', (codec, bits, kept) => {
  it('has the stated size: seed, one scale per block, bits per kept value', () => {
    expect(codec.bodyBytes(1500)).toBe(4 + 2 * 4 + (2 * kept * bits) / 8);
    const body = codec.encode(x, createSeededRandom(1), { seed: 77 });
    expect(body.byteLength).toBe(codec.bodyBytes(1500));
    expect(codec.seedOf(body)).toBe(77);
  });

  it('is unbiased: the mean of many decodes converges to the input', () => {
    const random = createSeededRandom(5);
    const draws = 400;
    const mean = new Float64Array(x.length);
    for (let d = 0; d < draws; d++) {
      const decoded = codec.decode(codec.encode(x, random, { seed: d }), x.length);
      for (let i = 0; i < x.length; i++) mean[i] += decoded[i]! / draws;
    }
    const error = Math.sqrt(mean.reduce((s, m, i) => s + (m - x[i]!) ** 2, 0));
    // Each decode's error has norm about ||x|| · sqrt(B)/(2^bits − 1) (× 1024/kept when values are
    // dropped); the mean shrinks it by sqrt(draws).
    expect(error / norm(x)).toBeLessThan(((2 * Math.sqrt(HADAMARD_BLOCK / 1024) * 2) / ((2 ** bits - 1) * Math.sqrt(draws))) * 8 * (HADAMARD_BLOCK / kept));
  });

  it('folds weight × decoded and reports the decoded sum of squares', () => {
    const body = codec.encode(x, createSeededRandom(2), { seed: 9 });
    const decoded = codec.decode(body, x.length);
    const target = new Float32Array(x.length).fill(1);
    codec.foldInto(body, x.length, target, 2);
    expect(Math.max(...target.map((v, i) => Math.abs(v - (1 + 2 * decoded[i]!))))).toBeLessThan(1e-5);
    expect(codec.sumOfSquares(body, x.length)).toBeCloseTo(decoded.reduce((s, v) => s + v * v, 0), 4);
  });

  it('refuses a wrong size, a non-finite, negative or oversized scale', () => {
    const body = codec.encode(x, createSeededRandom(3), { seed: 1 });
    expect(errorCode(() => codec.validate(body.subarray(1), x.length))).toBe('SHAPE_MISMATCH');
    expect(() => codec.validate(body, x.length, norm(x) * 1.01)).not.toThrow();
    expect(errorCode(() => codec.validate(body, x.length, 0.01))).toBe('OUT_OF_BOUNDS');
    const bad = body.slice();
    new DataView(bad.buffer).setFloat32(4, Infinity, true);
    expect(errorCode(() => codec.validate(bad, x.length))).toBe('NON_FINITE');
    new DataView(bad.buffer).setFloat32(4, -1, true);
    expect(errorCode(() => codec.validate(bad, x.length))).toBe('BAD_REQUEST');
  });
});

describe('hadamard2s', () => {
  it('costs what hadamard1s costs and errs about half as much (a quarter of the variance)', () => {
    expect(hadamard2sCodec.bodyBytes(199_210)).toBe(hadamard1sCodec.bodyBytes(199_210));
    // Gaussian-like values, as rotated updates are.
    const random = createSeededRandom(8);
    const v = Float32Array.from({ length: 8192 }, () => random() + random() + random() - 1.5);
    const error = (codec: typeof hadamard2sCodec): number => {
      let sum = 0;
      for (let d = 0; d < 20; d++) {
        const decoded = codec.decode(codec.encode(v, random, { seed: d }), v.length);
        sum += norm(decoded.map((x, i) => x - v[i]!)) ** 2;
      }
      return Math.sqrt(sum / 20) / norm(v);
    };
    const two = error(hadamard2sCodec);
    const one = error(hadamard1sCodec);
    expect(two).toBeLessThan(0.6 * one);
    expect(two).toBeGreaterThan(1);
  });
});

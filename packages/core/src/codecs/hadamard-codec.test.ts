import { describe, expect, it } from 'vitest';
import { createSeededRandom } from '../random/seeded-random.js';
import { HADAMARD_BLOCK, rotate, roundCodecSeed, unrotate } from './hadamard.js';
import { hadamard1Codec, hadamard1sCodec, hadamard2Codec, hadamard4Codec, hadamardSignCodec } from './hadamard-codec.js';
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

describe('hadamard-sign', () => {
  const codec = hadamardSignCodec;
  const relativeError = (c: typeof codec, seed: number): number => {
    const decoded = c.decode(c.encode(x, createSeededRandom(seed), { seed }), x.length);
    return norm(decoded.map((v, i) => v - x[i]!)) / norm(x);
  };

  it('has hadamard1s\'s size and validation: seed, one scale per block, one bit per kept value', () => {
    expect(codec.bodyBytes(1500)).toBe(hadamard1sCodec.bodyBytes(1500));
    const body = codec.encode(x, createSeededRandom(1), { seed: 77 });
    expect(body.byteLength).toBe(codec.bodyBytes(1500));
    expect(codec.seedOf(body)).toBe(77);
    expect(() => codec.validate(body, x.length, norm(x) * 1.01)).not.toThrow();
    expect(errorCode(() => codec.validate(body, x.length, 0.01))).toBe('OUT_OF_BOUNDS');
    // All zero: decodes to zero.
    expect([...codec.decode(codec.encode(new Float32Array(1500), Math.random, { seed: 3 }), 1500)].every((v) => v === 0)).toBe(true);
  });

  it('errs far less than stochastic 1-bit rounding on every rotation, and its mean over rotations approaches the input', () => {
    let sign = 0;
    let stochastic = 0;
    const draws = 200;
    const mean = new Float64Array(x.length);
    for (let d = 0; d < draws; d++) {
      sign += relativeError(codec, d) / draws;
      stochastic += relativeError(hadamard1sCodec, d) / draws;
      const decoded = codec.decode(codec.encode(x, Math.random, { seed: d }), x.length);
      for (let i = 0; i < x.length; i++) mean[i] += decoded[i]! / draws;
    }
    expect(sign).toBeLessThan(0.35 * stochastic);
    expect(sign).toBeLessThan(1.2);
    expect(norm(Float32Array.from(mean, (m, i) => m - x[i]!)) / norm(x)).toBeLessThan(0.2);
  });

  it('keeps the update\'s length along itself: the decoded update projects on the input with about its squared norm', () => {
    let ratio = 0;
    for (let d = 0; d < 50; d++) {
      const decoded = codec.decode(codec.encode(x, Math.random, { seed: d }), x.length);
      ratio += decoded.reduce((s, v, i) => s + v * x[i]!, 0) / norm(x) ** 2 / 50;
    }
    expect(ratio).toBeGreaterThan(0.9);
    expect(ratio).toBeLessThan(1.1);
  });
});

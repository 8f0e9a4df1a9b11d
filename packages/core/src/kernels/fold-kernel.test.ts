import { describe, expect, it } from 'vitest';
import { CODEC_IDS } from '../codecs/codec.js';
import { getCodec } from '../codecs/codec-registry.js';
import { createSeededRandom, gaussian } from '../random/seeded-random.js';
import { FOLD_KERNEL_WASM } from './fold-kernel-module.js';
import { allocateFoldTarget, findFoldKernel, foldKernelAvailable } from './fold-kernel.js';

function updates(length: number, count: number, seed: number): Float32Array[] {
  const random = createSeededRandom(seed);
  return Array.from({ length: count }, (_, u) =>
    Float32Array.from({ length }, (_, i) => {
      // Mix magnitudes, including float16 subnormals (< 2^-14), zeros and an outlier per update.
      if (i % 97 === 0) return 0;
      if (i % 89 === 0) return gaussian(random) * 1e-6;
      if (i === u * 31) return 50;
      return gaussian(random) * 0.05;
    }),
  );
}

describe('fold kernel', () => {
  it('is a valid WASM SIMD module that this Node runs', () => {
    expect(WebAssembly.validate(FOLD_KERNEL_WASM)).toBe(true);
    expect(foldKernelAvailable()).toBe(true);
    expect(findFoldKernel(allocateFoldTarget(10))).not.toBeNull();
    expect(findFoldKernel(allocateFoldTarget(10, { useKernel: false }))).toBeNull();
    expect(findFoldKernel(new Float32Array(10))).toBeNull();
  });

  it('gives a zeroed target of the asked length', () => {
    const target = allocateFoldTarget(1000);
    expect(target.length).toBe(1000);
    expect(target.every((v) => v === 0)).toBe(true);
  });

  // Lengths: under one SIMD group, not a multiple of 16, several int8 chunks plus a partial one.
  describe.each(CODEC_IDS)('%s folds', (id) => {
    it.each([7, 1000, 256 * 5 + 19])('match the JS loop for %i values', (length) => {
      const codec = getCodec(id);
      const random = createSeededRandom(length);
      const bodies = updates(length, 4, length).map((u) => codec.encode(u, random));
      const weights = [1, 600, 0.25, 37];
      const simd = allocateFoldTarget(length);
      const js = new Float32Array(length);
      // Rounding differs only in the last bits of each term: allow 1e-6 of the terms' magnitude.
      const magnitude = new Float64Array(length);
      bodies.forEach((body, k) => {
        codec.foldInto(body, length, simd, weights[k]!);
        codec.foldInto(body, length, js, weights[k]!);
        codec.decode(body, length).forEach((d, i) => (magnitude[i] += Math.abs(d * weights[k]!)));
      });
      const off = [...simd].flatMap((v, i) => (Math.abs(v - js[i]!) <= 1e-6 * magnitude[i]! ? [] : [[i, v, js[i]]]));
      expect(off).toEqual([]);
      expect(simd.some((v) => v !== 0)).toBe(true);
    });
  });

  it('folds float16 subnormals exactly (the 2^112 rescale trick)', () => {
    const codec = getCodec('float16');
    const values = Float32Array.from({ length: 32 }, (_, i) => (i % 2 ? -1 : 1) * i * 2 ** -24);
    const body = codec.encode(values, Math.random);
    const simd = allocateFoldTarget(32);
    codec.foldInto(body, 32, simd, 1);
    expect([...simd]).toEqual([...values]);
  });
});

describe('int8 sum of squares kernel', () => {
  /** The codec's arithmetic written out plainly: integer squares per 256-value chunk, then × scale². */
  function reference(body: Uint8Array, length: number): number {
    const chunks = Math.ceil(length / 256);
    const scales = new Float32Array(body.slice(0, chunks * 4).buffer);
    const q = new Int8Array(body.buffer, body.byteOffset + chunks * 4, length);
    let sum = 0;
    for (let c = 0; c < chunks; c++) {
      let squares = 0;
      for (let i = c * 256; i < Math.min((c + 1) * 256, length); i++) squares += q[i]! * q[i]!;
      sum += squares * scales[c]! * scales[c]!;
    }
    return sum;
  }

  // Under one chunk (JS only), whole chunks, a partial tail, and a body that grows the kernel's memory.
  it.each([100, 256 * 3, 256 * 5 + 19, 400_000])('gives the same bits as the JS loop for %i values', (length) => {
    const codec = getCodec('int8');
    const random = createSeededRandom(length);
    const values = Float32Array.from({ length }, (_, i) => (i % 1000 === 0 ? 40 : gaussian(random) * 0.05));
    const body = codec.encode(values, random);
    expect(codec.sumOfSquares(body, length)).toBe(reference(body, length));
  });

  it('counts -128 (which no honest encoder sends) like the JS loop does', () => {
    const codec = getCodec('int8');
    const length = 512;
    const body = new Uint8Array(2 * 4 + length).fill(0x80); // every value -128
    new DataView(body.buffer).setFloat32(0, 0.5, true);
    new DataView(body.buffer).setFloat32(4, 3, true);
    expect(codec.sumOfSquares(body, length)).toBe(256 * 128 * 128 * (0.25 + 9));
  });
});

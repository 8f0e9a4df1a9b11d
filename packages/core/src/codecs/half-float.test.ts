import { describe, expect, it } from 'vitest';
import { float32ToHalf, halfIsNonFinite, halfToFloat32 } from './half-float.js';

describe('float32ToHalf', () => {
  it('encodes exact values, rounding to nearest even, subnormals and overflow as IEEE binary16', () => {
    const cases: [number, number][] = [
      [1, 0x3c00],
      [-2, 0xc000],
      [0.5, 0x3800],
      [65504, 0x7bff], // largest finite half
      [65519, 0x7bff], // just below the tie
      [65520, 0x7c00], // tie between 65504 and 65536 goes to the even one: Infinity
      [1e6, 0x7c00],
      [2 ** -14, 0x0400], // smallest normal
      [2 ** -24, 0x0001], // smallest subnormal
      [2 ** -25, 0x0000], // tie with zero goes to zero (even)
      [1.5 * 2 ** -25, 0x0001],
      [1023 * 2 ** -24, 0x03ff], // largest subnormal
      [1 + 2 ** -11, 0x3c00], // tie, stays even
      [1 + 3 * 2 ** -11, 0x3c02], // tie, rounds up to even
      [-0, 0x8000],
      [Infinity, 0x7c00],
      [-Infinity, 0xfc00],
    ];
    expect(cases.map(([x]) => float32ToHalf(x))).toEqual(cases.map(([, h]) => h));
    expect(halfIsNonFinite(float32ToHalf(NaN))).toBe(true);
    expect(Number.isNaN(halfToFloat32(float32ToHalf(NaN)))).toBe(true);
  });

  it('round-trips every finite half exactly', () => {
    const mismatches: number[] = [];
    for (let h = 0; h < 0x10000; h++) {
      if (halfIsNonFinite(h)) continue;
      if (float32ToHalf(halfToFloat32(h)) !== h) mismatches.push(h);
    }
    expect(mismatches).toEqual([]);
  });
});

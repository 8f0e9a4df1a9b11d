import { describe, expect, it } from 'vitest';
import { createSeededRandom } from '@chorus/core';
import { privateUpdate } from './private-update.js';

const norm = (v: Float32Array): number => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

describe('privateUpdate (local DP before encoding)', () => {
  it('returns the raw delta untouched when the task has no local DP', () => {
    // Prepare
    const delta = Float32Array.from([3, 4]);
    // Execute
    const out = privateUpdate(delta, undefined);
    // Assert
    expect(out).toBe(delta);
    expect([...out]).toEqual([3, 4]);
  });

  it('clips a copy to clipNorm and leaves the trainer’s array raw', () => {
    // Prepare
    const delta = Float32Array.from([3, 4]);
    // Execute
    const out = privateUpdate(delta, { clipNorm: 1, noiseMultiplier: 0 });
    // Assert
    expect([...out].map((v) => +v.toFixed(6))).toEqual([0.6, 0.8]);
    expect([...delta]).toEqual([3, 4]);
  });

  it('noised update: norm² ≈ C² + d·(σC)², and it differs from the raw delta in every value', () => {
    // Prepare: a large raw update (norm 100) of d = 50,000 values, C = 0.5, σ = 0.01.
    const d = 50_000;
    const delta = new Float32Array(d).fill(100 / Math.sqrt(d));
    const C = 0.5;
    const sigma = 0.01;
    // Execute
    const out = privateUpdate(delta, { clipNorm: C, noiseMultiplier: sigma }, createSeededRandom(11));
    // Assert: E‖out‖² = C² + d(σC)² = 0.25 + 1.25 = 1.5; the spread of ‖noise‖² is ~√(2d)(σC)² ≈ 0.008.
    expect(norm(out) ** 2).toBeGreaterThan(1.45);
    expect(norm(out) ** 2).toBeLessThan(1.55);
    const clipped = delta[0]! * (C / 100);
    expect(out.every((v) => v !== clipped)).toBe(true);
    // The noise bound: no value strays more than 6σC from the clipped value.
    expect(out.every((v) => Math.abs(v - clipped) < 6 * sigma * C)).toBe(true);
  });

  it('names a bad clip norm', () => {
    expect(() => privateUpdate(new Float32Array(2), { clipNorm: 0, noiseMultiplier: 1 })).toThrow(/clipNorm must be > 0/);
  });
});

import { describe, expect, it } from 'vitest';
import { createSeededRandom } from '../random/seeded-random.js';
import { addGaussianNoise, createSecureRandom } from './gaussian-noise.js';
import { applyLocalDp } from './local-dp.js';

describe('applyLocalDp', () => {
  it('clips to clipNorm without noise and returns the norm before clipping', () => {
    // Prepare
    const delta = Float32Array.from([3, 4]);
    // Execute
    const before = applyLocalDp(delta, { clipNorm: 1, noiseMultiplier: 0 }, createSeededRandom(1));
    // Assert
    expect(before).toBe(5);
    expect([...delta].map((v) => +v.toFixed(6))).toEqual([0.6, 0.8]);
  });

  it('leaves small updates unclipped', () => {
    const delta = Float32Array.from([0.3, 0.4]);
    expect(applyLocalDp(delta, { clipNorm: 1, noiseMultiplier: 0 })).toBeCloseTo(0.5, 6);
    expect([...delta]).toEqual([Math.fround(0.3), Math.fround(0.4)]);
  });

  it('adds noise with std σ·C', () => {
    const delta = new Float32Array(20_000);
    applyLocalDp(delta, { clipNorm: 2, noiseMultiplier: 1.5 }, createSeededRandom(7));
    const std = Math.sqrt(delta.reduce((s, v) => s + v * v, 0) / delta.length);
    expect(std).toBeGreaterThan(2.9);
    expect(std).toBeLessThan(3.1);
  });

  it('names a bad clipNorm', () => {
    expect(() => applyLocalDp(new Float32Array(2), { clipNorm: 0, noiseMultiplier: 1 })).toThrow(/clipNorm must be > 0/);
  });
});

describe('secure Gaussian noise', () => {
  it('draws uniforms in [0, 1) from the CSPRNG with mean ½', () => {
    const random = createSecureRandom();
    let sum = 0;
    let min = 1;
    let max = 0;
    for (let i = 0; i < 100_000; i++) {
      const u = random();
      sum += u;
      min = Math.min(min, u);
      max = Math.max(max, u);
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    expect(Math.abs(sum / 100_000 - 0.5)).toBeLessThan(0.01);
  });

  it('has mean 0 and the requested std', () => {
    const out = new Float32Array(50_001);
    addGaussianNoise(out, 0.5, createSecureRandom());
    const mean = out.reduce((s, v) => s + v, 0) / out.length;
    const std = Math.sqrt(out.reduce((s, v) => s + (v - mean) ** 2, 0) / out.length);
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(std).toBeGreaterThan(0.49);
    expect(std).toBeLessThan(0.51);
  });
});

import { describe, expect, it } from 'vitest';
import { createSeededRandom, gaussian } from '../random/seeded-random.js';
import { SKETCH_PROJECTIONS, modelSketch, sketchAgrees } from './model-sketch.js';

/** The sketch by its definition: projection k adds x where bit k of the index's hash is set, else −x. */
function reference(values: Float32Array): { norm: number; projections: number[] } {
  const sums = new Float64Array(SKETCH_PROJECTIONS);
  let squares = 0;
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    squares += x * x;
    let h = Math.imul(i ^ 0x9e3779b9, 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    h ^= h >>> 16;
    for (let k = 0; k < SKETCH_PROJECTIONS; k++) sums[k]! += (h >>> k) & 1 ? x : -x;
  }
  const scale = values.length > 0 ? 1 / Math.sqrt(values.length) : 0;
  return { norm: Math.sqrt(squares), projections: [...sums].map((s) => s * scale) };
}

describe('modelSketch', () => {
  it.each([0, 1, 7, 1000, 199_210])('equals its definition bit for bit for %i values (a browser and the server must agree)', (n) => {
    const random = createSeededRandom(n + 1);
    const values = Float32Array.from({ length: n }, () => gaussian(random) * 0.05);
    expect(modelSketch(values)).toEqual(reference(values));
  });

  it('accepts a copy within the stated error and refuses one built on another base', () => {
    const random = createSeededRandom(3);
    const values = Float32Array.from({ length: 10_000 }, () => gaussian(random) * 0.05);
    const sketch = modelSketch(values);
    // Within the error: every value off by ±1e-5 at random, so ‖e‖ = 1e-3.
    const near = values.map((x) => x + (random() < 0.5 ? -1e-5 : 1e-5));
    expect(sketchAgrees(sketch, near, 1e-3)).toBe(true);
    // Another model of the same size and scale: its norm is close, its projections are not.
    const other = Float32Array.from({ length: 10_000 }, () => gaussian(random) * 0.05);
    expect(sketchAgrees(sketch, other, 1e-3)).toBe(false);
  });
});

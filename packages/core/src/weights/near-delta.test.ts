import { describe, expect, it } from 'vitest';
import { createSeededRandom } from '../random/seeded-random.js';
import type { TensorSpec } from './layout.js';
import { applyNearDelta, encodeNearDelta } from './near-delta.js';
import { modelSketch, sketchAgrees } from './model-sketch.js';
import { encodePayload } from './payload.js';
import { seededInitialWeights } from './seeded-init.js';

const layout: TensorSpec[] = [
  { name: 'k', shape: [300, 100] },
  { name: 'b', shape: [100] },
];
const n = 30_100;

function l2(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(s);
}

describe('near deltas (a difference from any held version)', () => {
  const random = createSeededRandom(3);
  const base = { layout, values: seededInitialWeights(layout, 11) };
  // Ten rounds of training-like steps: some large values, many small ones.
  const target = base.values.map((x, i) => x + (random() - 0.5) * 0.02 * (i % 17 === 0 ? 10 : 1));

  it('lands within its stated error bound of the target, and the target\'s sketch agrees', () => {
    for (let trial = 0; trial < 5; trial++) {
      const got = applyNearDelta(base, encodeNearDelta(base, target, createSeededRandom(100 + trial)));
      const error = l2(got.values, target);
      expect(error).toBeGreaterThan(0);
      expect(error).toBeLessThanOrEqual(got.errorBound);
      // The bound is not vacuous: far below the step itself.
      expect(got.errorBound).toBeLessThan(0.05 * l2(base.values, target));
      expect(sketchAgrees(modelSketch(target), got.values, got.errorBound)).toBe(true);
    }
  });

  it('is caught by the sketch when applied to the wrong base or when the copy drifted past the bound', () => {
    const delta = encodeNearDelta(base, target, createSeededRandom(1));
    const otherBase = { layout, values: seededInitialWeights(layout, 12) };
    const wrong = applyNearDelta(otherBase, delta);
    expect(sketchAgrees(modelSketch(target), wrong.values, wrong.errorBound)).toBe(false);
    // A copy off by 20 times the bound in a random direction (what a corrupted cache or a stale base looks like).
    const good = applyNearDelta(base, delta);
    const noise = createSeededRandom(9);
    const drifted = good.values.map((x) => x + ((noise() < 0.5 ? -1 : 1) * 20 * good.errorBound) / Math.sqrt(n));
    expect(sketchAgrees(modelSketch(target), drifted, good.errorBound)).toBe(false);
    // A bound that is not a number never agrees.
    expect(sketchAgrees(modelSketch(target), good.values, Number.NaN)).toBe(false);
  });

  it('refuses a difference of another codec or layout with typed errors', () => {
    const diff = new Float32Array(n);
    expect(() => applyNearDelta(base, encodePayload({ layout, values: diff }, 'hadamard4'))).toThrow(expect.objectContaining({ code: 'UNKNOWN_CODEC' }));
    expect(() => applyNearDelta(base, encodePayload({ layout, values: diff }, 'float32'))).toThrow(expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE' }));
    const other: TensorSpec[] = [{ name: 'k', shape: [n] }];
    expect(() => applyNearDelta(base, encodePayload({ layout: other, values: diff }, 'int8'))).toThrow(expect.objectContaining({ code: 'SHAPE_MISMATCH' }));
    expect(() => encodeNearDelta(base, new Float32Array(5), Math.random)).toThrow(expect.objectContaining({ code: 'SHAPE_MISMATCH' }));
  });

  it('costs about a quarter of the float32 model', () => {
    const bytes = encodeNearDelta(base, target, createSeededRandom(1)).byteLength;
    expect(bytes).toBeLessThan(0.26 * 4 * n);
  });
});

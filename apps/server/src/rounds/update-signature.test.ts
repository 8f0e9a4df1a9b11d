import { describe, expect, it } from 'vitest';
import { createSeededRandom, encodePayload, parsePayload, type EncodedUpdate, type TensorSpec } from '@chorus/core';
import { SIGNATURE_LENGTH, updateSignature } from './update-signature.js';

const cosine = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);

/** An update whose output bias moved as local training on `labels` moves it: up on those, down on the rest. */
function labelUpdate(layout: TensorSpec[], labels: number[], random: () => number): EncodedUpdate {
  const size = layout.reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
  const values = Float32Array.from({ length: size }, () => (random() - 0.5) * 0.01);
  const classes = layout.at(-1)!.shape[0]!;
  for (let c = 0; c < classes; c++) values[size - classes + c] = labels.includes(c) ? 0.5 + random() * 0.1 : -0.1 + random() * 0.02;
  return parsed(layout, values);
}

const parsed = (layout: TensorSpec[], values: Float32Array): EncodedUpdate => parsePayload(encodePayload({ layout, values }, 'float32'), { layout, maxBytes: 1e8, codecs: ['float32'] });

describe('update signatures', () => {
  const layout: TensorSpec[] = [{ name: 'dense/kernel', shape: [20, 10] }, { name: 'dense/bias', shape: [10] }];

  it('are the unit-length change of the last tensor: near 1 for the same labels, at most 0 for disjoint ones', () => {
    const random = createSeededRandom(3);
    const a = updateSignature(labelUpdate(layout, [3, 7], random));
    const b = updateSignature(labelUpdate(layout, [3, 7], random));
    const c = updateSignature(labelUpdate(layout, [1, 5], random));

    expect(a).toHaveLength(10);
    expect(Math.hypot(...a)).toBeCloseTo(1, 6);
    expect(cosine(a, b)).toBeGreaterThan(0.99);
    expect(cosine(a, c)).toBeLessThan(0);
  });

  it(`count-sketch a last tensor larger than ${SIGNATURE_LENGTH} values into ${SIGNATURE_LENGTH}, keeping look-alikes alike`, () => {
    const big: TensorSpec[] = [{ name: 'dense/kernel', shape: [4, 1000] }, { name: 'dense/bias', shape: [1000] }];
    const random = createSeededRandom(5);
    const a = updateSignature(labelUpdate(big, [10, 20, 30], random));
    const b = updateSignature(labelUpdate(big, [10, 20, 30], random));
    const c = updateSignature(labelUpdate(big, [500, 600, 700], random));

    expect(a).toHaveLength(SIGNATURE_LENGTH);
    expect(Math.hypot(...a)).toBeCloseTo(1, 6);
    expect(cosine(a, b)).toBeGreaterThan(0.9);
    expect(cosine(a, b)).toBeGreaterThan(cosine(a, c) + 0.5);
  });

  it('stay all zeros for an update that did not move the last tensor', () => {
    const values = Float32Array.from({ length: 210 }, (_, i) => (i < 200 ? 1 : 0));
    expect(updateSignature(parsed(layout, values))).toEqual(new Array(10).fill(0));
  });
});

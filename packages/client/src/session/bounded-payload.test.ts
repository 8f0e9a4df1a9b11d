import { describe, expect, it } from 'vitest';
import { createSeededRandom, decodePayload, l2Norm } from '@chorus/core';
import { encodeBoundedUpdate } from './bounded-payload.js';

const LAYOUT = [{ name: 'w', shape: [1000] }];

describe('encodeBoundedUpdate', () => {
  it("clips an update over the round's bound so that its decoded int8 norm fits", () => {
    // Prepare: a spiky update with norm ≈ 100, bound 10
    const random = createSeededRandom(3);
    const values = Float32Array.from({ length: 1000 }, (_, i) => (i % 97 === 0 ? 25 : (random() - 0.5) * 0.5));
    expect(l2Norm(values)).toBeGreaterThan(80);
    // Execute
    const bytes = encodeBoundedUpdate(LAYOUT, values, 'int8', random, 10);
    // Assert
    const decoded = decodePayload(bytes).values;
    expect(l2Norm(decoded)).toBeLessThanOrEqual(10);
    expect(l2Norm(decoded)).toBeGreaterThan(9);
    // Direction kept: the spike is still the largest value.
    expect(decoded.indexOf(Math.max(...decoded))).toBe(0);
  });

  it('leaves an update under the bound, or without one, as it is', () => {
    const values = Float32Array.from({ length: 1000 }, (_, i) => (i % 2 ? 0.01 : -0.01));
    const within = decodePayload(encodeBoundedUpdate(LAYOUT, values, 'float32', Math.random, 10)).values;
    const unbounded = decodePayload(encodeBoundedUpdate(LAYOUT, values, 'float32', Math.random, undefined)).values;
    expect([...within]).toEqual([...values]);
    expect([...unbounded]).toEqual([...values]);
  });
});

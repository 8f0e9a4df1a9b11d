import { describe, expect, it } from 'vitest';
import { createSeededRandom, decodePayload, l2Norm } from '@chorus/core';
import { encodeBoundedUpdate, encodeWithFeedback } from './bounded-payload.js';

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

describe('encodeWithFeedback', () => {
  it('top-k: sends the 1% largest, keeps the rest, and adds it to the next update', () => {
    // Prepare: 1,000 values (k = 10): ten big ones at 0, 100, …, 900, the others 0.5.
    const values = Float32Array.from({ length: 1000 }, (_, i) => (i % 100 === 0 ? 5 : 0.5));

    // Execute: two rounds with the same local update.
    const first = encodeWithFeedback(LAYOUT, values, 'topk', Math.random, undefined, undefined);
    const second = encodeWithFeedback(LAYOUT, values, 'topk', Math.random, undefined, first.residual);

    // Assert: round 1 sends the ten 5s and keeps every 0.5; in round 2 the 5s win again
    // (5 + 0 against 0.5 + 0.5) and the kept 0.5s grow to 1.
    const sent1 = decodePayload(first.bytes).values;
    expect(sent1.filter((v) => v !== 0).length).toBe(10);
    expect(sent1[100]).toBe(5);
    expect(first.residual![100]).toBe(0);
    expect(first.residual![1]).toBe(0.5);
    expect(second.residual![1]).toBe(1);
    // Nothing is lost: sent + kept = every local update so far.
    const sent2 = decodePayload(second.bytes).values;
    const total = [...sent1].reduce((s, v, i) => s + v + sent2[i]! + second.residual![i]!, 0);
    expect(total).toBeCloseTo(2 * [...values].reduce((s, v) => s + v, 0), 2);
  });

  it('keeps what clipping to the bound removed, itself clipped to the bound', () => {
    const values = new Float32Array(1000);
    values[0] = 30;
    values[1] = -4;
    const { bytes, residual } = encodeWithFeedback(LAYOUT, values, 'topk', Math.random, 10, undefined);
    const sent = decodePayload(bytes).values;
    expect(l2Norm(sent)).toBeLessThanOrEqual(10);
    // 30 and −4 were scaled to norm 10 (×0.3313); the rest of them is kept, then clipped to norm 10.
    expect(l2Norm(residual!)).toBeCloseTo(10, 4);
    expect(residual![0]! / residual![1]!).toBeCloseTo(-7.5, 4);
  });

  it('returns no residual for unbiased codecs', () => {
    const values = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i));
    expect(encodeWithFeedback(LAYOUT, values, 'int8', Math.random, undefined, undefined).residual).toBeUndefined();
    expect(encodeWithFeedback(LAYOUT, values, 'hadamard2', Math.random, undefined, undefined, { seed: 1 }).residual).toBeUndefined();
  });
});

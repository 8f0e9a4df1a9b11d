import { describe, expect, it } from 'vitest';
import { decodeStrategyState, encodeStrategyState } from './state-bytes.js';

describe('strategy state bytes', () => {
  it('round-trips metadata and float32 arrays exactly', () => {
    // Prepare
    const state = { meta: { dp: { clipNorm: 0.5, rdp: [0.1, 1e-300] } }, arrays: [Float32Array.from([1.5, -2]), new Float32Array(0), Float32Array.from([3])] };
    // Execute
    const back = decodeStrategyState(encodeStrategyState(state));
    // Assert
    expect(back.meta).toEqual(state.meta);
    expect(back.arrays.map((a) => [...a])).toEqual([[1.5, -2], [], [3]]);
  });

  it('reads from an unaligned slice of a larger buffer', () => {
    const bytes = encodeStrategyState({ meta: { a: 1 }, arrays: [Float32Array.from([7, 8])] });
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    expect([...decodeStrategyState(shifted.subarray(1)).arrays[0]!]).toEqual([7, 8]);
  });

  it('rejects foreign or truncated bytes with BAD_REQUEST', () => {
    const bytes = encodeStrategyState({ meta: {}, arrays: [Float32Array.from([1, 2, 3])] });
    expect(() => decodeStrategyState(new Uint8Array(32))).toThrow(expect.objectContaining({ code: 'BAD_REQUEST', message: 'strategy state: not a Chorus strategy state' }));
    expect(() => decodeStrategyState(bytes.subarray(0, bytes.length - 4))).toThrow(/array #0 is truncated/);
  });
});

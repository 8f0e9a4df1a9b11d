import { describe, expect, it } from 'vitest';
import { SecAggError } from '@chorus/core';
import { MaskedInputAssembler } from './masked-input-assembler.js';

const bytes = (n: number, from = 0) => Uint8Array.from({ length: n }, (_, i) => (from + i) % 251);
/** The reason a refused part gives (the assembler throws SecAggErrors only). */
const refusal = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SecAggError);
    return `${(err as SecAggError).reason}: ${(err as Error).message}`;
  }
  throw new Error('expected a refusal');
};

describe('MaskedInputAssembler', () => {
  it('puts ordered parts back into the exact masked input, and only the last part returns it', () => {
    const a = new MaskedInputAssembler(10);
    expect(a.add('p1', { index: 0, count: 3, byteLength: 10 }, bytes(4))).toBeUndefined();
    expect(a.add('p1', { index: 1, count: 3, byteLength: 10 }, bytes(4, 4))).toBeUndefined();
    expect(a.add('p1', { index: 2, count: 3, byteLength: 10 }, bytes(2, 8))).toEqual(bytes(10));
    expect(a.inProgress).toBe(0);
  });

  it('keeps participants apart: one participant\'s bad part does not touch another\'s input', () => {
    const a = new MaskedInputAssembler(8);
    a.add('p1', { index: 0, count: 2, byteLength: 8 }, bytes(4));
    a.add('p2', { index: 0, count: 2, byteLength: 8 }, bytes(4, 100));
    expect(refusal(() => a.add('p2', { index: 0, count: 2, byteLength: 8 }, bytes(4)))).toMatch(/^REPLAYED: .*part 0 arrived twice/);
    expect(a.add('p1', { index: 1, count: 2, byteLength: 8 }, bytes(4, 4))).toEqual(bytes(8));
  });

  it.each([
    ['a total other than the round\'s', { index: 0, count: 2, byteLength: 9 }, 4, /MALFORMED: .*9 bytes was declared; this round's is 8/],
    ['more parts than bytes', { index: 0, count: 9, byteLength: 8 }, 1, /MALFORMED: .*cannot carry/],
    ['an index past the count', { index: 2, count: 2, byteLength: 8 }, 4, /MALFORMED: .*cannot carry/],
    ['an empty part', { index: 0, count: 2, byteLength: 8 }, 0, /MALFORMED: .*empty/],
    ['a part before part 0', { index: 1, count: 2, byteLength: 8 }, 4, /MALFORMED: .*before part 0/],
    ['a first part past the total', { index: 0, count: 2, byteLength: 8 }, 9, /MALFORMED: .*goes past the declared 8 bytes/],
  ])('refuses %s', (_name, chunk, size, expected) => {
    expect(refusal(() => new MaskedInputAssembler(8).add('p1', chunk, bytes(size)))).toMatch(expected);
  });

  it('refuses parts out of order, a changed count, a short input and a second complete input, dropping the partial one', () => {
    const a = new MaskedInputAssembler(8);
    a.add('p1', { index: 0, count: 3, byteLength: 8 }, bytes(3));
    expect(refusal(() => a.add('p1', { index: 2, count: 3, byteLength: 8 }, bytes(3)))).toMatch(/MALFORMED: .*part 2 arrived; part 1 was expected/);
    // The refused participant's partial input is gone: its part 1 now has no part 0.
    expect(refusal(() => a.add('p1', { index: 1, count: 3, byteLength: 8 }, bytes(3)))).toMatch(/before part 0/);
    a.add('p1', { index: 0, count: 3, byteLength: 8 }, bytes(3));
    expect(refusal(() => a.add('p1', { index: 1, count: 2, byteLength: 8 }, bytes(3)))).toMatch(/says 2 parts; part 0 said 3/);
    a.add('p1', { index: 0, count: 2, byteLength: 8 }, bytes(3));
    expect(refusal(() => a.add('p1', { index: 1, count: 2, byteLength: 8 }, bytes(3)))).toMatch(/ended after 6 of its 8 bytes/);
    a.add('p1', { index: 0, count: 2, byteLength: 8 }, bytes(4));
    expect(a.add('p1', { index: 1, count: 2, byteLength: 8 }, bytes(4, 4))).toEqual(bytes(8));
    expect(refusal(() => a.add('p1', { index: 0, count: 1, byteLength: 8 }, bytes(8)))).toMatch(/REPLAYED: .*already complete/);
  });

  it('forgets a participant that left', () => {
    const a = new MaskedInputAssembler(8);
    a.add('p1', { index: 0, count: 2, byteLength: 8 }, bytes(4));
    a.drop('p1');
    expect(a.inProgress).toBe(0);
  });
});

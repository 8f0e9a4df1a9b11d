import { describe, expect, it } from 'vitest';
import type { DataSchema } from '@chorus/core';
import { nextWordExamplesOf } from './next-word-examples.js';

const DATA: DataSchema = { kind: 'text', inputShape: [2], numClasses: 5, vocabulary: ['<pad>', '<unk>', 'the', 'of', 'state'], dataset: 'sotu' };

describe('nextWordExamplesOf (the embed frame\'s addText)', () => {
  it('encodes a comment into next-word examples with the task vocabulary', () => {
    const rows = nextWordExamplesOf('The state of Ohio, the state!', DATA);

    expect(Array.isArray(rows) && rows.map((r) => ({ x: [...r.x], y: r.y }))).toEqual([
      { x: [0, 2], y: 4 },
      { x: [2, 4], y: 3 },
      { x: [3, 1], y: 2 },
      { x: [1, 2], y: 4 },
    ]);
  });

  it('says why when the task is not known yet or does not learn from text', () => {
    expect(nextWordExamplesOf('hello', undefined)).toBe('addText: not joined to the task yet; try again in a moment');
    expect(nextWordExamplesOf('hello', { kind: 'text', inputShape: [3], numClasses: 2, vocabulary: ['a', 'b', 'c'] })).toBe(
      'addText: this task does not learn from text (it is not a next-word task)',
    );
  });
});

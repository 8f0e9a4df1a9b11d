import { describe, expect, it } from 'vitest';
import type { DataSchema } from '@chorus/core';
import { nextWordSuggestionsOf } from './next-word-suggest.js';

const DATA: DataSchema = { kind: 'text', inputShape: [2], numClasses: 6, vocabulary: ['<pad>', '<unk>', 'the', 'of', 'state', 'states'], dataset: 'sotu' };

describe('nextWordSuggestionsOf (the embed frame\'s suggest)', () => {
  it('predicts from the last words of the text, left-padded, and ranks the vocabulary by the model', () => {
    const seen: number[][] = [];
    // A fake model: "of" most likely, then "states", then "the", then "state"
    const predict = (context: Float32Array) => {
      seen.push([...context]);
      return [0.5, 0.3, 0.05, 0.4, 0.01, 0.1];
    };
    expect(nextWordSuggestionsOf('The state ', DATA, predict)).toEqual(['of', 'states', 'the']);
    // An unknown word is <unk> (1) in the context; a partly typed unknown word matches nothing
    expect(nextWordSuggestionsOf('Ohio ', DATA, predict)).toEqual(['of', 'states', 'the']);
    expect(nextWordSuggestionsOf('Ohi', DATA, predict)).toEqual([]);
    // A partly typed word keeps the words that start with it, never <pad>/<unk> however likely
    expect(nextWordSuggestionsOf('the sta', DATA, predict)).toEqual(['states', 'state']);
    expect(seen).toEqual([
      [2, 4],
      [0, 1],
      [0, 0],
      [0, 2],
    ]);
  });

  it('says why when the task is not known yet or does not suggest words', () => {
    expect(nextWordSuggestionsOf('hello', undefined, () => [])).toBe('suggest: not joined to the task yet; try again in a moment');
    expect(nextWordSuggestionsOf('hello', { kind: 'image', inputShape: [4], numClasses: 2 }, () => [])).toBe('suggest: this task does not suggest words (it is not a next-word task)');
  });
});

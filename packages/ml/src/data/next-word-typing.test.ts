import { describe, expect, it } from 'vitest';
import { acceptSuggestion, newlyCompleted, splitTyped, suggestWords } from './next-word-typing.js';

const VOCABULARY = ['<pad>', '<unk>', 'the', 'of', 'state', 'states', 'union'];

describe('typing with suggestions', () => {
  it('splits finished words from the word being typed', () => {
    expect(splitTyped('The state of th')).toEqual({ completed: ['the', 'state', 'of'], partial: 'th' });
    expect(splitTyped('The state, ')).toEqual({ completed: ['the', 'state'], partial: '' });
    expect(splitTyped("We don't")).toEqual({ completed: ['we'], partial: "don't" });
    expect(splitTyped('')).toEqual({ completed: [], partial: '' });
  });

  it('suggests the most probable words that fit the partial word, never <pad>, <unk> or the word itself', () => {
    const probs = [0.4, 0.3, 0.05, 0.1, 0.06, 0.07, 0.02];

    expect(suggestWords(probs, VOCABULARY)).toEqual(['of', 'states', 'state']);
    expect(suggestWords(probs, VOCABULARY, 'sta')).toEqual(['states', 'state']);
    expect(suggestWords(probs, VOCABULARY, 'state')).toEqual(['states']);
    expect(suggestWords(probs, VOCABULARY, 'x')).toEqual([]);
  });

  it('replaces the partial word with the accepted one and a space', () => {
    expect(acceptSuggestion('The state of th', 'the')).toBe('The state of the ');
    expect(acceptSuggestion('The state of ', 'the')).toBe('The state of the ');
    expect(acceptSuggestion('', 'the')).toBe('the ');
  });

  it('puts a space between punctuation and the accepted word, none after an opening bracket, quote or hyphen', () => {
    expect(acceptSuggestion('Hello,', 'the')).toBe('Hello, the ');
    expect(acceptSuggestion('Hello,th', 'the')).toBe('Hello, the ');
    expect(acceptSuggestion('It ended. ', 'the')).toBe('It ended. the ');
    expect(acceptSuggestion('It ended.', 'the')).toBe('It ended. the ');
    expect(acceptSuggestion('in 1990', 'the')).toBe('in 1990 the ');
    expect(acceptSuggestion('He said "', 'the')).toBe('He said "the ');
    expect(acceptSuggestion('He said "yes"', 'the')).toBe('He said "yes" the ');
    expect(acceptSuggestion('(', 'the')).toBe('(the ');
    expect(acceptSuggestion('well-', 'known')).toBe('well-known ');
  });

  it('finds the words typing on finished, and none after an edit', () => {
    expect(newlyCompleted(['the'], ['the', 'state', 'of'])).toEqual([1, 2]);
    expect(newlyCompleted(['the', 'state'], ['the', 'state'])).toEqual([]);
    expect(newlyCompleted(['the', 'state'], ['a', 'state', 'of'])).toEqual([]);
    expect(newlyCompleted(['the', 'state'], ['the'])).toEqual([]);
  });
});

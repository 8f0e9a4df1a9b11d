import { describe, expect, it } from 'vitest';
import { acceptWord } from './suggestion-strip.js';

describe('acceptWord', () => {
  it('replaces the partly typed word, or adds the word after a finished one, then a space', () => {
    expect(acceptWord('The state of the un', 'union')).toBe('The state of the union ');
    expect(acceptWord('The state of the ', 'union')).toBe('The state of the union ');
    expect(acceptWord('', 'the')).toBe('the ');
    expect(acceptWord("we can't", "can't")).toBe("we can't ");
  });

  it('puts a space between punctuation and the accepted word, none after an opening bracket, quote or hyphen', () => {
    expect(acceptWord('Hello,', 'the')).toBe('Hello, the ');
    expect(acceptWord('Hello,th', 'the')).toBe('Hello, the ');
    expect(acceptWord('It ended.', 'the')).toBe('It ended. the ');
    expect(acceptWord('in 1990', 'the')).toBe('in 1990 the ');
    expect(acceptWord('He said "', 'the')).toBe('He said "the ');
    expect(acceptWord('He said "yes"', 'the')).toBe('He said "yes" the ');
    expect(acceptWord('(', 'the')).toBe('(the ');
    expect(acceptWord('well-', 'known')).toBe('well-known ');
  });
});

import { describe, expect, it } from 'vitest';
import { acceptWord } from './suggestion-strip.js';

describe('acceptWord', () => {
  it('replaces the partly typed word, or adds the word after a finished one, then a space', () => {
    expect(acceptWord('The state of the un', 'union')).toBe('The state of the union ');
    expect(acceptWord('The state of the ', 'union')).toBe('The state of the union ');
    expect(acceptWord('', 'the')).toBe('the ');
    // After punctuation the word follows directly; after a letter-ending word, a space is added
    expect(acceptWord('Hello,', 'the')).toBe('Hello,the ');
    expect(acceptWord("we can't", "can't")).toBe("we can't ");
  });
});

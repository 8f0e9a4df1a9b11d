import { describe, expect, it } from 'vitest';
import { buildVocabulary, createVectorizer, emailText, tokenize, vectorize } from './text-features.js';

describe('text features', () => {
  it('tokenizes lower-case words, dropping HTML tags, entities, numbers and one-letter words', () => {
    expect(tokenize('FREE <b>Viagra</b>&nbsp;now!!! Call 555-1234 a x2 don\'t')).toEqual(['free', 'viagra', 'now', 'call', 'x2', "don't"]);
  });

  it('keeps the subject and body of an email with headers, and leaves plain text alone', () => {
    const raw = 'From a@b.c  Thu Aug 22 2002\r\nReceived: from relay.example.org\r\nSubject: Cheap loans\r\n\r\nApply today.\r\n';
    expect(emailText(raw)).toBe('Cheap loans\nApply today.\n');
    expect(emailText('Hi Bob, lunch at noon?')).toBe('Hi Bob, lunch at noon?');
  });

  it('builds the same vocabulary from the same texts in any order: most documents first, ties alphabetical', () => {
    const texts = ['win cash now', 'cash prize', 'meeting notes now', 'cash now'];

    const a = buildVocabulary(texts, 4);
    const b = buildVocabulary([...texts].reverse(), 4);

    expect(a).toEqual(['cash', 'now', 'meeting', 'notes']);
    expect(b).toEqual(a);
  });

  it('vectorizes to a binary bag of words in vocabulary order, the same every time', () => {
    const vocabulary = ['cash', 'now', 'meeting', 'notes'];

    const x = vectorize('NOW: cash, cash and more cash', vocabulary);

    expect([...x]).toEqual([1, 1, 0, 0]);
    expect([...createVectorizer(vocabulary)('NOW: cash, cash and more cash')]).toEqual([...x]);
  });

  it('refuses an empty vocabulary or a repeated token', () => {
    expect(() => createVectorizer([])).toThrow(/vocabulary is empty/);
    expect(() => createVectorizer(['a1', 'b2', 'a1'])).toThrow(/lists "a1" twice/);
  });
});

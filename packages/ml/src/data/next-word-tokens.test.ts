import { describe, expect, it } from 'vitest';
import { buildNextWordVocabulary, checkNextWordVocabulary, createNextWordEncoder, nextWordDataset, tokenizeWords, topWords } from './next-word-tokens.js';

describe('next-word tokens', () => {
  it('tokenizes lower-case words with inner apostrophes; digits and punctuation split words', () => {
    expect(tokenizeWords('The Union’s state, in 1790: "strong" — don\'t-stop')).toEqual(['the', "union's", 'state', 'in', 'strong', "don't", 'stop']);
    expect(tokenizeWords('')).toEqual([]);
  });

  it('builds <pad>, <unk>, then the most used words (ties alphabetical), the same in any order', () => {
    const texts = ['the state of the union', 'the people of the state'];

    const a = buildNextWordVocabulary(texts, 5);

    expect(a).toEqual(['<pad>', '<unk>', 'the', 'of', 'state']);
    expect(buildNextWordVocabulary([...texts].reverse(), 5)).toEqual(a);
  });

  it('refuses sizes that do not fit a byte and vocabularies without the special tokens or with repeats', () => {
    expect(() => buildNextWordVocabulary([], 257)).toThrow(/from 3 to 256, got 257/);
    expect(() => checkNextWordVocabulary(['a', 'b', 'c'])).toThrow(/must start with "<pad>", "<unk>"/);
    expect(() => checkNextWordVocabulary(['<pad>', '<unk>', 'a', 'a'])).toThrow(/lists "a" twice/);
  });

  it('encodes words to ids (unknown → 1) and left-pads the context', () => {
    const enc = createNextWordEncoder(['<pad>', '<unk>', 'the', 'of', 'state']);

    expect(enc.encode('The state of Ohio')).toEqual([2, 4, 3, 1]);
    expect([...enc.contextOf([2, 4, 3, 1], 3)]).toEqual([4, 3, 1]);
    expect([...enc.contextOf([2], 3)]).toEqual([0, 0, 2]);
    expect(enc.encode('<pad> <unk>')).toEqual([1, 1]);
  });

  it('makes one example per in-vocabulary word after the first, never across texts', () => {
    const vocabulary = ['<pad>', '<unk>', 'the', 'of', 'state'];

    const ds = nextWordDataset(['the state of ohio the', 'state of'], vocabulary, { context: 2 });

    expect(ds.count).toBe(4);
    expect([...ds.y]).toEqual([4, 3, 2, 3]);
    expect([...ds.x]).toEqual([0, 2, 2, 4, 3, 1, 0, 4]);
    expect(ds.inputShape).toEqual([2]);
    expect(ds.numClasses).toBe(5);
    expect(nextWordDataset(['the state of ohio the'], vocabulary, { context: 2, maxExamples: 2 }).count).toBe(2);
  });

  it('suggests the most probable words, never <pad> or <unk>', () => {
    expect(topWords([0.5, 0.3, 0.05, 0.1, 0.05], ['<pad>', '<unk>', 'the', 'of', 'state'], 2)).toEqual(['of', 'the']);
  });
});

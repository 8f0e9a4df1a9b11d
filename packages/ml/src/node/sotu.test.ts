import { describe, expect, it } from 'vitest';
import { loadSotuAddresses, sotuHeldOutDataset, sotuSpeakerDataset, sotuSplit, sotuVocabulary, spreadSubset } from './sotu.js';

describe('State of the Union by president', () => {
  it('loads 233 addresses, oldest first', () => {
    const all = loadSotuAddresses();

    expect(all.length).toBe(233);
    expect(all[0]).toMatchObject({ year: 1790, president: 'George Washington' });
    expect(all[232]!.year).toBe(2021);
  });

  it('splits by president: 43 speakers train, 41 last addresses are held out, none in both', () => {
    const { speakers, heldOut } = sotuSplit();

    expect(speakers.length).toBe(43);
    expect(heldOut.length).toBe(41);
    expect(speakers[0]!.president).toBe('George Washington');
    expect(speakers[0]!.addresses.map((a) => a.year)).toEqual([1790, 1791, 1792, 1793, 1794, 1795]);
    expect(heldOut[0]).toMatchObject({ year: 1796, president: 'George Washington' });
    const training = new Set(speakers.flatMap((s) => s.addresses));
    expect(heldOut.some((a) => training.has(a))).toBe(false);
    expect(speakers.find((s) => s.president === 'Zachary Taylor')!.addresses.length).toBe(1);
  });

  it('builds a 256-entry vocabulary from the training addresses, the most used words first', () => {
    const vocabulary = sotuVocabulary();

    expect(vocabulary.length).toBe(256);
    expect(vocabulary.slice(0, 6)).toEqual(['<pad>', '<unk>', 'the', 'of', 'to', 'and']);
    expect(sotuVocabulary()).toBe(vocabulary);
  });

  it('gives each president and the held-out set next-word examples, capped by an even spread', () => {
    const vocabulary = sotuVocabulary();
    const washington = sotuSplit().speakers[0]!;

    const capped = sotuSpeakerDataset(washington, vocabulary, 100);
    const test = sotuHeldOutDataset(vocabulary, 2000);

    expect(capped.count).toBe(100);
    expect(capped.inputShape).toEqual([8]);
    expect(capped.numClasses).toBe(256);
    expect(test.count).toBe(2000);
    expect(Math.max(...test.y)).toBeLessThan(256);
    expect(Math.min(...test.y)).toBeGreaterThanOrEqual(2);
  });

  it('spreads a subset evenly and refuses a non-positive count', () => {
    const ds = { x: Float32Array.from([0, 1, 2, 3, 4, 5]), y: Uint8Array.from([0, 1, 2, 3, 4, 5]), count: 6, inputShape: [1], numClasses: 6 };

    expect([...spreadSubset(ds, 3).y]).toEqual([0, 2, 4]);
    expect(spreadSubset(ds, 10)).toBe(ds);
    expect(() => spreadSubset(ds, 0)).toThrow('spreadSubset: count must be a positive integer, got 0');
  });
});

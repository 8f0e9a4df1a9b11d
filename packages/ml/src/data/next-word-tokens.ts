// Word tokens, vocabulary and training windows for next-word prediction (the keyboard task).
// Browser-safe and dependency-free: the page that suggests words, the worker that trains on what a
// person typed, and the server's central evaluation must turn the same text into the same ids.
import { ChorusError } from '@chorus/core';
import type { Dataset } from '@chorus/core';

/** Id 0: left padding of a context shorter than the window (the start of a text). */
export const PAD_TOKEN = '<pad>';
/** Id 1: any word outside the vocabulary. */
export const UNK_TOKEN = '<unk>';
export const PAD_ID = 0;
export const UNK_ID = 1;
/**
 * Largest vocabulary, special tokens included: a Dataset's labels are a Uint8Array, so a word id must
 * fit a byte. Its 254 words are the targets of 901,794 of the State of the Union training split's
 * running words (the rest are out of vocabulary: never a target, `<unk>` in a context).
 */
export const MAX_NEXT_WORD_VOCABULARY = 256;
/** Words of context the model sees before predicting the next one. */
export const NEXT_WORD_CONTEXT = 8;

const WORD = /[a-z]+(?:'[a-z]+)?/g;

/** Lower-case words (letters, one inner apostrophe: "don't"); digits and punctuation separate words. */
export function tokenizeWords(text: string): string[] {
  if (typeof text !== 'string') throw new ChorusError('INVALID_CONFIG', `tokenizeWords: text must be a string, got ${typeof text}`);
  return text.toLowerCase().replace(/[\u2018\u2019]/g, "'").match(WORD) ?? [];
}

/**
 * `<pad>`, `<unk>`, then the `size - 2` words used most often in `texts` (ties alphabetical), so the
 * same texts always give the same vocabulary whatever their order.
 */
export function buildNextWordVocabulary(texts: Iterable<string>, size = MAX_NEXT_WORD_VOCABULARY): string[] {
  if (!Number.isInteger(size) || size < 3 || size > MAX_NEXT_WORD_VOCABULARY) {
    throw new ChorusError('INVALID_CONFIG', `buildNextWordVocabulary: size must be an integer from 3 to ${MAX_NEXT_WORD_VOCABULARY}, got ${size}`);
  }
  const counts = new Map<string, number>();
  for (const text of texts) for (const word of tokenizeWords(text)) counts.set(word, (counts.get(word) ?? 0) + 1);
  const words = [...counts]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, size - 2)
    .map(([word]) => word);
  return [PAD_TOKEN, UNK_TOKEN, ...words];
}

/** Throws INVALID_CONFIG naming the problem unless `vocabulary` is a next-word vocabulary. */
export function checkNextWordVocabulary(vocabulary: readonly string[], what = 'vocabulary'): void {
  if (!Array.isArray(vocabulary) || vocabulary.length < 3 || vocabulary.length > MAX_NEXT_WORD_VOCABULARY) {
    throw new ChorusError('INVALID_CONFIG', `${what}: expected 3 to ${MAX_NEXT_WORD_VOCABULARY} entries, got ${Array.isArray(vocabulary) ? vocabulary.length : typeof vocabulary}`);
  }
  if (vocabulary[PAD_ID] !== PAD_TOKEN || vocabulary[UNK_ID] !== UNK_TOKEN) {
    throw new ChorusError('INVALID_CONFIG', `${what}: must start with "${PAD_TOKEN}", "${UNK_TOKEN}"`);
  }
  const seen = new Set<string>();
  for (const word of vocabulary) {
    if (seen.has(word)) throw new ChorusError('INVALID_CONFIG', `${what}: lists "${word}" twice`);
    seen.add(word);
  }
}

export interface NextWordEncoder {
  readonly vocabulary: readonly string[];
  /** Word ids of `text`; words outside the vocabulary become UNK_ID. */
  encode(text: string): number[];
  /** The model input for predicting the word after `ids`: the last `context` ids, left-padded with PAD_ID. */
  contextOf(ids: readonly number[], context?: number): Float32Array;
}

export function createNextWordEncoder(vocabulary: readonly string[]): NextWordEncoder {
  checkNextWordVocabulary(vocabulary);
  const index = new Map<string, number>();
  vocabulary.forEach((word, i) => index.set(word, i));
  index.delete(PAD_TOKEN);
  index.delete(UNK_TOKEN);
  return {
    vocabulary,
    encode: (text) => tokenizeWords(text).map((w) => index.get(w) ?? UNK_ID),
    contextOf: (ids, context = NEXT_WORD_CONTEXT) => {
      const x = new Float32Array(context);
      const tail = ids.slice(Math.max(0, ids.length - context));
      x.set(tail, context - tail.length);
      return x;
    },
  };
}

/**
 * Training examples from texts: for every word after a text's first whose id is in the vocabulary,
 * the `context` ids before it (left-padded) → its id. Words outside the vocabulary are never targets
 * (a keyboard cannot suggest them) but stay in the context as UNK_ID. Texts do not run into each other.
 */
export function nextWordDataset(texts: Iterable<string>, vocabulary: readonly string[], options: { context?: number; maxExamples?: number } = {}): Dataset {
  const context = options.context ?? NEXT_WORD_CONTEXT;
  const maxExamples = options.maxExamples ?? Number.POSITIVE_INFINITY;
  if (!Number.isInteger(context) || context < 1 || context > 64) throw new ChorusError('INVALID_CONFIG', `nextWordDataset: context must be an integer from 1 to 64, got ${context}`);
  if (!(maxExamples >= 0)) throw new ChorusError('INVALID_CONFIG', `nextWordDataset: maxExamples must be ≥ 0, got ${maxExamples}`);
  const encoder = createNextWordEncoder(vocabulary);
  const xs: Float32Array[] = [];
  const ys: number[] = [];
  outer: for (const text of texts) {
    const ids = encoder.encode(text);
    for (let i = 1; i < ids.length; i++) {
      if (ys.length >= maxExamples) break outer;
      if (ids[i] === UNK_ID) continue;
      xs.push(encoder.contextOf(ids.slice(Math.max(0, i - context), i), context));
      ys.push(ids[i]!);
    }
  }
  const x = new Float32Array(ys.length * context);
  xs.forEach((row, i) => x.set(row, i * context));
  return { x, y: Uint8Array.from(ys), count: ys.length, inputShape: [context], numClasses: vocabulary.length };
}

/** True for a next-word task's data: text whose vocabulary starts with `<pad>`, `<unk>` (the keyboard box, not a bag of words). */
export function isNextWordData(data: { readonly kind: string; readonly vocabulary?: readonly string[] | undefined }): boolean {
  return data.kind === 'text' && data.vocabulary?.[PAD_ID] === PAD_TOKEN && data.vocabulary[UNK_ID] === UNK_TOKEN;
}

/** The `k` most probable words (never `<pad>` or `<unk>`), most probable first. */
export function topWords(probabilities: ArrayLike<number>, vocabulary: readonly string[], k = 3): string[] {
  const order = Array.from({ length: Math.min(probabilities.length, vocabulary.length) }, (_, i) => i).filter((i) => i !== PAD_ID && i !== UNK_ID);
  order.sort((a, b) => probabilities[b]! - probabilities[a]! || a - b);
  return order.slice(0, k).map((i) => vocabulary[i]!);
}

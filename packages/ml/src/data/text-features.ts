// Bag-of-words features for text tasks. Browser-safe and dependency-free: participants' browsers and
// the server's central evaluation must turn the same text into the same vector, byte for byte.
import { ChorusError } from '@chorus/core';

const HEADER_LINE = /^[A-Za-z][A-Za-z0-9-]*:|^From /;
const TOKEN = /[a-z][a-z0-9']{1,29}/g;

/**
 * The part of an email worth reading: when it starts with RFC 822 headers, its Subject plus the body
 * after the first blank line. Routing headers (servers, dates, message ids) say where a corpus was
 * collected, not whether a message is spam, and a pasted email usually has none.
 */
export function emailText(raw: string): string {
  const text = raw.replace(/\r\n?/g, '\n');
  if (!HEADER_LINE.test(text)) return text;
  const split = text.indexOf('\n\n');
  const headers = split < 0 ? text : text.slice(0, split);
  const body = split < 0 ? '' : text.slice(split + 2);
  const subject = /^Subject:(.*)$/im.exec(headers)?.[1]?.trim() ?? '';
  return `${subject}\n${body}`;
}

/** Lower-case word tokens of 2–30 characters starting with a letter; HTML tags and entities dropped. */
export function tokenize(text: string): string[] {
  const plain = text
    .toLowerCase()
    .replace(/<[^>]{0,200}>/g, ' ')
    .replace(/&[a-z]{2,8};/g, ' ');
  return plain.match(TOKEN) ?? [];
}

/**
 * The `size` tokens found in the most documents (ties: alphabetical), so the same texts always give
 * the same vocabulary whatever their order.
 */
export function buildVocabulary(texts: Iterable<string>, size: number): string[] {
  if (!Number.isInteger(size) || size < 1) throw new ChorusError('INVALID_CONFIG', `buildVocabulary: size must be a positive integer, got ${size}`);
  const documents = new Map<string, number>();
  for (const text of texts) {
    for (const token of new Set(tokenize(text))) documents.set(token, (documents.get(token) ?? 0) + 1);
  }
  return [...documents]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, size)
    .map(([token]) => token);
}

export type Vectorizer = (text: string) => Float32Array;

/** One input per vocabulary token: 1 when the text contains it, else 0 (binary bag of words). */
export function createVectorizer(vocabulary: readonly string[]): Vectorizer {
  if (vocabulary.length === 0) throw new ChorusError('INVALID_CONFIG', 'createVectorizer: vocabulary is empty');
  const index = new Map<string, number>();
  vocabulary.forEach((token, i) => {
    if (index.has(token)) throw new ChorusError('INVALID_CONFIG', `createVectorizer: vocabulary lists "${token}" twice`);
    index.set(token, i);
  });
  return (text) => {
    const x = new Float32Array(vocabulary.length);
    for (const token of tokenize(text)) {
      const i = index.get(token);
      if (i !== undefined) x[i] = 1;
    }
    return x;
  };
}

/** vectorize(text, vocabulary) for a single text; build a vectorizer once for many. */
export function vectorize(text: string, vocabulary: readonly string[]): Float32Array {
  return createVectorizer(vocabulary)(text);
}

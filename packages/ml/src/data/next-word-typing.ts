// What a keyboard's text box needs between keystrokes, without TensorFlow.js: which words are done,
// which word is being typed, the suggestions that fit it, and what accepting one does to the text.
import { PAD_ID, tokenizeWords, UNK_ID } from './next-word-tokens.js';

export interface TypedText {
  /** Words finished so far (followed by a space or punctuation). */
  readonly completed: string[];
  /** The word being typed at the end of the text, lower-case; '' right after a space. */
  readonly partial: string;
}

const TRAILING_WORD = /[A-Za-z\u2018\u2019']*[A-Za-z]$/;

export function splitTyped(text: string): TypedText {
  const trailing = TRAILING_WORD.exec(text)?.[0] ?? '';
  return { completed: tokenizeWords(text.slice(0, text.length - trailing.length)), partial: trailing.toLowerCase().replace(/[\u2018\u2019]/g, "'") };
}

/**
 * The `k` most probable vocabulary words that start with `partial` (never `<pad>`, `<unk>`, nor the
 * partial word itself once complete), most probable first.
 */
export function suggestWords(probabilities: ArrayLike<number>, vocabulary: readonly string[], partial = '', k = 3): string[] {
  const fits: number[] = [];
  for (let i = 0; i < vocabulary.length && i < probabilities.length; i++) {
    if (i === PAD_ID || i === UNK_ID) continue;
    const word = vocabulary[i]!;
    if (word.startsWith(partial) && word !== partial) fits.push(i);
  }
  fits.sort((a, b) => probabilities[b]! - probabilities[a]! || a - b);
  return fits.slice(0, k).map((i) => vocabulary[i]!);
}

/**
 * Whether a word added after `head` follows it without a space: at the start, after a space, an
 * opening bracket or quote, a hyphen or a slash. After a word or punctuation ("Hello,") it takes one.
 * The partner embed's strip (packages/embed, no dependencies) keeps a copy of this rule.
 */
function joinsWithoutSpace(head: string): boolean {
  return head === '' || /[\s([{\u201c\u2018/-]$/.test(head) || /(^|[\s([{])["']$/.test(head);
}

/** The text with its trailing partial word replaced by `word` and a space, as a tap or Tab does. */
export function acceptSuggestion(text: string, word: string): string {
  const trailing = TRAILING_WORD.exec(text)?.[0] ?? '';
  const head = text.slice(0, text.length - trailing.length);
  return `${head}${joinsWithoutSpace(head) ? '' : ' '}${word} `;
}

/**
 * The words `next` finished that `previous` had not, when `next` only extends it (typing on); none
 * when earlier words changed (an edit or a deletion is not new text to learn from).
 */
export function newlyCompleted(previous: readonly string[], next: readonly string[]): number[] {
  if (next.length <= previous.length) return [];
  for (let i = 0; i < previous.length; i++) if (previous[i] !== next[i]) return [];
  return Array.from({ length: next.length - previous.length }, (_, j) => previous.length + j);
}

import type { DataSchema } from '@chorus/core';
import { createNextWordEncoder, isNextWordData, splitTyped, suggestWords } from '@chorus/ml/data';

/**
 * The embed frame's `suggest`: the three words the model rates most likely after `text` (those
 * starting with a partly typed last word, when there is one), as the participant page's strip
 * suggests them. `predict` maps a context window of word ids to next-word probabilities. A
 * plain-words problem instead when the task is unknown yet or does not learn from text.
 */
export function nextWordSuggestionsOf(text: string, data: DataSchema | undefined, predict: (context: Float32Array) => ArrayLike<number>): string[] | string {
  if (!data) return 'suggest: not joined to the task yet; try again in a moment';
  if (!isNextWordData(data)) return 'suggest: this task does not suggest words (it is not a next-word task)';
  const encoder = createNextWordEncoder(data.vocabulary!);
  const typed = splitTyped(text);
  const probabilities = predict(encoder.contextOf(encoder.encode(typed.completed.join(' ')), data.inputShape[0]!));
  return suggestWords(probabilities, encoder.vocabulary, typed.partial);
}

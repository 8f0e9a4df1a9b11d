import type { DataSchema } from '@chorus/core';
import { isNextWordData, nextWordDataset } from '@chorus/ml/data';

/**
 * A partner's text (the embed's `Chorus.addText`) as next-word examples for the task, encoded with
 * its vocabulary: one per in-vocabulary word after the first. A plain-words problem instead when the
 * task is unknown yet or does not learn from text.
 */
export function nextWordExamplesOf(text: string, data: DataSchema | undefined): { x: Float32Array; y: number }[] | string {
  if (!data) return 'addText: not joined to the task yet; try again in a moment';
  if (!isNextWordData(data)) return 'addText: this task does not learn from text (it is not a next-word task)';
  const ds = nextWordDataset([text], data.vocabulary!, { context: data.inputShape[0]! });
  const width = ds.inputShape[0]!;
  return Array.from({ length: ds.count }, (_, i) => ({ x: ds.x.slice(i * width, (i + 1) * width), y: ds.y[i]! }));
}

import * as tf from '@tensorflow/tfjs';
import { ChorusError } from '@chorus/core';
import { PAD_ID, UNK_ID } from '../data/next-word-tokens.js';
import type { Dataset } from '@chorus/core';
import { assertDatasetFitsModel, countCorrect, crossEntropy, gatherBatch } from './batches.js';
import { yieldToEventLoop } from './yield-to-event-loop.js';

/** What a keyboard's users notice: the first suggestion right, one of three right, and how surprised the model is. */
export interface NextWordMetrics {
  /** Share of examples whose most probable word (never `<pad>` or `<unk>`) is the next word: the first suggestion (0–1). */
  readonly accuracy: number;
  /** Share whose next word is among the three most probable words (never `<pad>` or `<unk>`): one of the three suggestions (0–1). */
  readonly top3Accuracy: number;
  /** Mean cross-entropy in nats. */
  readonly loss: number;
  /** exp(loss): the number of equally likely words the model is as unsure as. */
  readonly perplexity: number;
}

/** Number of examples whose label is among the `k` most probable classes. */
export function countInTopK(labels: tf.Tensor1D, probs: tf.Tensor, k: number): tf.Scalar {
  return tf.tidy(() => {
    const { indices } = tf.topk(probs, k);
    const hit = tf.any(tf.equal(indices, tf.expandDims(labels, 1)), 1);
    return tf.sum(tf.cast(hit, 'int32')) as tf.Scalar;
  });
}

/**
 * `probs` with `<pad>` and `<unk>` pushed below every word (probabilities are ≥ 0): the suggestion
 * strip never shows them, so the accuracies rank only the words a person could be offered.
 */
function suggestable(probs: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const classes = probs.shape[probs.shape.length - 1]!;
    const hidden = new Float32Array(classes);
    for (const id of [PAD_ID, UNK_ID]) if (id < classes) hidden[id] = -2;
    return tf.add(probs, tf.tensor1d(hidden));
  });
}

/**
 * Next-word metrics of `model` over every example of `data` (labels are word ids). The accuracies
 * count what the suggestion strip shows (never `<pad>` or `<unk>`); the loss is the model's own.
 */
export async function evaluateNextWord(model: tf.LayersModel, data: Dataset, batchSize = 500): Promise<NextWordMetrics> {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new ChorusError('INVALID_CONFIG', `evaluateNextWord: batchSize must be a positive integer, got ${batchSize}`);
  }
  if (data.count === 0) throw new ChorusError('INVALID_CONFIG', 'evaluateNextWord: the dataset has no examples');
  assertDatasetFitsModel(model, data, 'evaluateNextWord');
  const k = Math.min(3, data.numClasses);
  const order = Int32Array.from({ length: data.count }, (_, i) => i);
  let lossSum = 0;
  let top1 = 0;
  let top3 = 0;
  for (let start = 0; start < data.count; start += batchSize) {
    const end = Math.min(data.count, start + batchSize);
    const parts = tf.tidy(() => {
      const { x, y } = gatherBatch(data, order, start, end);
      const probs = model.predict(x) as tf.Tensor;
      const shown = suggestable(probs);
      return [crossEntropy(tf.oneHot(y, data.numClasses), probs), countCorrect(y, shown), countInTopK(y, shown, k)];
    });
    const [l, c1, c3] = await Promise.all(parts.map((t) => t.data()));
    tf.dispose(parts);
    lossSum += l![0]! * (end - start);
    top1 += c1![0]!;
    top3 += c3![0]!;
    if (end < data.count) await yieldToEventLoop();
  }
  const loss = lossSum / data.count;
  return { accuracy: top1 / data.count, top3Accuracy: top3 / data.count, loss, perplexity: Math.exp(loss) };
}

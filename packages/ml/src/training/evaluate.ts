import * as tf from '@tensorflow/tfjs';
import { ChorusError } from '@chorus/core';
import type { Dataset } from '@chorus/core';
import { assertDatasetFitsModel, countCorrect, crossEntropy, gatherBatch } from './batches.js';
import { yieldToEventLoop } from './yield-to-event-loop.js';

/** Accuracy and mean cross-entropy of `model` over every example of `data`. */
export async function evaluateModel(model: tf.LayersModel, data: Dataset, batchSize = 500): Promise<{ accuracy: number; loss: number }> {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new ChorusError('INVALID_CONFIG', `evaluateModel: batchSize must be a positive integer, got ${batchSize}`);
  }
  if (data.count === 0) throw new ChorusError('INVALID_CONFIG', 'evaluateModel: the dataset has no examples');
  assertDatasetFitsModel(model, data, 'evaluateModel');
  const order = Int32Array.from({ length: data.count }, (_, i) => i);
  let lossSum = 0;
  let correct = 0;
  for (let start = 0; start < data.count; start += batchSize) {
    const end = Math.min(data.count, start + batchSize);
    const [loss, right] = tf.tidy(() => {
      const { x, y } = gatherBatch(data, order, start, end);
      const probs = model.predict(x) as tf.Tensor;
      return [crossEntropy(tf.oneHot(y, data.numClasses), probs), countCorrect(y, probs)];
    });
    const [l, r] = await Promise.all([loss.data(), right.data()]);
    tf.dispose([loss, right]);
    lossSum += l[0]! * (end - start);
    correct += r[0]!;
    if (end < data.count) await yieldToEventLoop();
  }
  return { accuracy: correct / data.count, loss: lossSum / data.count };
}

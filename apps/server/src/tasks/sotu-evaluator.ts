import type { Logger } from 'pino';
import { createSerialQueue, type Dataset } from '@chorus/core';
import type { Evaluate } from '../rounds/engine-deps.js';
import { loadMl } from './ml-loader.js';

/**
 * Central evaluation for next-word tasks whose `data.dataset` is "sotu": next-word accuracy, top-3
 * accuracy (one of the three suggestions is right), loss and perplexity of each new global model on
 * `examples` windows spread over the held-out addresses (each president's last; never in the
 * vocabulary's training text), encoded with the task's own vocabulary by the code browsers run.
 */
export function createSotuEvaluator(options: { examples: number; logger: Logger }): Evaluate {
  let cached: { key: string; test: Dataset } | null = null;
  const queue = createSerialQueue();
  return (task, weights) => {
    const { dataset, vocabulary, inputShape } = task.config.data;
    if (dataset !== 'sotu' || !vocabulary || inputShape.length !== 1) return Promise.resolve({});
    return queue.run(async () => {
      const ml = await loadMl(options.logger);
      const key = `${inputShape[0]}\n${vocabulary.join('\n')}`;
      if (cached?.key !== key) cached = { key, test: ml.sotuHeldOutDataset(vocabulary, options.examples, inputShape[0]) };
      const model = await ml.modelFromTopology(task.topology, weights, task.layout);
      try {
        const m = await ml.evaluateNextWord(model, cached.test);
        return { accuracy: m.accuracy, top3_accuracy: m.top3Accuracy, loss: m.loss, perplexity: m.perplexity };
      } finally {
        model.dispose();
      }
    });
  };
}

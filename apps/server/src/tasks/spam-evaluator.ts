import type { Logger } from 'pino';
import { createSerialQueue, type Dataset } from '@chorus/core';
import type { Evaluate } from '../rounds/engine-deps.js';
import { loadMl } from './ml-loader.js';

/**
 * Central evaluation for text tasks whose `data.dataset` is "spam-assassin": accuracy and loss of each
 * new global model on the corpus' held-out 20% (never in the vocabulary's training split), vectorized
 * with the task's own vocabulary by the same function browsers use. Other tasks get no metrics.
 */
export function createSpamEvaluator(options: { examples: number; logger: Logger }): Evaluate {
  let cached: { key: string; test: Dataset } | null = null;
  const queue = createSerialQueue();
  return (task, weights) => {
    const { dataset, vocabulary } = task.config.data;
    if (dataset !== 'spam-assassin' || !vocabulary) return Promise.resolve({});
    return queue.run(async () => {
      const ml = await loadMl(options.logger);
      const key = vocabulary.join('\n');
      if (cached?.key !== key) cached = { key, test: ml.emailsToDataset(ml.spamAssassinSplit().test.slice(0, options.examples), vocabulary) };
      const model = await ml.modelFromTopology(task.topology, weights, task.layout);
      try {
        const { accuracy, loss } = await ml.evaluateModel(model, cached.test);
        return { accuracy, loss };
      } finally {
        model.dispose();
      }
    });
  };
}

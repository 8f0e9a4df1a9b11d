import type { Logger } from 'pino';
import { createSerialQueue, type Dataset } from '@chorus/core';
import type { Evaluate } from '../rounds/engine-deps.js';
import { loadMl } from './ml-loader.js';

function firstExamples(data: Dataset, n: number): Dataset {
  const count = Math.min(n, data.count);
  const size = data.x.length / data.count;
  return { ...data, x: data.x.subarray(0, count * size), y: data.y.subarray(0, count), count };
}

/**
 * Central evaluation for tasks whose `data.dataset` is "mnist": accuracy and loss of each new global
 * model on held-out digits (the 2,000 that @chorus/ml's seeded split never gives to training).
 * Other tasks get no metrics. Evaluations run one at a time: tfjs has one global backend.
 */
export function createMnistEvaluator(options: { examples: number; logger: Logger }): Evaluate {
  let test: Dataset | null = null;
  const queue = createSerialQueue();
  return (task, weights) => {
    if (task.config.data.dataset !== 'mnist') return Promise.resolve({});
    return queue.run(async () => {
      const ml = await loadMl(options.logger);
      test ??= firstExamples(ml.loadMnist().test, options.examples);
      const model = await ml.modelFromTopology(task.topology, weights, task.layout);
      try {
        const { accuracy, loss } = await ml.evaluateModel(model, test);
        return { accuracy, loss };
      } finally {
        model.dispose();
      }
    });
  };
}

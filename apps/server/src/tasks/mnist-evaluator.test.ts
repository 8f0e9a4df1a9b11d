import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { taskConfigSchema } from '@chorus/core';
import type { StoredTask } from '../storage/storage.js';
import { loadMl } from './ml-loader.js';
import { createMnistEvaluator } from './mnist-evaluator.js';

const logger = pino({ level: 'silent' });

describe('createMnistEvaluator', () => {
  it('scores an MNIST model on held-out digits and skips other datasets', async () => {
    const ml = await loadMl(logger);
    const initial = await ml.createInitialModel('mnist-2nn', 3);
    const task = (dataset: string | undefined): StoredTask => ({
      id: 'm',
      config: taskConfigSchema.parse({ id: 'm', name: 'M', data: { ...initial.data, dataset } }),
      topology: initial.topology,
      layout: initial.layout,
      status: 'running',
      createdAt: 0,
      updatedAt: 0,
    });
    const evaluate = createMnistEvaluator({ examples: 200, logger });
    const zeros = new Float32Array(initial.weights.length);

    const random = await evaluate(task('mnist'), initial.weights);
    const flat = await evaluate(task('mnist'), zeros);
    const other = await evaluate(task(undefined), initial.weights);

    // An all-zero network outputs the uniform distribution: loss ln(10) exactly, whatever the digit.
    expect(flat.loss).toBeCloseTo(Math.log(10), 5);
    expect(random.accuracy).toBeGreaterThanOrEqual(0);
    expect(random.accuracy).toBeLessThan(0.35);
    expect(Number.isFinite(random.loss)).toBe(true);
    expect(other).toEqual({});
  });
});

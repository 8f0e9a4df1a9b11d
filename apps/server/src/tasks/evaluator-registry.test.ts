import { describe, expect, it } from 'vitest';
import { ChorusError } from '@chorus/core';
import type { StoredTask } from '../storage/storage.js';
import { createEvaluatorRegistry, evaluateByDataset } from './evaluator-registry.js';

const task = (dataset: string | undefined) => ({ id: 't', config: { data: { kind: 'image', inputShape: [1], numClasses: 2, ...(dataset ? { dataset } : {}) } } }) as unknown as StoredTask;
const weights = Float32Array.of(1);

describe('evaluator registry', () => {
  it('registers, gets and unregisters by dataset, and refuses a second evaluator for one dataset', () => {
    const registry = createEvaluatorRegistry([{ dataset: 'mnist', description: 'digits', evaluate: async () => ({ accuracy: 1 }) }]);
    expect(registry.get('mnist')?.description).toBe('digits');
    let err: unknown;
    try {
      registry.register({ dataset: 'mnist', description: 'again', evaluate: async () => ({}) });
    } catch (e) {
      err = e;
    }
    expect(ChorusError.from(err).code).toBe('INVALID_CONFIG');
    expect(registry.unregister('mnist')).toBe(true);
    expect([registry.get('mnist'), registry.unregister('mnist'), registry.list()]).toEqual([undefined, false, []]);
  });

  it("evaluates a task with its dataset's evaluator; other tasks get no metrics", async () => {
    const registry = createEvaluatorRegistry([
      { dataset: 'mnist', description: '', evaluate: async () => ({ accuracy: 0.9 }) },
      { dataset: 'spam-assassin', description: '', evaluate: async () => ({ accuracy: 0.8 }) },
    ]);
    const evaluate = evaluateByDataset(registry);
    expect(await evaluate(task('mnist'), weights)).toEqual({ accuracy: 0.9 });
    expect(await evaluate(task('spam-assassin'), weights)).toEqual({ accuracy: 0.8 });
    expect(await evaluate(task('iris'), weights)).toEqual({});
    expect(await evaluate(task(undefined), weights)).toEqual({});
    registry.register({ dataset: 'iris', description: '', evaluate: async () => ({ loss: 0.1 }) });
    expect(await evaluate(task('iris'), weights)).toEqual({ loss: 0.1 });
  });

  it('runs evaluations one at a time, and a failure does not stop the next', async () => {
    const log: string[] = [];
    let running = 0;
    const slow = (name: string, fail = false) => async () => {
      running++;
      log.push(`${name} start (${running} running)`);
      await new Promise((r) => setTimeout(r, 5));
      running--;
      log.push(`${name} end`);
      if (fail) throw new Error('evaluation failed');
      return {};
    };
    const registry = createEvaluatorRegistry([
      { dataset: 'a', description: '', evaluate: slow('a', true) },
      { dataset: 'b', description: '', evaluate: slow('b') },
    ]);
    const evaluate = evaluateByDataset(registry);
    const results = await Promise.allSettled([evaluate(task('a'), weights), evaluate(task('b'), weights)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled']);
    expect(log).toEqual(['a start (1 running)', 'a end', 'b start (1 running)', 'b end']);
  });
});

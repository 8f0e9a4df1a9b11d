import type { Logger } from 'pino';
import { ChorusError } from '@chorus/core';
import type { Evaluate } from '../rounds/engine-deps.js';
import { createMnistEvaluator } from './mnist-evaluator.js';
import { createSotuEvaluator } from './sotu-evaluator.js';
import { createSpamEvaluator } from './spam-evaluator.js';

/** Central evaluation for the tasks of one dataset (`task.config.data.dataset`). */
export interface EvaluatorRegistration {
  /** The dataset id tasks name in `data.dataset`, e.g. "mnist". */
  readonly dataset: string;
  /** One line for docs and logs. */
  readonly description: string;
  readonly evaluate: Evaluate;
}

/**
 * Evaluators by dataset (tfjs-style registry: register, get, unregister). Adding a dataset's
 * evaluation registers it here; nothing else names it.
 */
export interface EvaluatorRegistry {
  /** INVALID_CONFIG when the dataset already has one: unregister it first. */
  register(reg: EvaluatorRegistration): void;
  get(dataset: string): EvaluatorRegistration | undefined;
  /** True when there was one. */
  unregister(dataset: string): boolean;
  list(): EvaluatorRegistration[];
}

export function createEvaluatorRegistry(initial: readonly EvaluatorRegistration[] = []): EvaluatorRegistry {
  const byDataset = new Map<string, EvaluatorRegistration>();
  const registry: EvaluatorRegistry = {
    register(reg) {
      if (byDataset.has(reg.dataset)) throw new ChorusError('INVALID_CONFIG', `evaluator: dataset "${reg.dataset}" already has one`);
      byDataset.set(reg.dataset, reg);
    },
    get: (dataset) => byDataset.get(dataset),
    unregister: (dataset) => byDataset.delete(dataset),
    list: () => [...byDataset.values()],
  };
  for (const reg of initial) registry.register(reg);
  return registry;
}

/** The evaluators that ship with the server: held-out MNIST digits, the SpamAssassin test split and held-out State of the Union addresses. */
export function builtInEvaluators(options: { examples: number; logger: Logger }): EvaluatorRegistration[] {
  return [
    { dataset: 'mnist', description: 'accuracy and loss on 2,000 held-out MNIST digits', evaluate: createMnistEvaluator(options) },
    { dataset: 'spam-assassin', description: "accuracy and loss on the SpamAssassin corpus' held-out 20%", evaluate: createSpamEvaluator(options) },
    { dataset: 'sotu', description: 'next-word accuracy, top-3 accuracy and perplexity on held-out State of the Union addresses', evaluate: createSotuEvaluator(options) },
  ];
}

/**
 * The engine's central evaluation: the evaluator registered for the task's `data.dataset`, looked up
 * at each new version (so one registered later counts); a task without one gets no metrics.
 * Evaluations run one at a time: tfjs has one global backend.
 */
export function evaluateByDataset(registry: Pick<EvaluatorRegistry, 'get'>): Evaluate {
  let queue: Promise<unknown> = Promise.resolve();
  return (task, weights) => {
    const dataset = task.config.data.dataset;
    const reg = dataset === undefined ? undefined : registry.get(dataset);
    // A FedPer/FedRep task's server holds no head: there is no whole model to score centrally; each
    // participant scores its own on held-out examples instead. Ditto's server holds the whole model.
    const p = task.config.personalization;
    if (!reg || (p && p.method !== 'ditto')) return Promise.resolve({});
    const run = queue.then(() => reg.evaluate(task, weights));
    queue = run.catch(() => undefined);
    return run;
  };
}

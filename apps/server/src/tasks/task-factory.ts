import type { Logger } from 'pino';
import { z } from 'zod';
import { ChorusError, trainingConfigSchema, type TaskConfigInput } from '@chorus/core';
import type { RoundEngine } from '../rounds/round-engine.js';
import type { StoredTask } from '../storage/storage.js';
import { describeZodError } from '../transport/socket-handlers.js';
import { loadMl } from './ml-loader.js';
import { createTaskService, type TaskService, type TaskSource } from './task-service.js';
import { resolveTemplateData } from './template-data.js';

export const createTaskRequestSchema = z.strictObject({
  /** Model template id, e.g. "mnist-2nn". */
  template: z.string().min(1),
  /** Task options (taskConfigSchema); `data` defaults to the template's. */
  config: z.record(z.string(), z.unknown()),
  /** Seed of the initial weights. @default 1 */
  seed: z.number().int().nonnegative().optional(),
  /** Start the task right away. @default false */
  start: z.boolean().optional(),
});
export type CreateTaskRequest = z.infer<typeof createTaskRequestSchema>;

/** Validates a create-task request (POST /api/tasks): the template builds the initial model. */
export function templateTaskSource(body: unknown, logger: Logger): TaskSource {
  const req = createTaskRequestSchema.safeParse(body);
  if (!req.success) throw new ChorusError('INVALID_CONFIG', describeZodError(req.error, 'body'));
  const { template, config, seed, start } = req.data;
  return {
    // Until the template is loaded, a placeholder stands for `data` when the request leaves it out.
    // initialSeed: version 0 is seededInitialWeights(layout, seed), so participants rebuild it (the runner checks it does).
    config: { ...config, template, initialSeed: seed ?? 1, data: config.data ?? { kind: 'image', inputShape: [1], numClasses: 2 } },
    ...(start !== undefined ? { start } : {}),
    async build() {
      const ml = await loadMl(logger);
      try {
        const model = await ml.createInitialModel(template, seed ?? 1, resolveTemplateData(ml, template, config.data));
        // The template's training defaults under the request's own options (the first parse checked those).
        const defaults = ml.getModelTemplate(template).training;
        return defaults ? { ...model, training: trainingConfigSchema.parse({ ...defaults, ...(config.training as object | undefined) }) } : model;
      } catch (err) {
        const e = ChorusError.from(err);
        throw new ChorusError(e.code === 'INTERNAL' ? 'INVALID_CONFIG' : e.code, `template: ${e.message}`);
      }
    },
  };
}

/** A task from a template request, through the task service. */
export async function createTaskFromTemplate(engine: RoundEngine, body: unknown, logger: Logger): Promise<StoredTask> {
  return createTaskService(engine).create(templateTaskSource(body, logger));
}

export const DEMO_TASK_ID = 'mnist-demo';

/** The task `npm start` creates on an empty database: small, fast MNIST rounds. */
export const DEMO_TASK: { template: string; config: TaskConfigInput & Record<string, unknown> } = {
  template: 'mnist-2nn',
  config: {
    id: DEMO_TASK_ID,
    name: 'MNIST digits (demo)',
    description: 'Handwritten digit recognition with the FedAvg paper 2NN: every browser trains on its own digits.',
    data: { kind: 'image', inputShape: [28, 28, 1], numClasses: 10, dataset: 'mnist' },
    codec: 'int8',
    training: { localEpochs: 1, batchSize: 10, learningRate: 0.05 },
    // minClients 1: a newcomer alone in front of `npm start` trains right away; with more visitors a
    // round takes up to 3 (4 invited with over-selection) and closes early once all have answered.
    // roundIntervalMs: a short breather between rounds keeps visitors' CPUs (and upload rate) calm.
    rounds: { targetClients: 3, minClients: 1, deadlineMs: 30_000, roundIntervalMs: 5_000 },
    strategy: { id: 'fedavg', options: {} },
  },
};

export async function ensureDemoTask(engine: RoundEngine, tasks: TaskService, logger: Logger): Promise<void> {
  if (engine.taskIds().length > 0) return;
  try {
    await tasks.create(templateTaskSource({ ...DEMO_TASK, start: true }, logger));
  } catch (err) {
    // Several server processes starting together on one database: another one stored it first.
    if (!(err instanceof ChorusError && err.code === 'INVALID_CONFIG') || !(await engine.deps.storage.getTask(DEMO_TASK_ID))) throw err;
    await engine.loadTask(DEMO_TASK_ID);
    logger.info({ taskId: DEMO_TASK_ID }, 'demo task created by another server process');
    return;
  }
  logger.info({ taskId: DEMO_TASK_ID }, 'demo task created and started');
}

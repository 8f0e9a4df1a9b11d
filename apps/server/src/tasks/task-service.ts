import { ChorusError, checkAsyncMode, checkSecureAggregation, defaultPersonalLayers, gatherTensors, splitLayout, taskConfigSchema, type DataSchema, type TaskConfig, type TensorSpec, type TrainingConfig } from '@chorus/core';
import type { RoundEngine } from '../rounds/round-engine.js';
import type { StoredTask } from '../storage/storage.js';
import { describeZodError } from '../transport/socket-handlers.js';

/** A task's initial model (version 0), as a template or an upload builds it. */
export interface InitialTaskModel {
  /** Keras topology JSON of the model. */
  readonly topology: unknown;
  readonly layout: readonly TensorSpec[];
  readonly weights: Float32Array;
  /** The data schema the model was built for, when building refined the config's (a template's defaults, a vocabulary). */
  readonly data?: DataSchema;
  /** The training options, when building refined the config's (a template's defaults under the request's own). */
  readonly training?: TrainingConfig;
}

/** Where a new task's model comes from: a template (POST /api/tasks) or an upload (POST /api/admin/tasks/upload). */
export interface TaskSource {
  /** Task options as sent, before taskConfigSchema. */
  readonly config: Readonly<Record<string, unknown>>;
  /** Rules of this source on the parsed config, checked before anything is built. */
  check?(config: TaskConfig): void;
  /** Builds the initial model for the parsed config (the costly step: after every cheap check). */
  build(config: TaskConfig): Promise<InitialTaskModel>;
  /** Start the task right away. @default false */
  readonly start?: boolean;
}

export interface TaskService {
  /** Parses the config once, refuses a taken id, builds the model, stores version 0, starts it if asked. */
  create(source: TaskSource): Promise<StoredTask>;
}

/** Task creation in one place, whatever the model's source. */
export function createTaskService(engine: Pick<RoundEngine, 'hasTask' | 'createTask' | 'start'>): TaskService {
  return {
    async create(source) {
      const parsed = taskConfigSchema.safeParse(source.config);
      if (!parsed.success) throw new ChorusError('INVALID_CONFIG', describeZodError(parsed.error, 'config'));
      checkSecureAggregation(parsed.data);
      checkAsyncMode(parsed.data);
      source.check?.(parsed.data);
      // Checked here, before a model is built; two creates racing for one id meet storage's own check.
      if (engine.hasTask(parsed.data.id)) throw new ChorusError('INVALID_CONFIG', `config.id: task "${parsed.data.id}" already exists`);
      const { data, training, ...built } = await source.build(parsed.data);
      const { config, model } = personalize({ ...parsed.data, ...(data ? { data } : {}), ...(training ? { training } : {}) }, built);
      const task = await engine.createTask({ config, ...model });
      if (source.start) await engine.start(task.id);
      return task;
    },
  };
}

/**
 * A personalized task's server side holds the shared layers only: the strategy, the codecs, the
 * downloads and the uploads all see that layout, and the personal layers' initial values are
 * dropped here (each device starts its own). The resolved layer names go into the stored config,
 * so participants learn them on join.
 */
export function personalize(config: TaskConfig, model: Omit<InitialTaskModel, 'data'>): { config: TaskConfig; model: Omit<InitialTaskModel, 'data'> } {
  const p = config.personalization;
  if (!p) return { config, model };
  if (p.method === 'ditto') {
    // Ditto shares the whole model; each device's personal model is a whole copy of it.
    if (p.personalLayers !== undefined) throw new ChorusError('INVALID_CONFIG', 'config.personalization.personalLayers: ditto keeps a whole personal copy of the model; personal layers apply to fedper and fedrep');
    return { config: { ...config, personalization: { ...p, personalLayers: [] } }, model };
  }
  const personalLayers = p.personalLayers ?? defaultPersonalLayers(model.layout);
  const { shared } = splitLayout(model.layout, personalLayers, 'config.personalization.personalLayers');
  return {
    config: { ...config, personalization: { ...p, personalLayers } },
    model: { topology: model.topology, layout: shared, weights: gatherTensors(model.layout, model.weights, shared) },
  };
}

import type * as tf from '@tensorflow/tfjs';
import type { DataSchema, TrainingConfig } from '@chorus/core';

/**
 * A model the platform can create a task from. `build()` returns a fresh, uncompiled model whose
 * output is class probabilities (softmax); every layer is named so weight names are the same in
 * every process (tfjs would otherwise number layers per process: dense_Dense3, …).
 */
export interface ModelTemplate {
  readonly id: string;
  readonly description: string;
  readonly data: DataSchema;
  /**
   * Training options this model needs to learn at a usable pace, where the platform-wide defaults
   * (trainingConfigSchema) do not fit it. A task from this template gets them under the options its
   * request sets itself; the console's form shows them when the template is picked.
   */
  readonly training?: Partial<TrainingConfig>;
  /** A fresh model for `data` (the task's data schema; @default this template's `data`). */
  build(data?: DataSchema): tf.LayersModel;
  /** Throws INVALID_CONFIG / SHAPE_MISMATCH, naming the field, when a task's data schema cannot feed this model. */
  checkData?(data: DataSchema): void;
}

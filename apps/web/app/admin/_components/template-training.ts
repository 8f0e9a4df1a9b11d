import { trainingConfigSchema, type TrainingConfig } from '@chorus/core';

/** The create-task form's training fields. */
export interface TrainingFields {
  readonly localEpochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
}

/**
 * The training fields the form shows for a template: the template's own defaults (GET
 * /api/admin/templates) over the platform's (trainingConfigSchema), so picking the keyboard's
 * nextword-gru shows the learning rate it needs, and picking another template puts the platform's back.
 */
export function templateTrainingFields(training: Partial<TrainingConfig> | undefined): TrainingFields {
  const t = trainingConfigSchema.parse(training ?? {});
  return { localEpochs: t.localEpochs, batchSize: t.batchSize, learningRate: t.learningRate };
}

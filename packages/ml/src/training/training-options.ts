import { ChorusError } from '@chorus/core';
import type { TrainingConfig } from '@chorus/core';

export type TrainingOverrides = Record<string, number | string | boolean>;

export interface ResolvedTrainingOptions {
  readonly localEpochs: number;
  readonly batchSize: number;
  readonly optimizer: 'sgd' | 'adam';
  readonly learningRate: number;
  readonly proxMu: number;
  readonly maxExamples: number;
}

const INTEGER_KEYS = ['localEpochs', 'batchSize', 'maxExamples'] as const;
const NUMBER_KEYS = ['learningRate', 'proxMu'] as const;

/**
 * The task's training config with a round's overrides applied on top (a strategy may change
 * hyper-parameters per round, e.g. FedProx's mu). Unknown override keys are ignored so newer
 * servers can send options older clients do not know.
 */
export function resolveTrainingOptions(config: TrainingConfig & { overrides?: TrainingOverrides }): ResolvedTrainingOptions {
  const merged: Record<string, unknown> = { ...config, ...(config.overrides ?? {}) };
  for (const key of INTEGER_KEYS) {
    const v = merged[key];
    const min = key === 'maxExamples' ? 0 : 1;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      throw new ChorusError('INVALID_CONFIG', `training option "${key}" must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
    }
  }
  for (const key of NUMBER_KEYS) {
    const v = merged[key];
    const ok = typeof v === 'number' && Number.isFinite(v) && (key === 'proxMu' ? v >= 0 : v > 0);
    if (!ok) {
      throw new ChorusError('INVALID_CONFIG', `training option "${key}" must be a ${key === 'proxMu' ? 'non-negative' : 'positive'} number, got ${JSON.stringify(v)}`);
    }
  }
  if (merged.optimizer !== 'sgd' && merged.optimizer !== 'adam') {
    throw new ChorusError('INVALID_CONFIG', `training option "optimizer" must be "sgd" or "adam", got ${JSON.stringify(merged.optimizer)}`);
  }
  return {
    localEpochs: merged.localEpochs as number,
    batchSize: merged.batchSize as number,
    optimizer: merged.optimizer,
    learningRate: merged.learningRate as number,
    proxMu: merged.proxMu as number,
    maxExamples: merged.maxExamples as number,
  };
}

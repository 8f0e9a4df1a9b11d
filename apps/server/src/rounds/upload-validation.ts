import { ChorusError, type EncodedUpdate, type TaskConfig, type TensorSpec, type UpdateLimits } from '@chorus/core';
import type { PayloadOps } from './engine-deps.js';

/** What an upload for one round must satisfy, wherever it arrives (the coordinator or another process). */
export interface UploadRules {
  readonly layout: readonly TensorSpec[];
  readonly config: TaskConfig;
  readonly limits: UpdateLimits;
  readonly maxBytes: number;
  /** The round's L2 bound (its invite's maxUpdateNorm); Infinity when there is none. */
  readonly bound: number;
  /** roundCodecSeed(roundId): the round's shared rotation seed. */
  readonly seed: number;
}

/** An update's weight in the mean is its example count: bounded by the declaration and the task. */
export function checkExamples(numExamples: number, declared: number, limits: UpdateLimits, config: TaskConfig): void {
  if (numExamples > declared) {
    throw new ChorusError('OUT_OF_BOUNDS', `numExamples: ${numExamples} is more than the ${declared} local examples this participant declared`);
  }
  const { maxExamplesPerUpdate } = limits;
  if (numExamples > maxExamplesPerUpdate) {
    throw new ChorusError('OUT_OF_BOUNDS', `numExamples: ${numExamples} is more than this task accepts per update (limits.maxExamplesPerUpdate = ${maxExamplesPerUpdate})`);
  }
  const { maxExamples } = config.training;
  if (maxExamples > 0 && numExamples > maxExamples) {
    throw new ChorusError('OUT_OF_BOUNDS', `numExamples: ${numExamples} is more than training.maxExamples (${maxExamples}) allows per round`);
  }
}

/**
 * Parses an upload with the round's codec checks and bounds. `onNorm` hears the L2 norm as soon as
 * it is known (the receipt records it even when the bound then refuses the update).
 */
export function parseUpload(payload: PayloadOps, bytes: Uint8Array, rules: UploadRules, onNorm: (l2Norm: number) => void = () => undefined): { update: EncodedUpdate; l2Norm: number } {
  const { bound } = rules;
  const update = payload.parse(bytes, { layout: rules.layout, maxBytes: rules.maxBytes, codecs: [rules.config.codec], maxAbs: bound, seed: rules.seed });
  const l2Norm = update.l2Norm();
  onNorm(l2Norm);
  if (!(l2Norm <= bound)) {
    const source = rules.limits.maxUpdateNorm !== undefined ? 'limits.maxUpdateNorm' : `${rules.limits.normFactor} × the model's size`;
    throw new ChorusError('OUT_OF_BOUNDS', `update: its L2 norm ${l2Norm.toPrecision(4)} exceeds this round's bound ${bound.toPrecision(4)} (${source})`);
  }
  return { update, l2Norm };
}

/** Built-in strategies whose round aggregate is the example-weighted mean when their aggregator is 'mean'. */
const MEAN_STRATEGIES: ReadonlySet<string> = new Set(['fedavg', 'fedavgm', 'fedadagrad', 'fedadam', 'fedyogi', 'fedprox']);

/**
 * Whether the task's round aggregate is linear in the updates (Σ nᵢuᵢ / Σ nᵢ): then each process may
 * fold the uploads it receives into a partial sum and send only that. Clipping, DP noise, robust
 * aggregators, secure aggregation and asynchronous buffers need every update at the coordinator.
 */
export function aggregatesLinearly(config: TaskConfig): boolean {
  const o = config.strategy.options;
  return (
    config.mode !== 'async' &&
    !config.secureAggregation &&
    MEAN_STRATEGIES.has(config.strategy.id) &&
    (o.aggregator === undefined || o.aggregator === 'mean') &&
    o.clipNorm === undefined &&
    o.dp === undefined
  );
}

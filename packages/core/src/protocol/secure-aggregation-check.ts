import { ChorusError } from '../errors/chorus-error.js';
import { asyncConfigSchema, type TaskConfig } from './task.js';

/**
 * Refuses, in plain words, a task whose other options cannot work when the server only ever sees
 * the sum of a round's updates. The console shows the message as it comes.
 */
export function checkSecureAggregation(config: TaskConfig): void {
  const s = config.secureAggregation;
  if (!s) return;
  const refuse = (path: string, message: string): never => {
    throw new ChorusError('INVALID_CONFIG', `config.${path}: ${message}`, { path: `config.${path}` });
  };
  const options = config.strategy.options as Record<string, unknown>;
  const aggregator = typeof options.aggregator === 'string' ? options.aggregator : 'mean';
  if (aggregator !== 'mean') {
    refuse('strategy.options.aggregator', `"${aggregator}" needs every individual update, and with secure aggregation the server sees only their sum: use "mean" (norm bounding moves to the participants) or turn secure aggregation off`);
  }
  // Central DP works on the secure sum: participants clip to dp.clipNorm, the server noises the
  // unmasked sum. Adaptive clipping does not: it moves C by how many updates needed clipping, a
  // per-participant fact the server never sees here.
  const dp = options.dp as { adaptiveClipping?: unknown } | undefined;
  if (dp?.adaptiveClipping !== undefined) {
    refuse('strategy.options.dp.adaptiveClipping', 'adaptive clipping follows how many updates needed clipping each round, and with secure aggregation the server sees only their sum: use a fixed clipNorm or turn secure aggregation off');
  }
  if (config.mode === 'async') {
    // The asynchronous mode runs the SecAgg+ stages per cohort: at least `bufferSize` participants
    // invited together on one version, whose unmasked sum enters the buffer as one entry. A cohort
    // no larger than the threshold would run with a lowered threshold (n − 1), and the buffer would
    // flush on sums of fewer participants than the threshold promises.
    const a = asyncConfigSchema.parse(config.async ?? {});
    if (a.bufferSize <= s.threshold) {
      refuse('async.bufferSize', `must be more than the secure-aggregation threshold (${s.threshold}) in the asynchronous mode: each secure cohort invites bufferSize participants together, and unmasking needs more of them than the threshold`);
    }
    // Fewer working at once than a cohort needs and no cohort could ever start.
    if (a.concurrency !== undefined && a.concurrency < a.bufferSize) {
      refuse('async.concurrency', `must be at least async.bufferSize (${a.bufferSize}) with secure aggregation: a secure cohort invites bufferSize participants at once`);
    }
  }
  if (config.rounds.minClients <= s.threshold) {
    refuse('rounds.minClients', `must be more than the secure-aggregation threshold (${s.threshold}): a round needs more survivors than the threshold to unmask`);
  }
}

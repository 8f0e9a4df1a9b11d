import { ChorusError } from '../errors/chorus-error.js';
import type { TaskConfig } from './task.js';

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
    // FedBuff folds updates one by one into a buffer; the SecAgg+ stages run per synchronous round.
    // A buffer at least as large as the threshold is the way to join them; until that is built the
    // combination is refused rather than silently losing the protection.
    refuse('mode', 'secure aggregation runs in synchronous rounds only; the asynchronous (FedBuff) mode cannot use it yet: use mode "sync" or turn secure aggregation off');
  }
  if (config.rounds.minClients <= s.threshold) {
    refuse('rounds.minClients', `must be more than the secure-aggregation threshold (${s.threshold}): a round needs more survivors than the threshold to unmask`);
  }
}

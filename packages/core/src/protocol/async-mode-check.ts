import { ChorusError } from '../errors/chorus-error.js';
import { asyncConfigSchema, type TaskConfig } from './task.js';

/**
 * Refuses an asynchronous task that could never publish a version. Its buffer is closed like a
 * round once `bufferSize` updates are in, and a round needs `rounds.minClients` updates to commit:
 * with a smaller buffer every close is abandoned, the updates are thrown away and the task trains
 * forever without a new version (a simulation with K = 3 and the default quorum of 5 did just that).
 */
export function checkAsyncMode(config: TaskConfig): void {
  if (config.mode !== 'async') return;
  const a = asyncConfigSchema.parse(config.async ?? {});
  if (a.bufferSize < config.rounds.minClients) {
    throw new ChorusError(
      'INVALID_CONFIG',
      `config.async.bufferSize: ${a.bufferSize} is below rounds.minClients (${config.rounds.minClients}); each buffer of ${a.bufferSize} updates would be refused as too few and the task would never publish a version: raise async.bufferSize or lower rounds.minClients`,
      { path: 'config.async.bufferSize' },
    );
  }
}

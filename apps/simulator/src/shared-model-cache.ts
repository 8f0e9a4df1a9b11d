import type { FlatWeights } from '@chorus/core';
import type { ModelCache } from '@chorus/client';

/**
 * Model caches for many simulated devices in one process. Each device keeps the one version it
 * last held, as a browser's IndexedDB does (so its next download can be a difference from it), but
 * devices holding the same version share one copy: the weights of a version are identical on every
 * device that holds it, and 100 private copies of a CNN would not fit in memory.
 */
export function createSharedModelCaches(): () => ModelCache {
  const shared = new Map<string, { weights: FlatWeights; holders: number }>();
  const release = (key: string): void => {
    const entry = shared.get(key);
    if (entry && --entry.holders <= 0) shared.delete(key);
  };
  return () => {
    let held: { taskId: string; version: number; key: string } | undefined;
    return {
      async get(taskId, version) {
        return held && held.taskId === taskId && held.version === version ? shared.get(held.key)?.weights : undefined;
      },
      async put(taskId, version, weights) {
        const key = `${taskId}@${version}`;
        if (held?.key === key) return;
        const entry = shared.get(key);
        if (entry) entry.holders++;
        else shared.set(key, { weights, holders: 1 });
        if (held) release(held.key);
        held = { taskId, version, key };
      },
      async latest(taskId) {
        return held?.taskId === taskId ? held.version : undefined;
      },
    };
  };
}

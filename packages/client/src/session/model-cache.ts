import type { FlatWeights } from '@chorus/core';

/**
 * Where downloaded global models are kept between rounds. The browser plugs an IndexedDB store in;
 * the default keeps the last few versions in memory.
 */
export interface ModelCache {
  get(taskId: string, version: number): Promise<FlatWeights | undefined>;
  put(taskId: string, version: number, weights: FlatWeights): Promise<void>;
  /** Newest version held for a task: the base for differential downloads (without it, every download is whole). */
  latest?(taskId: string): Promise<number | undefined>;
}

/**
 * In-memory cache of the `capacity` most recently stored versions (0 disables caching, which the
 * simulator uses so that each of its many clients downloads like a real device would).
 */
export function createMemoryModelCache(capacity = 2): ModelCache {
  const entries = new Map<string, FlatWeights>();
  return {
    async get(taskId, version) {
      return entries.get(`${taskId}@${version}`);
    },
    async put(taskId, version, weights) {
      if (capacity <= 0) return;
      const key = `${taskId}@${version}`;
      entries.delete(key);
      entries.set(key, weights);
      while (entries.size > capacity) entries.delete(entries.keys().next().value!);
    },
    async latest(taskId) {
      let newest: number | undefined;
      for (const key of entries.keys()) {
        const at = key.lastIndexOf('@');
        const v = Number(key.slice(at + 1));
        if (key.slice(0, at) === taskId && (newest === undefined || v > newest)) newest = v;
      }
      return newest;
    },
  };
}

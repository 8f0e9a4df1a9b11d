import type { FlatWeights } from '@chorus/core';

/**
 * Where a participant keeps a personalized task's personal layers between rounds and reloads. The
 * browser plugs an IndexedDB store in (cleared by "delete my data"); the default keeps them in
 * memory, which is what each simulated client needs.
 */
export interface PersonalLayerStore {
  get(taskId: string): Promise<FlatWeights | undefined>;
  put(taskId: string, weights: FlatWeights): Promise<void>;
  delete(taskId: string): Promise<void>;
}

export function createMemoryPersonalLayerStore(): PersonalLayerStore {
  const entries = new Map<string, FlatWeights>();
  return {
    async get(taskId) {
      return entries.get(taskId);
    },
    async put(taskId, weights) {
      entries.set(taskId, { layout: weights.layout, values: weights.values.slice() });
    },
    async delete(taskId) {
      entries.delete(taskId);
    },
  };
}

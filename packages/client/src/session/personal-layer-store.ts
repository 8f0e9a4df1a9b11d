import type { PersonalWeights } from '@chorus/core';

/**
 * Where a participant keeps a personalized task's personal layers between rounds and reloads. The
 * browser plugs an IndexedDB store in (cleared by "delete my data"); the default keeps them in
 * memory, which is what each simulated client needs.
 */
export interface PersonalLayerStore {
  get(taskId: string): Promise<PersonalWeights | undefined>;
  put(taskId: string, weights: PersonalWeights): Promise<void>;
  delete(taskId: string): Promise<void>;
}

export function createMemoryPersonalLayerStore(): PersonalLayerStore {
  const entries = new Map<string, PersonalWeights>();
  return {
    async get(taskId) {
      return entries.get(taskId);
    },
    async put(taskId, weights) {
      entries.set(taskId, { layout: weights.layout, values: weights.values.slice(), ...(weights.useShared !== undefined ? { useShared: weights.useShared } : {}) });
    },
    async delete(taskId) {
      entries.delete(taskId);
    },
  };
}

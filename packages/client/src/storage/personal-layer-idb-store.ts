import type { PersonalWeights } from '@chorus/core';
import type { PersonalLayerStore } from '../session/personal-layer-store.js';
import type { ParticipantDb } from './participant-db.js';

const key = (taskId: string): string => `personal:${taskId}`;

function isPersonalWeights(v: unknown): v is PersonalWeights {
  if (!v || typeof v !== 'object') return false;
  const w = v as { layout?: unknown; values?: unknown; useShared?: unknown };
  return Array.isArray(w.layout) && w.values instanceof Float32Array && (w.useShared === undefined || typeof w.useShared === 'boolean');
}

/**
 * A personalized task's personal layers in IndexedDB (the `meta` store, so no schema upgrade):
 * they survive reloads, and "delete my data" clears them with everything else.
 */
export function createIndexedDbPersonalLayerStore(db: ParticipantDb): PersonalLayerStore {
  return {
    async get(taskId) {
      const v = await db.get('meta', key(taskId));
      return isPersonalWeights(v) ? v : undefined;
    },
    async put(taskId, weights) {
      await db.put('meta', { layout: weights.layout.map((t) => ({ name: t.name, shape: [...t.shape] })), values: weights.values.slice(), ...(weights.useShared !== undefined ? { useShared: weights.useShared } : {}) }, key(taskId));
    },
    async delete(taskId) {
      await db.delete('meta', key(taskId));
    },
  };
}

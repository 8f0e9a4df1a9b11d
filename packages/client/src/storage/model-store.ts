import type { FlatWeights } from '@chorus/core';
import type { ParticipantDb } from './participant-db.js';

/** Same shape as the session's ModelCache, so the session can use it directly. */
export interface IndexedDbModelCache {
  get(taskId: string, version: number): Promise<FlatWeights | undefined>;
  put(taskId: string, version: number, weights: FlatWeights): Promise<void>;
  /** Newest stored version of a task, if any. */
  latest(taskId: string): Promise<number | undefined>;
}

/**
 * Global models kept in IndexedDB so a reload (or a new round on the same version) does not
 * download again, and so the next version can come as a difference from this one. Keeps the
 * `keep` newest versions per task: by default one, so each new version replaces the one it was
 * rebuilt from (the model is updated in place, never stored twice).
 */
export function createIndexedDbModelCache(db: ParticipantDb, keep = 1): IndexedDbModelCache {
  const versionsOf = async (taskId: string): Promise<number[]> =>
    (await db.getAllKeysFromIndex('models', 'byTask', taskId)).map(([, v]) => v).sort((a, b) => a - b);

  return {
    async get(taskId, version) {
      const row = await db.get('models', [taskId, version]);
      return row ? { layout: row.layout, values: row.values } : undefined;
    },
    async put(taskId, version, weights) {
      // One transaction: a reader (a reload, another tab's check) sees the old copy or the new one,
      // never both and never neither.
      const tx = db.transaction('models', 'readwrite');
      const held = (await tx.store.index('byTask').getAllKeys(taskId)).map(([, v]) => v);
      await tx.store.put({ taskId, version, layout: weights.layout, values: weights.values, storedAt: Date.now() });
      const versions = [...new Set([...held, version])].sort((a, b) => a - b);
      for (const v of versions.slice(0, Math.max(0, versions.length - keep))) await tx.store.delete([taskId, v]);
      await tx.done;
    },
    async latest(taskId) {
      return (await versionsOf(taskId)).at(-1);
    },
  };
}

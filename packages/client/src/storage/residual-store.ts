import type { ResidualStore } from '../session/residual-store.js';
import type { ParticipantDb } from './participant-db.js';

const key = (taskId: string): string => `residual:${taskId}`;

/** The error-feedback residual in IndexedDB's `meta` store, one Float32Array per task. */
export function createIndexedDbResidualStore(db: ParticipantDb): ResidualStore {
  return {
    async get(taskId) {
      const value = await db.get('meta', key(taskId));
      return value instanceof Float32Array ? value : undefined;
    },
    async put(taskId, residual) {
      await db.put('meta', residual, key(taskId));
    },
  };
}

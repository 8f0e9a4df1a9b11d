import type { ParticipantDb, PendingUpload } from './participant-db.js';

/** One pending (trained, not yet acknowledged) update per task, so a reload can finish the round. */
export interface PendingUploadStore {
  save(upload: PendingUpload): Promise<void>;
  /** The task's pending upload if its deadline has not passed; an expired one is dropped. */
  take(taskId: string, now?: number): Promise<PendingUpload | undefined>;
  clear(taskId: string): Promise<void>;
}

export function createPendingUploadStore(db: ParticipantDb): PendingUploadStore {
  return {
    async save(upload) {
      await db.put('pendingUploads', upload);
    },
    async take(taskId, now = Date.now()) {
      const row = await db.get('pendingUploads', taskId);
      if (!row) return undefined;
      if (row.deadline <= now) {
        await db.delete('pendingUploads', taskId);
        return undefined;
      }
      return row;
    },
    async clear(taskId) {
      await db.delete('pendingUploads', taskId);
    },
  };
}

import type { StoredVersion } from '../storage/storage.js';

/**
 * The newest model versions of each task, as stored, so that a weights download does not read the
 * model from the database again: under load every invited participant downloads the same version at
 * once, and each read copied megabytes out of SQLite on the event loop. A version never changes once
 * committed, so an entry is never stale; a new version evicts the oldest beyond `perTask`.
 */
export class VersionCache {
  private readonly byTask = new Map<string, StoredVersion[]>();

  /** @param perTask versions kept per task: the current one and the one a round still in flight may use. @default 2 */
  constructor(private readonly perTask = 2) {}

  async get(taskId: string, version: number, load: () => Promise<StoredVersion | null>): Promise<StoredVersion | null> {
    const hit = this.byTask.get(taskId)?.find((v) => v.version === version);
    if (hit) return hit;
    const stored = await load();
    if (stored) this.remember(taskId, stored);
    return stored;
  }

  private remember(taskId: string, v: StoredVersion): void {
    const list = (this.byTask.get(taskId) ?? []).filter((x) => x.version !== v.version);
    list.push(v);
    // Keep the newest: an old version asked for once (a console download) must not push out the current one.
    list.sort((a, b) => b.version - a.version);
    this.byTask.set(taskId, list.slice(0, this.perTask));
  }

  /** Versions held for a task, newest first (for tests and metrics). */
  held(taskId: string): number[] {
    return (this.byTask.get(taskId) ?? []).map((v) => v.version);
  }
}

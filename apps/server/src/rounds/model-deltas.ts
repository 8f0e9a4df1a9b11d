import { modelHash } from '@chorus/core';

/**
 * The encoded differences of recent versions (version v's is the step from v − 1), kept in memory
 * for the `/delta` download route: a client holding v − 1 fetches it instead of the whole model.
 * Only recent versions are worth keeping (a client further behind downloads the full model), and
 * none survive a restart (the route answers NOT_FOUND and clients fall back to the full model).
 * Also memoises each version's exact-weights hash, which every invite carries.
 */
export interface ModelDeltaStore {
  put(taskId: string, version: number, delta: Uint8Array): void;
  get(taskId: string, version: number): Uint8Array | undefined;
  /** modelHash of a version's weights, computed once per version. */
  hash(taskId: string, version: number, values: Float32Array): string;
  forget(taskId: string): void;
}

/** How many versions' differences are kept per task. @default 16 */
export const DEFAULT_KEPT_DELTAS = 16;

export function createModelDeltaStore(keep = DEFAULT_KEPT_DELTAS): ModelDeltaStore {
  const deltas = new Map<string, Map<number, Uint8Array>>();
  const hashes = new Map<string, { version: number; hash: string }>();
  return {
    put(taskId, version, delta) {
      let byVersion = deltas.get(taskId);
      if (!byVersion) deltas.set(taskId, (byVersion = new Map()));
      byVersion.set(version, delta);
      for (const v of byVersion.keys()) if (v <= version - keep) byVersion.delete(v);
    },
    get(taskId, version) {
      return deltas.get(taskId)?.get(version);
    },
    hash(taskId, version, values) {
      const known = hashes.get(taskId);
      if (known?.version === version) return known.hash;
      const hash = modelHash(values);
      hashes.set(taskId, { version, hash });
      return hash;
    },
    forget(taskId) {
      deltas.delete(taskId);
      hashes.delete(taskId);
    },
  };
}

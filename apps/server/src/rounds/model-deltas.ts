import { modelHash, modelSketch, seededInitialWeights, type ModelSketch, type TensorSpec } from '@chorus/core';

/**
 * The encoded differences of recent versions (version v's is the step from v − 1), kept in memory
 * for the `/delta` download route: a client holding v − 1 fetches it instead of the whole model.
 * Only recent versions are worth keeping (a client further behind fetches one int8 difference
 * `?from=`). Each difference is also stored with its version (NewVersion.delta): the route reads it
 * from storage on a miss, so other processes and a restarted one serve it too.
 * Also memoises each version's exact-weights hash and sketch, which every invite carries, and
 * whether a template task's version 0 is what its seed rebuilds (then invites name the seed).
 */
export interface ModelDeltaStore {
  put(taskId: string, version: number, delta: Uint8Array): void;
  get(taskId: string, version: number): Uint8Array | undefined;
  /** modelHash of a version's weights, computed once per version. */
  hash(taskId: string, version: number, values: Float32Array): string;
  /** modelSketch of a version's weights, computed once per version. */
  sketch(taskId: string, version: number, values: Float32Array): ModelSketch;
  /**
   * Records whether `seed` rebuilds the task's version 0 (`initial`, its exact weights) bit for bit;
   * only then does initialSeed return it. Invites must never name a seed that does not.
   */
  checkInitial(taskId: string, seed: number, layout: readonly TensorSpec[], initial: Float32Array): void;
  /** The verified seed of version 0; undefined when unchecked or when it does not rebuild it. */
  initialSeed(taskId: string): number | undefined;
  /** True once checkInitial ran for the task (whatever it found). */
  initialChecked(taskId: string): boolean;
  forget(taskId: string): void;
}

/** How many versions' differences are kept per task. @default 16 */
export const DEFAULT_KEPT_DELTAS = 16;

export function createModelDeltaStore(keep = DEFAULT_KEPT_DELTAS): ModelDeltaStore {
  const deltas = new Map<string, Map<number, Uint8Array>>();
  const hashes = new Map<string, { version: number; value: string }>();
  const sketches = new Map<string, { version: number; value: ModelSketch }>();
  const seeds = new Map<string, number | undefined>();
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
      return ofVersion(hashes, taskId, version, () => modelHash(values));
    },
    sketch(taskId, version, values) {
      return ofVersion(sketches, taskId, version, () => modelSketch(values));
    },
    checkInitial(taskId, seed, layout, initial) {
      const rebuilt = seededInitialWeights(layout, seed);
      seeds.set(taskId, rebuilt.length === initial.length && modelHash(rebuilt) === modelHash(initial) ? seed : undefined);
    },
    initialSeed(taskId) {
      return seeds.get(taskId);
    },
    initialChecked(taskId) {
      return seeds.has(taskId);
    },
    forget(taskId) {
      deltas.delete(taskId);
      hashes.delete(taskId);
      sketches.delete(taskId);
      seeds.delete(taskId);
    },
  };
}

/** A task's value for its current version, computed once per version (a new version replaces it). */
function ofVersion<T>(memo: Map<string, { version: number; value: T }>, taskId: string, version: number, compute: () => T): T {
  const known = memo.get(taskId);
  if (known?.version === version) return known.value;
  const value = compute();
  memo.set(taskId, { version, value });
  return value;
}

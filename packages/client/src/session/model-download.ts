import { ChorusError, applyModelDelta, applyNearDelta, decodePayload, layoutSize, modelHash, seededInitialWeights, sketchAgrees, type FlatWeights, type RoundInvite } from '@chorus/core';
import { withRetry } from './backoff.js';
import type { ModelCache } from './model-cache.js';
import { downloadBytes, deltaUrl, nearDeltaUrl, weightsUrl, type FetchLike } from './weights-download.js';

/** A device further behind than this downloads the full model rather than a chain of differences. */
export const MAX_DELTA_CHAIN = 32;

export interface DownloadCounts {
  /** Whole models downloaded. */
  fullDownloads: number;
  /** Versions rebuilt from their differences. */
  deltaDownloads: number;
  /** Versions taken as one int8 difference from an older version (or the seed's version 0), within its stated error. */
  nearDownloads: number;
  /** Version 0 rebuilt from the task's seed instead of downloaded. */
  seededModels: number;
  /** Rebuilt or cached copies whose hash (or sketch) disagreed with the invite's (the full model was downloaded instead). */
  driftFallbacks: number;
}

export interface ModelDownloadContext {
  readonly cache: ModelCache;
  readonly fetch: FetchLike;
  readonly serverUrl: string;
  readonly attempts: number;
  readonly signal: AbortSignal;
  readonly stats: { bytesDown: number } & Partial<DownloadCounts>;
}

/** Adds a download's bytes on the wire (compressed, when it was) to the session's count. */
const counted = (ctx: ModelDownloadContext) => (bytes: number): void => {
  ctx.stats.bytesDown += bytes;
};

const count = (stats: ModelDownloadContext['stats'], key: keyof DownloadCounts): void => {
  stats[key] = (stats[key] ?? 0) + 1;
};

/**
 * The global model an invite names, the cheapest way the invite lets the device check:
 * - the cached copy (exact hash);
 * - a base the device holds — its newest cached version, else version 0 rebuilt from the task's
 *   seed (`initialWeights`) — then, one version behind (or without a sketch in the invite), the
 *   base plus each later version's exact difference, checked against the hash; two or more
 *   behind, the base plus ONE int8 difference to the version (`?from=`), checked against the
 *   invite's sketch within the codec's stated error. That model is trained from but not cached:
 *   the cache keeps exact versions only, so errors never pile up from one download to the next;
 * - else, or when any of that fails (a difference no longer kept, a bad payload, a check that
 *   disagrees), the whole model.
 */
export async function fetchGlobalModel(invite: RoundInvite, ctx: ModelDownloadContext, onProgress: (fraction: number) => void): Promise<FlatWeights> {
  const { taskId, version, weightsHash, weightsSketch } = invite;
  const cached = await ctx.cache.get(taskId, version);
  if (cached && (!weightsHash || modelHash(cached.values) === weightsHash)) {
    onProgress(1);
    return cached;
  }
  if (cached) count(ctx.stats, 'driftFallbacks');
  else if (weightsHash) {
    const held = await heldBase(invite, ctx);
    if (held && held.version === version) {
      // Version 0 itself, from the seed.
      if (modelHash(held.weights.values) === weightsHash) {
        count(ctx.stats, 'seededModels');
        await ctx.cache.put(taskId, version, held.weights);
        onProgress(1);
        return held.weights;
      }
      count(ctx.stats, 'driftFallbacks');
    } else if (held && weightsSketch && version - held.version > 1) {
      const near = await viaNearDifference(invite, held.weights, held.version, ctx, onProgress);
      if (near) {
        if (sketchAgrees(weightsSketch, near.values, near.errorBound)) {
          count(ctx.stats, 'nearDownloads');
          onProgress(1);
          return { layout: held.weights.layout, values: near.values };
        }
        count(ctx.stats, 'driftFallbacks');
      }
    } else if (held && version - held.version <= MAX_DELTA_CHAIN) {
      const rebuilt = await viaDifferences(invite, held.weights, held.version, ctx, onProgress);
      if (rebuilt) {
        if (modelHash(rebuilt.values) === weightsHash) {
          count(ctx.stats, 'deltaDownloads');
          await ctx.cache.put(taskId, version, rebuilt);
          onProgress(1);
          return rebuilt;
        }
        count(ctx.stats, 'driftFallbacks');
      }
    }
  }
  const url = weightsUrl(ctx.serverUrl, taskId, version);
  const bytes = await withRetry(() => downloadBytes(url, { fetch: ctx.fetch, signal: ctx.signal, onProgress, onWireBytes: counted(ctx) }), { attempts: ctx.attempts, signal: ctx.signal });
  const weights = decodePayload(bytes);
  count(ctx.stats, 'fullDownloads');
  await ctx.cache.put(taskId, version, weights);
  return weights;
}

/** The newest exact version the device holds before the invite's: cached, else version 0 from the seed. */
async function heldBase(invite: RoundInvite, ctx: ModelDownloadContext): Promise<{ version: number; weights: FlatWeights } | undefined> {
  const from = await ctx.cache.latest?.(invite.taskId);
  if (from !== undefined && from < invite.version) {
    const weights = await ctx.cache.get(invite.taskId, from);
    if (weights) return { version: from, weights };
  }
  const initial = invite.initialWeights;
  if (!initial) return undefined;
  return { version: 0, weights: { layout: initial.layout, values: seededInitialWeights(initial.layout, initial.seed) } };
}

/**
 * `base` (version `from`) plus the int8 difference from it to invite.version, with that
 * difference's stated error; undefined when the server no longer keeps `from` or the difference is
 * invalid. Aborts and retryable failures propagate.
 */
async function viaNearDifference(invite: RoundInvite, base: FlatWeights, from: number, ctx: ModelDownloadContext, onProgress: (fraction: number) => void): Promise<{ values: Float32Array; errorBound: number } | undefined> {
  try {
    const url = nearDeltaUrl(ctx.serverUrl, invite.taskId, invite.version, from);
    const bytes = await withRetry(() => downloadBytes(url, { fetch: ctx.fetch, signal: ctx.signal, onProgress, onWireBytes: counted(ctx) }), { attempts: ctx.attempts, signal: ctx.signal });
    return applyNearDelta(base, bytes);
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    if (!(err instanceof ChorusError) || err.retryable) throw err;
    return undefined; // NOT_FOUND (base no longer kept) or an invalid difference: the full model instead
  }
}

/**
 * `base` (version `from`) plus the differences of versions from+1 … invite.version, or undefined
 * when a difference is missing or invalid, or when the chain would cost more than the whole model.
 * Aborts propagate.
 */
async function viaDifferences(invite: RoundInvite, base: FlatWeights, from: number, ctx: ModelDownloadContext, onProgress: (fraction: number) => void): Promise<FlatWeights | undefined> {
  const steps = invite.version - from;
  const fullBytes = layoutSize(base.layout) * 4;
  let current = base;
  let spent = 0;
  for (let v = from + 1; v <= invite.version; v++) {
    const done = v - from - 1;
    try {
      const bytes = await withRetry(
        () =>
          downloadBytes(deltaUrl(ctx.serverUrl, invite.taskId, v), {
            fetch: ctx.fetch,
            signal: ctx.signal,
            onProgress: (f) => onProgress((done + f) / steps),
            onWireBytes: (n) => {
              ctx.stats.bytesDown += n;
              spent += n;
            },
          }),
        { attempts: ctx.attempts, signal: ctx.signal },
      );
      current = { layout: base.layout, values: applyModelDelta(current, bytes) };
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      if (!(err instanceof ChorusError) || err.retryable) throw err;
      return undefined; // NOT_FOUND (no longer kept) or an invalid difference: the full model instead
    }
    // The rest of the chain, at this rate, would cost more than the whole model.
    if (v < invite.version && spent + (spent / (done + 1)) * (invite.version - v) >= fullBytes) return undefined;
  }
  return current;
}

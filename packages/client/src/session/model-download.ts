import { ChorusError, applyModelDelta, decodePayload, layoutSize, modelHash, type FlatWeights, type RoundInvite } from '@chorus/core';
import { withRetry } from './backoff.js';
import type { ModelCache } from './model-cache.js';
import { downloadBytes, deltaUrl, weightsUrl, type FetchLike } from './weights-download.js';

/** A device further behind than this downloads the full model rather than a chain of differences. */
export const MAX_DELTA_CHAIN = 32;

export interface DownloadCounts {
  /** Whole models downloaded. */
  fullDownloads: number;
  /** Versions rebuilt from their differences. */
  deltaDownloads: number;
  /** Rebuilt or cached copies whose hash disagreed with the invite's (the full model was downloaded instead). */
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

const count = (stats: ModelDownloadContext['stats'], key: keyof DownloadCounts): void => {
  stats[key] = (stats[key] ?? 0) + 1;
};

/**
 * The global model an invite names, the cheapest way that is exact: the cached copy; else, when
 * the device holds an earlier version and the invite carries the version's hash, that version plus
 * each later version's difference (checked against the hash); else the whole model. Any failure of
 * the difference path (a difference no longer kept, a bad payload, a hash that disagrees) falls
 * back to the whole model. The cache then holds the new version in place of the old.
 */
export async function fetchGlobalModel(invite: RoundInvite, ctx: ModelDownloadContext, onProgress: (fraction: number) => void): Promise<FlatWeights> {
  const { taskId, version, weightsHash } = invite;
  const cached = await ctx.cache.get(taskId, version);
  if (cached && (!weightsHash || modelHash(cached.values) === weightsHash)) {
    onProgress(1);
    return cached;
  }
  if (cached) count(ctx.stats, 'driftFallbacks');
  else if (weightsHash && ctx.cache.latest) {
    const from = await ctx.cache.latest(taskId);
    const base = from !== undefined && from < version && version - from <= MAX_DELTA_CHAIN ? await ctx.cache.get(taskId, from) : undefined;
    if (base && from !== undefined) {
      const rebuilt = await viaDifferences(invite, base, from, ctx, onProgress);
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
  const bytes = await withRetry(() => downloadBytes(url, { fetch: ctx.fetch, signal: ctx.signal, onProgress }), { attempts: ctx.attempts, signal: ctx.signal });
  ctx.stats.bytesDown += bytes.byteLength;
  const weights = decodePayload(bytes);
  count(ctx.stats, 'fullDownloads');
  await ctx.cache.put(taskId, version, weights);
  return weights;
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
        () => downloadBytes(deltaUrl(ctx.serverUrl, invite.taskId, v), { fetch: ctx.fetch, signal: ctx.signal, onProgress: (f) => onProgress((done + f) / steps) }),
        { attempts: ctx.attempts, signal: ctx.signal },
      );
      ctx.stats.bytesDown += bytes.byteLength;
      spent += bytes.byteLength;
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

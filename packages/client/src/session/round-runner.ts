import { ChorusError, boundMetrics, decodePayload, roundCodecSeed, withoutPersonalMetrics, type FlatWeights, type LocalDpConfig, type PersonalizationInfo, type PersonalWeights, type RandomSource, type RoundInvite } from '@chorus/core';
import type { PersonalLayerStore } from './personal-layer-store.js';
import { abortError, withRetry } from './backoff.js';
import { encodeWithFeedback } from './bounded-payload.js';
import { uploadInChunks } from './chunked-upload.js';
import { privateUpdate } from './private-update.js';
import type { ModelCache } from './model-cache.js';
import type { ResidualStore } from './residual-store.js';
import type { SecureComputation } from './secure-computation.js';
import type { SecureRoundClient } from './secure-round-client.js';
import type { SessionEmitter, SessionStatus } from './session-events.js';
import { request, type SessionSocket } from './session-socket.js';
import { fetchGlobalModel, type DownloadCounts } from './model-download.js';
import type { FetchLike } from './weights-download.js';

export interface TrainResult {
  /** Local weights minus the global weights the round started from (same layout: the shared layers of a personalized task). */
  readonly delta: Float32Array;
  readonly numExamples: number;
  readonly metrics: Readonly<Record<string, number>>;
  /** A personalized task's personal layers after training: kept on the device, never uploaded. */
  readonly personal?: PersonalWeights;
  /**
   * The trainer kept the update for its own secure computation (a secure round, see
   * RoundTrainer.secure): `delta` is then empty and the update never reached the session.
   */
  readonly kept?: boolean;
}

/** A secure round's update stays with the trainer: it applies the task's local DP itself and keeps the result. */
export interface KeepForSecureRound {
  readonly localDp: LocalDpConfig | undefined;
}

/** What a trainer needs for a personalized task: the method and layers, and the device's personal layers so far. */
export interface PersonalTrainInput {
  readonly config: PersonalizationInfo;
  /** Undefined on the device's first round of the task: the trainer starts the personal layers itself. */
  readonly values: PersonalWeights | undefined;
}

/**
 * How local training happens is not the session's business: the simulator trains in-process, the
 * browser in a Web Worker. The trainer must stop (reject) soon after `signal` aborts.
 */
export interface RoundTrainer {
  /**
   * `keep` (only for a trainer with `secure`, in a secure round): keep the trained update for the
   * secure computation and return `kept: true` with an empty delta.
   */
  train(invite: RoundInvite, global: FlatWeights, signal: AbortSignal, onProgress?: (fraction: number) => void, personal?: PersonalTrainInput, keep?: KeepForSecureRound): Promise<TrainResult>;
  /**
   * Where this trainer runs secure rounds' computation (the browser's trainer worker); without it
   * the session computes in its own thread.
   */
  readonly secure?: SecureComputation;
}

export interface RoundRunnerContext {
  socket(): SessionSocket;
  waitJoined(signal: AbortSignal): Promise<void>;
  readonly trainer: RoundTrainer;
  readonly cache: ModelCache;
  /** Error feedback for biased codecs: what earlier updates did not send. */
  readonly residuals: ResidualStore;
  readonly fetch: FetchLike;
  readonly serverUrl: string;
  readonly random: RandomSource;
  readonly ackTimeoutMs: number;
  maxChunkBytes(): number;
  readonly attempts: number;
  readonly signal: AbortSignal;
  readonly emitter: SessionEmitter;
  setStatus(status: SessionStatus): void;
  /** Called once, just before the round's final event, so listeners already see the session idle. */
  settle(): void;
  readonly stats: { bytesUp: number; bytesDown: number; roundsCompleted: number; roundsFailed: number } & Partial<DownloadCounts>;
  /** The task's local DP (from the join's TaskInfo): applied to the update right before encoding. */
  localDp?(): LocalDpConfig | undefined;
  /**
   * True when the task has differential privacy, local or central (from the join's TaskInfo): the
   * update then goes without the personal figures (PERSONAL_METRICS), which nothing noises.
   */
  differentiallyPrivate?(): boolean;
  /** The task's personalization (from the join's TaskInfo), if any. */
  personalization?(): PersonalizationInfo | undefined;
  /** Where the device keeps its personal layers between rounds (IndexedDB in browsers). */
  readonly personalStore?: PersonalLayerStore;
  /** A securely aggregated round: the update is masked and sent through the SecAgg+ stages. */
  readonly secure?: SecureRoundClient;
}

/** The receipt's words for a securely aggregated update (pages show them as they are). */
export function securelyAggregatedNote(participants: number): string {
  return `Securely aggregated: the server sees only the sum of the ${participants} participants' updates, never yours alone`;
}

/** One round, start to finish: download → train → encode → upload. Never throws; reports by events. */
export async function runRound(invite: RoundInvite, ctx: RoundRunnerContext): Promise<void> {
  const { signal, emitter } = ctx;
  const progress = (phase: 'download' | 'train' | 'upload', fraction: number): void =>
    emitter.emit('progress', { roundId: invite.roundId, phase, fraction });
  let trained = false;
  try {
    ctx.setStatus('downloading');
    progress('download', 0);
    const global = await fetchGlobalModel(invite, ctx, (f) => progress('download', f));

    ctx.setStatus('training');
    progress('train', 0);
    const p = ctx.personalization?.();
    if (p && !ctx.personalStore) throw new ChorusError('INTERNAL', 'this task keeps personal layers, but the session has no personal layer store');
    const personal = p ? { config: p, values: await ctx.personalStore!.get(invite.taskId) } : undefined;
    // A trainer with its own secure computation keeps the update: it never comes back to this thread.
    const keep = ctx.secure && ctx.trainer.secure ? { localDp: ctx.localDp?.() } : undefined;
    const result = await ctx.trainer.train(invite, global, signal, (f) => progress('train', f), personal, keep);
    if (signal.aborted) throw abortError(signal);
    // Kept before the upload: the personal layers are the device's whatever the server makes of the update.
    // (A resumed update answered from storage carries none: they were kept when it was trained.)
    if (p && result.personal) await ctx.personalStore!.put(invite.taskId, result.personal);
    trained = true;
    progress('train', 1);
    if (result.kept && !keep) throw new ChorusError('INTERNAL', 'the trainer kept an update it was not asked to keep');
    if (!result.kept && result.delta.length !== global.values.length) {
      throw new ChorusError('SHAPE_MISMATCH', `trainer returned a delta of ${result.delta.length} values; the model has ${global.values.length}`);
    }
    if (!Number.isInteger(result.numExamples) || result.numExamples < 1) {
      throw new ChorusError('BAD_REQUEST', `trainer returned numExamples=${result.numExamples}; a positive integer is required`);
    }
    if (ctx.secure) {
      ctx.setStatus('uploading');
      progress('upload', 0);
      const values = result.kept ? undefined : privateUpdate(result.delta, ctx.localDp?.());
      const { bytes } = await ctx.secure.submit(values, result.numExamples, (f) => progress('upload', f));
      ctx.stats.bytesUp += bytes;
      progress('upload', 1);
      ctx.stats.roundsCompleted++;
      ctx.settle();
      const participants = ctx.secure.participants;
      const receipt = { accepted: true, secureAggregation: { participants }, note: securelyAggregatedNote(participants) };
      emitter.emit('receipt', { roundId: invite.roundId, round: invite.round, receipt, bytes, numExamples: result.numExamples, metrics: boundMetrics(result.metrics) });
      return;
    }
    const values = privateUpdate(result.delta, ctx.localDp?.());
    const previous = await ctx.residuals.get(invite.taskId);
    const { bytes, residual } = encodeWithFeedback(global.layout, values, invite.codec, ctx.random, invite.maxUpdateNorm, previous, {
      seed: roundCodecSeed(invite.roundId),
    });
    const metrics = boundMetrics(result.metrics);
    // Held-out accuracies are exact figures of this device's examples: under DP they stay here (the
    // page still shows them from the receipt event below), as the personal layers do.
    const sent = ctx.differentiallyPrivate?.() ? withoutPersonalMetrics(metrics) : metrics;

    ctx.setStatus('uploading');
    progress('upload', 0);
    const receipt = await withRetry(
      async () => {
        await ctx.waitJoined(signal);
        return uploadInChunks(
          ctx.socket(),
          { taskId: invite.taskId, roundId: invite.roundId, version: invite.version, numExamples: result.numExamples, byteLength: bytes.byteLength, metrics: sent },
          bytes,
          {
            maxChunkBytes: ctx.maxChunkBytes(),
            ackTimeoutMs: ctx.ackTimeoutMs,
            signal,
            onProgress: (f) => progress('upload', f),
            onBytesSent: (n) => {
              ctx.stats.bytesUp += n;
            },
          },
        );
      },
      { attempts: ctx.attempts, signal, shouldRetry: (err) => !err.roundOver && Date.now() < invite.deadline },
    );
    // Only an accepted update moves the residual on: a refused one reached nobody, so nothing it carried counts as sent.
    if (receipt.accepted && residual) await ctx.residuals.put(invite.taskId, residual);
    if (receipt.accepted) ctx.stats.roundsCompleted++;
    else ctx.stats.roundsFailed++;
    ctx.settle();
    emitter.emit('receipt', { roundId: invite.roundId, round: invite.round, receipt, bytes: bytes.byteLength, numExamples: result.numExamples, metrics });
  } catch (raw) {
    const error = signal.aborted ? abortError(signal) : ChorusError.from(raw);
    ctx.stats.roundsFailed++;
    ctx.settle();
    emitter.emit('roundFailed', { roundId: invite.roundId, round: invite.round, error });
    if (signal.aborted) return;
    emitter.emit('error', error);
    // Tell the server early so it can stop waiting for us (best effort).
    if (!trained) void declineQuietly(invite, ctx, error.message);
  }
}

async function declineQuietly(invite: RoundInvite, ctx: RoundRunnerContext, reason: string): Promise<void> {
  try {
    const socket = ctx.socket();
    if (socket.connected) await request(socket, 'round:decline', { taskId: invite.taskId, roundId: invite.roundId, reason: reason.slice(0, 500) }, ctx.ackTimeoutMs);
  } catch {
    // The deadline will account for us anyway.
  }
}

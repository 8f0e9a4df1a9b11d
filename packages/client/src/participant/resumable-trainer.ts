import type { FlatWeights, RoundInvite } from '@chorus/core';
import type { KeepForSecureRound, PersonalTrainInput, RoundTrainer, TrainResult } from '../session/round-runner.js';
import type { PendingUploadStore } from '../storage/pending-upload-store.js';

/**
 * Keeps each trained update until the server acknowledges it, so that after a reload the same
 * round's invite is answered at once from IndexedDB instead of training again.
 */
export function createResumableTrainer(inner: RoundTrainer, pending: PendingUploadStore, ready: () => Promise<void> = async () => undefined): RoundTrainer & { resumedRounds: number } {
  const state = { resumedRounds: 0 };
  return {
    get resumedRounds() {
      return state.resumedRounds;
    },
    ...(inner.secure ? { secure: inner.secure } : {}),
    async train(invite: RoundInvite, global: FlatWeights, signal: AbortSignal, onProgress?: (fraction: number) => void, personal?: PersonalTrainInput, keep?: KeepForSecureRound): Promise<TrainResult> {
      // A secure round's update stays in the trainer and is never stored: its masking keys do not
      // survive a reload either, so there is nothing to resume it with.
      if (keep || invite.secureAggregation) {
        await ready();
        return inner.train(invite, global, signal, onProgress, personal, keep);
      }
      const saved = await pending.take(invite.taskId);
      if (saved && saved.roundId === invite.roundId && saved.version === invite.version && saved.delta.length === global.values.length) {
        state.resumedRounds++;
        onProgress?.(1);
        return { delta: saved.delta, numExamples: saved.numExamples, metrics: saved.metrics };
      }
      await ready();
      const result = await inner.train(invite, global, signal, onProgress, personal);
      await pending.save({
        taskId: invite.taskId,
        roundId: invite.roundId,
        round: invite.round,
        version: invite.version,
        deadline: invite.deadline,
        numExamples: result.numExamples,
        metrics: result.metrics,
        delta: result.delta,
        createdAt: Date.now(),
      });
      return result;
    },
  };
}

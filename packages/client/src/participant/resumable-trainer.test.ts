import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import type { RoundInvite } from '@chorus/core';
import { openParticipantStorage } from '../storage/participant-storage.js';
import type { RoundTrainer } from '../session/round-runner.js';
import { createLocalSecureComputation } from '../session/secure-computation.js';
import { createResumableTrainer } from './resumable-trainer.js';

const invite = (roundId: string, deadline = Date.now() + 60_000): RoundInvite => ({
  taskId: 't',
  roundId,
  round: 1,
  version: 3,
  deadline,
  codec: 'int8',
  training: { localEpochs: 1, batchSize: 10, optimizer: 'sgd', learningRate: 0.1, proxMu: 0, maxExamples: 0, overrides: {} },
});
const global = { layout: [{ name: 'w', shape: [2] }], values: new Float32Array([0, 0]) };

describe('resumable trainer', () => {
  it('answers the same round from the saved update after a reload, and trains a new round', async () => {
    // Prepare
    const storage = await openParticipantStorage('resumable-1');
    let trainings = 0;
    const inner = { train: async () => ({ delta: new Float32Array([++trainings, 0.5]), numExamples: 7, metrics: { loss: 1 } }) };
    const signal = new AbortController().signal;
    await createResumableTrainer(inner, storage.pendingUploads).train(invite('r1'), global, signal);
    // Execute: a fresh trainer, as after a page reload
    const reloaded = createResumableTrainer(inner, storage.pendingUploads);
    const again = await reloaded.train(invite('r1'), global, signal);
    const next = await reloaded.train(invite('r2'), global, signal);
    // Assert
    expect(Array.from(again.delta)).toEqual([1, 0.5]);
    expect(again.numExamples).toBe(7);
    expect(Array.from(next.delta)).toEqual([2, 0.5]);
    expect(reloaded.resumedRounds).toBe(1);
  });

  it('trains again when the saved round has passed its deadline', async () => {
    const storage = await openParticipantStorage('resumable-2');
    let trainings = 0;
    const inner = { train: async () => ({ delta: new Float32Array([++trainings, 0]), numExamples: 1, metrics: {} }) };
    const signal = new AbortController().signal;
    await createResumableTrainer(inner, storage.pendingUploads).train(invite('r1', Date.now() - 1), global, signal);
    const result = await createResumableTrainer(inner, storage.pendingUploads).train(invite('r1'), global, signal);
    expect(Array.from(result.delta)).toEqual([2, 0]);
  });

  it('a secure round keeps its update in the trainer: it is passed `keep`, its secure computation shows through, and nothing is saved', async () => {
    // Prepare: a trainer with its own secure computation (as the worker trainer is)
    const storage = await openParticipantStorage('resumable-3');
    const secure = createLocalSecureComputation();
    const keeps: unknown[] = [];
    const inner: RoundTrainer = {
      secure,
      train: async (_i, _g, _s, _p, _personal, keep) => {
        keeps.push(keep);
        return { delta: new Float32Array(0), kept: true, numExamples: 3, metrics: {} };
      },
    };
    const trainer = createResumableTrainer(inner, storage.pendingUploads);
    const secureInvite = { ...invite('r1'), secureAggregation: { id: 1, setup: {} } };
    // Execute
    const result = await trainer.train(secureInvite, global, new AbortController().signal, undefined, undefined, { localDp: undefined });
    // Assert
    expect(trainer.secure).toBe(secure);
    expect(keeps).toEqual([{ localDp: undefined }]);
    expect(result.kept).toBe(true);
    expect(await storage.pendingUploads.take('t')).toBeUndefined();
  });
});

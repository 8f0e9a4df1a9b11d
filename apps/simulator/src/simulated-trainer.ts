import type * as tf from '@tensorflow/tfjs';
import { assertSameLayout, ChorusError, type Dataset, type RandomSource, type SerialQueue } from '@chorus/core';
import type { RoundTrainer } from '@chorus/client';
import { modelLayout, trainLocal, trainPersonalized, writeModelWeights } from '@chorus/ml';
import type { SimulationAttack } from './simulation-options.js';

export interface SimulatedTrainerOptions {
  readonly clientIndex: number;
  readonly data: Dataset;
  /** The one tfjs model every simulated client trains on in turn. */
  readonly model: tf.LayersModel;
  readonly queue: SerialQueue;
  readonly random: RandomSource;
  readonly attack?: SimulationAttack;
  /** Called with each finished local training's wall time, for throughput figures. */
  readonly onTrained?: (trainMs: number) => void;
  /** True when this client drops out of `round` (the simulator's --dropout): it trains nothing and the round goes on without it. */
  readonly dropsOut?: (round: number) => boolean;
}

/**
 * A trainer for one simulated client: load the global weights into the shared model, run local
 * SGD on this client's partition, hand back the delta. Jobs queue so clients never interleave.
 */
export function createSimulatedTrainer(options: SimulatedTrainerOptions): RoundTrainer {
  const { model, data, queue } = options;
  return {
    train(invite, global, signal, onProgress, personal) {
      return queue.run(async () => {
        signal.throwIfAborted();
        // Inside the queue, so the client leaves at its turn: by then a secure round's keys and
        // shares are out, and the server must recover its pairwise masks (the costly dropout).
        if (options.dropsOut?.(invite.round)) throw new ChorusError('UNAVAILABLE', `simulated dropout: client ${options.clientIndex} left round ${invite.round}`);
        const progress = onProgress && ((p: { epoch: number; batch: number; batches: number; epochs: number }) => onProgress(((p.epoch - 1) * p.batches + p.batch) / (p.epochs * p.batches)));
        if (personal) {
          // The download holds the shared layers only; this client's personal layers come from its store.
          const r = await trainPersonalized(model, data, global, personal, invite.training, { random: options.random, signal, ...(progress ? { onProgress: progress } : {}) });
          options.attack?.transformDelta?.(options.clientIndex, r.delta, { round: invite.round, data });
          options.onTrained?.(r.metrics.trainMs ?? 0);
          return { delta: r.delta, numExamples: r.numExamples, metrics: r.metrics, personal: r.personal };
        }
        assertSameLayout(modelLayout(model), global.layout, 'global model');
        writeModelWeights(model, global.values);
        const result = await trainLocal(model, data, invite.training, {
          random: options.random,
          signal,
          onProgress: onProgress && ((p) => onProgress(((p.epoch - 1) * p.batches + p.batch) / (p.epochs * p.batches))),
        });
        options.attack?.transformDelta?.(options.clientIndex, result.delta, { round: invite.round, data });
        options.onTrained?.(result.metrics.trainMs);
        return { delta: result.delta, numExamples: result.numExamples, metrics: { ...result.metrics } };
      });
    },
  };
}

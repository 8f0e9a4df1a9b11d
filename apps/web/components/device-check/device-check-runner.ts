'use client';

import { createSeededRandom } from '@chorus/core';
import { createWorkerTrainer, type BackendId, type BackendMeasurement, type WorkerTrainer } from '@chorus/client';

const DB = 'chorus-device-check';

export interface RoundTiming {
  readonly round: number;
  readonly ms: number;
  readonly samplesPerSecond: number;
  readonly deltaNorm: number;
}

export interface DeviceCheck {
  /** Throughput of each backend on a model template (synthetic data, the rounds' training loop). */
  measure(templateId: string, backends: readonly BackendId[], batchSize: number, batches: number): Promise<BackendMeasurement[]>;
  /** Which backend the automatic trial picks, measured afresh. */
  trial(templateId: string): Promise<{ backend: BackendId; measurements: readonly BackendMeasurement[] }>;
  /** Trains `rounds` rounds of real local training (a demo MNIST shard) on one backend, like a participant. */
  trainRounds(templateId: string, backend: BackendId | undefined, rounds: number): Promise<RoundTiming[]>;
}

/** Runs each check in a fresh worker, so one backend's state cannot slow the next check. */
async function withTrainer<T>(forceBackend: BackendId | undefined, fn: (t: WorkerTrainer) => Promise<T>): Promise<T> {
  const trainer = createWorkerTrainer({ dbName: DB, ...(forceBackend ? { forceBackend } : {}) });
  try {
    return await fn(trainer);
  } finally {
    trainer.terminate();
  }
}

export function createDeviceCheck(): DeviceCheck {
  return {
    measure: (templateId, backends, batchSize, batches) =>
      withTrainer('cpu', async (t) => {
        await t.prepare({ taskId: 'device-check', templateId, inputShape: [28, 28, 1], numClasses: 10 });
        return t.measure(backends, batchSize, batches);
      }),
    trial: (templateId) =>
      withTrainer(undefined, async (t) => {
        const choice = await t.prepare({ taskId: 'device-check', templateId, inputShape: [28, 28, 1], numClasses: 10 }, { remeasure: true });
        return { backend: choice.backend, measurements: choice.measurements };
      }),
    trainRounds: (templateId, backend, rounds) =>
      withTrainer(backend, async (t) => {
        const taskId = `device-check-${templateId}`;
        await t.importShard(taskId, '/data/mnist/shard-000.bin');
        const { parameters } = await t.prepare({ taskId, templateId, inputShape: [28, 28, 1], numClasses: 10 });
        // The same seeded start on every backend, so their deltas can be compared as well as timed.
        const random = createSeededRandom(1);
        const values = Float32Array.from({ length: parameters }, () => (random() - 0.5) * 0.1);
        const global = { layout: [{ name: 'all', shape: [parameters] }], values };
        const out: RoundTiming[] = [];
        for (let round = 1; round <= rounds; round++) {
          const invite = {
            taskId,
            roundId: `r${round}`,
            round,
            version: round - 1,
            deadline: Date.now() + 600_000,
            codec: 'int8' as const,
            training: { localEpochs: 1, batchSize: 10, optimizer: 'sgd' as const, learningRate: 0.05, proxMu: 0, maxExamples: 0, overrides: {} },
          };
          const started = performance.now();
          const result = await t.train(invite, global, new AbortController().signal);
          let norm = 0;
          for (const v of result.delta) norm += v * v;
          out.push({ round, ms: performance.now() - started, samplesPerSecond: t.samplesPerSecond, deltaNorm: Math.sqrt(norm) });
        }
        return out;
      }),
  };
}

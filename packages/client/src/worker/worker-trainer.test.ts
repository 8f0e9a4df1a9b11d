import { expose } from 'comlink';
import { describe, expect, it } from 'vitest';
import { roundInviteSchema } from '@chorus/core';
import type { TrainerWorkerApi, WorkerTrainRequest } from './trainer-protocol.js';
import { createWorkerTrainer } from './worker-trainer.js';

describe('createWorkerTrainer → worker train request', () => {
  it('passes a FedProx invite’s overrides (proxMu) through to the worker, where trainLocal reads them', async () => {
    // Prepare: the worker end of a MessageChannel stands in for the Web Worker and records the request.
    const { port1, port2 } = new MessageChannel();
    const requests: WorkerTrainRequest[] = [];
    const fakeWorker: Partial<TrainerWorkerApi> = {
      async train(request) {
        requests.push(request);
        return { delta: new Float32Array(2), numExamples: 5, metrics: { loss: 1 }, samplesPerSecond: 10, backend: 'cpu' };
      },
    };
    expose(fakeWorker, port2);
    const trainer = createWorkerTrainer({ dbName: 'test', createWorker: () => port1 as unknown as Worker });
    const invite = roundInviteSchema.parse({
      taskId: 'prox',
      roundId: 'r1',
      round: 1,
      version: 0,
      deadline: Date.now() + 60_000,
      training: { learningRate: 0.1, overrides: { proxMu: 0.3 } },
      codec: 'int8',
    });

    // Execute
    const result = await trainer.train(invite, { layout: [{ name: 'w', shape: [2] }], values: new Float32Array(2) }, new AbortController().signal);

    // Assert
    expect(result.numExamples).toBe(5);
    expect(requests).toHaveLength(1);
    expect(requests[0]!.training.overrides).toEqual({ proxMu: 0.3 });
    expect(requests[0]!.training.learningRate).toBe(0.1);
    port1.close();
  });

  it('sends the participant’s duty cycle with every train request, and none when unset', async () => {
    const { port1, port2 } = new MessageChannel();
    const requests: WorkerTrainRequest[] = [];
    expose({ train: async (request: WorkerTrainRequest) => (requests.push(request), { delta: new Float32Array(2), numExamples: 5, metrics: {}, samplesPerSecond: 10, backend: 'cpu' }) }, port2);
    const { port1: plainPort, port2: plainWorker } = new MessageChannel();
    expose({ train: async (request: WorkerTrainRequest) => (requests.push(request), { delta: new Float32Array(2), numExamples: 5, metrics: {}, samplesPerSecond: 10, backend: 'cpu' }) }, plainWorker);
    const throttled = createWorkerTrainer({ dbName: 'test', dutyCycle: 0.25, createWorker: () => port1 as unknown as Worker });
    const plain = createWorkerTrainer({ dbName: 'test', createWorker: () => plainPort as unknown as Worker });
    const invite = roundInviteSchema.parse({ taskId: 't', roundId: 'r1', round: 1, version: 0, deadline: Date.now() + 60_000, training: {}, codec: 'int8' });
    const global = { layout: [{ name: 'w', shape: [2] }], values: new Float32Array(2) };

    await throttled.train(invite, global, new AbortController().signal);
    await plain.train(invite, { ...global, values: new Float32Array(2) }, new AbortController().signal);

    expect(requests.map((r) => r.dutyCycle)).toEqual([0.25, undefined]);
    port1.close();
    plainPort.close();
  });
});

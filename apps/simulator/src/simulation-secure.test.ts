import { describe, expect, it } from 'vitest';
import { planPrivacy } from '@chorus/core';
import { collectReports, useEmbeddedServer } from './embedded-server.test-helper.js';

const embedded = useEmbeddedServer();

describe('secure aggregation with dropouts through the simulator (embedded server, real Socket.IO)', () => {
  it('six neighbours (12 binary keys in one message) and two clients dropping after sharing keys: the round commits from the other six', async () => {
    // Prepare: seed 4 makes clients 3 and 7 drop out of round 1 at --dropout 0.25. Each participant
    // has 6 of the 7 others as neighbours, so at least 4 = threshold of its holders survive.
    // Execute
    const reports = await collectReports({
      serverUrl: embedded().url,
      taskId: 'sim-secure-dropout',
      clients: 8,
      fraction: 1,
      rounds: 1,
      model: 'mnist-2nn',
      batchSize: 20,
      learningRate: 0.1,
      maxExamples: 50,
      seed: 4,
      minClients: 5,
      dropout: 0.25,
      secureAggregation: { neighbours: 6, threshold: 4 },
    });
    // Assert: version 1 came from round 1 (not a retry), with the six that stayed.
    expect(reports.map((r) => [r.round, r.version, r.participants, r.failures])).toEqual([[1, 1, 6, 2]]);
    expect(reports[0]!.accuracy).toBeGreaterThan(0.2);
  }, 240_000);

  it('central DP on the secure sum: the round commits with noise z·C/n and the ε of a plain DP round', async () => {
    const reports = await collectReports({
      serverUrl: embedded().url,
      taskId: 'sim-secure-dp',
      clients: 6,
      fraction: 1,
      rounds: 1,
      model: 'mnist-2nn',
      batchSize: 20,
      learningRate: 0.1,
      maxExamples: 50,
      seed: 2,
      minClients: 5,
      strategy: { id: 'fedavg', options: { dp: { clipNorm: 0.5, noiseMultiplier: 0.3, sampleRate: 0.2 } } },
      secureAggregation: { neighbours: 4, threshold: 3 },
    });
    expect(reports.map((r) => [r.round, r.version, r.participants])).toEqual([[1, 1, 6]]);
    const m = reports[0]!.serverMetrics;
    expect(m.clipNorm).toBe(0.5);
    expect(m.noiseStd).toBeCloseTo((0.3 * 0.5) / 6, 12);
    expect(m.epsilon).toBeCloseTo(planPrivacy({ noiseMultiplier: 0.3, sampleRate: 0.2, delta: 1e-5, rounds: 1 }).epsilon, 9);
  }, 240_000);

  it("mode 'async': secure cohorts of bufferSize clients over real sockets commit two versions, each the sum of one cohort", async () => {
    // Five clients, K = 4: one cohort of four trains on version 0; when it unmasks, the buffer
    // flushes and the four plus the fifth are free for the next cohort, on version 1.
    const reports = await collectReports({
      serverUrl: embedded().url,
      taskId: 'sim-secure-async',
      clients: 5,
      fraction: 1,
      rounds: 2,
      model: 'mnist-2nn',
      batchSize: 20,
      learningRate: 0.1,
      maxExamples: 50,
      seed: 3,
      minClients: 4,
      async: { bufferSize: 4 },
      secureAggregation: { neighbours: 4, threshold: 3 },
    });
    expect(reports.map((r) => [r.version, r.serverMetrics.updates, r.serverMetrics.client_staleness])).toEqual([
      [1, 4, 0],
      [2, 4, 0],
    ]);
    expect(reports[1]!.accuracy).toBeGreaterThan(0.2);
  }, 240_000);
});

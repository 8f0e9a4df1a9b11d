import { describe, expect, it } from 'vitest';
import { runSimulation, type RoundReport } from './simulation.js';

describe('runSimulation (embedded server, real Socket.IO)', () => {
  it('improves the 2NN over 3 rounds with 5 of 20 clients per round and reports every round', async () => {
    // Prepare: 20 connected clients with 400 IID digits each; 5 of them train per round, one epoch.
    const reports: RoundReport[] = [];

    // Execute
    for await (const report of runSimulation({
      clients: 20,
      rounds: 3,
      model: 'mnist-2nn',
      partition: 'iid',
      fraction: 0.25,
      localEpochs: 1,
      batchSize: 20,
      learningRate: 0.1,
      codec: 'int8',
      seed: 3,
      deadlineMs: 60_000,
    })) {
      reports.push(report);
    }

    // Assert
    expect(reports.map((r) => r.round)).toEqual([1, 2, 3]);
    expect(reports.map((r) => r.version)).toEqual([1, 2, 3]);
    expect(reports.every((r) => r.participants === 5 && r.failures === 0)).toBe(true);
    expect(reports.every((r) => r.bytesUp > 0)).toBe(true);
    // int8: ~1 byte per parameter (199,210) per client, plus headers and per-chunk scales.
    expect(reports[0]!.bytesUp).toBeGreaterThan(5 * 199_210);
    expect(reports[0]!.bytesUp).toBeLessThan(5 * 199_210 * 1.1);
    // Version 0 is rebuilt from the task's seed (nothing downloaded); later versions come as one
    // int8 difference (exact after one round, within int8's error from further back), brotli'd.
    expect(reports[0]!.bytesDown).toBe(0);
    for (const r of reports.slice(1)) {
      expect(r.bytesDown).toBeGreaterThan(0);
      expect(r.bytesDown).toBeLessThan((5 * 4 * 199_210) / 4);
    }
    expect(reports[2]!.accuracy).toBeGreaterThan(reports[0]!.accuracy);
    expect(reports[2]!.accuracy).toBeGreaterThan(0.5);
  }, 120_000);

  it('trains nextword-gru by president: 4 of 43 presidents per round, scored by the server on held-out addresses', async () => {
    const reports: RoundReport[] = [];

    for await (const report of runSimulation({
      model: 'nextword-gru',
      clients: 43,
      rounds: 2,
      fraction: 0.1,
      localEpochs: 1,
      batchSize: 20,
      learningRate: 1,
      maxExamples: 100,
      codec: 'int8',
      seed: 3,
      deadlineMs: 60_000,
    })) {
      reports.push(report);
    }

    expect(reports.map((r) => r.participants)).toEqual([4, 4]);
    expect(reports.every((r) => r.evaluatedBy === 'server')).toBe(true);
    expect(Object.keys(reports[1]!.serverMetrics)).toEqual(expect.arrayContaining(['accuracy', 'top3_accuracy', 'perplexity']));
    // Uniform guessing over 256 words has perplexity 256; two rounds of "the", "of", "and" already beat it.
    expect(reports[1]!.serverMetrics.perplexity).toBeLessThan(256);
    expect(reports[1]!.serverMetrics.top3_accuracy).toBeGreaterThan(reports[1]!.accuracy);
  }, 180_000);
});

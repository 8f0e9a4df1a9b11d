import { describe, expect, it } from 'vitest';
import { encodePayload, planPrivacy, type CodecId } from '@chorus/core';
import { createInitialModel } from '@chorus/ml';
import { initNodeBackend } from '@chorus/ml/node';
import { collectReports, useEmbeddedServer } from './embedded-server.test-helper.js';
import type { SimulationOptions } from './simulation-options.js';

/**
 * The keyboard task with what Chorus already has (issue 17, "works with what exists"): central DP
 * on a secure sum, and the sparse and rotated update codecs. Five presidents, all in every round,
 * 60 examples each, two rounds: small enough for 2 shared cores, enough for the rounds to commit,
 * the server's next-word evaluation to move and the accountant to count two rounds.
 */
const embedded = useEmbeddedServer();

const keyboard = {
  model: 'nextword-gru',
  clients: 5,
  fraction: 1,
  rounds: 2,
  localEpochs: 1,
  batchSize: 20,
  learningRate: 1,
  maxExamples: 60,
  seed: 3,
  deadlineMs: 120_000,
} as const satisfies Partial<SimulationOptions>;

/** Uniform guessing over the 256-word vocabulary: a model that learnt nothing scores about this. */
const UNIFORM_PERPLEXITY = 256;

describe('the keyboard task (nextword-gru) with DP, secure aggregation and compression (embedded server, real Socket.IO)', () => {
  it('central DP on a secure sum: both rounds commit from all five, with noise z·C/n and the ε of two DP rounds', async () => {
    // Prepare: user-level DP, one president = one unit; each clips to C in its worker before masking.
    const dp = { clipNorm: 1, noiseMultiplier: 0.3, sampleRate: 0.1 };

    // Execute
    const reports = await collectReports({
      ...keyboard,
      serverUrl: embedded().url,
      taskId: 'sim-nextword-secure-dp',
      minClients: 4,
      strategy: { id: 'fedavg', options: { dp } },
      secureAggregation: { neighbours: 4, threshold: 3 },
    });

    // Assert
    expect(reports.map((r) => [r.round, r.version, r.participants, r.failures])).toEqual([
      [1, 1, 5, 0],
      [2, 2, 5, 0],
    ]);
    for (const r of reports) {
      expect(r.evaluatedBy).toBe('server');
      expect(r.serverMetrics.clipNorm).toBe(dp.clipNorm);
      expect(r.serverMetrics.noiseStd).toBeCloseTo((dp.noiseMultiplier * dp.clipNorm) / 5, 12);
    }
    // The ε the console shows is the accountant's after every committed round, not one round's.
    const epsilon = (rounds: number) => planPrivacy({ noiseMultiplier: dp.noiseMultiplier, sampleRate: dp.sampleRate, delta: 1e-5, rounds }).epsilon;
    expect(reports[0]!.serverMetrics.epsilon).toBeCloseTo(epsilon(1), 9);
    expect(reports[1]!.serverMetrics.epsilon).toBeCloseTo(epsilon(2), 9);
    expect(reports[1]!.serverMetrics.epsilon).toBeGreaterThan(reports[0]!.serverMetrics.epsilon!);
    // Clipped and noised (fresh noise every run), the mean still teaches the commonest words: better
    // than uniform guessing, and better after the second round than after the first (measured
    // perplexity ≈ 215 → ≈ 167 over four runs).
    for (const r of reports) expect(r.serverMetrics.perplexity).toBeLessThan(UNIFORM_PERPLEXITY);
    expect(reports[1]!.loss).toBeLessThan(reports[0]!.loss);
  }, 300_000);

  it.each<{ codec: CodecId; slack: number }>([
    // Fixed size: two bits a weight after the rotation, and the scales.
    { codec: 'hadamard2', slack: 0 },
    // The 5 % largest weights as 4-bit levels (fixed size) and their positions as gap varints: one
    // byte each, plus at most one byte more for every 128 positions skipped (the gaps add up to < 43,456).
    { codec: 'topk-q4', slack: Math.ceil(43_456 / 128) },
  ])('$codec: every update is the codec’s size for 43,456 weights, and the model learns', async ({ codec, slack }) => {
    // Prepare: the smallest update the codec makes for this layout; the largest weights first, so
    // top-k's positions cost one byte each.
    // The simulator's backend, started here too: this test may run alone (-t), before any simulation.
    await initNodeBackend('wasm');
    const { layout } = await createInitialModel('nextword-gru', 1);
    const values = Float32Array.from({ length: 43_456 }, (_, i) => 0.01 / (1 + i));
    const smallest = encodePayload({ layout, values }, codec).byteLength;
    const float32 = encodePayload({ layout, values }, 'float32').byteLength;

    // Execute
    const reports = await collectReports({ ...keyboard, serverUrl: embedded().url, taskId: `sim-nextword-${codec}`, codec });

    // Assert
    expect(reports.map((r) => [r.round, r.version, r.participants, r.failures])).toEqual([
      [1, 1, 5, 0],
      [2, 2, 5, 0],
    ]);
    for (const r of reports) {
      expect(r.bytesUp).toBeGreaterThanOrEqual(5 * smallest);
      expect(r.bytesUp).toBeLessThanOrEqual(5 * (smallest + slack));
    }
    // What a user on a metered link notices: well under a sixth of the float32 upload.
    expect(smallest + slack).toBeLessThan(float32 / 6);
    // The compressed updates still teach: better than uniform guessing, and better after the second
    // round than after the first (measured perplexity ≈ 217 → ≈ 165 for both codecs).
    for (const r of reports) expect(r.serverMetrics.perplexity).toBeLessThan(UNIFORM_PERPLEXITY);
    expect(reports[1]!.loss).toBeLessThan(reports[0]!.loss);
    expect(reports[1]!.serverMetrics.top3_accuracy).toBeGreaterThan(reports[1]!.accuracy);
  }, 300_000);
});

import { describe, expect, it, vi } from 'vitest';
import { resolveTrainingOptions } from '@chorus/ml';
import { collectReports, useEmbeddedServer } from './embedded-server.test-helper.js';

// Records what the simulated trainer hands to trainLocal, then trains for real.
const seen = vi.hoisted(() => ({ configs: [] as unknown[] }));
vi.mock('@chorus/ml', async (importOriginal) => {
  const actual = await importOriginal<typeof import('@chorus/ml')>();
  return {
    ...actual,
    trainLocal: (...args: Parameters<typeof actual.trainLocal>) => {
      seen.configs.push(args[2]);
      return actual.trainLocal(...args);
    },
  };
});

const l2 = (v: Float32Array): number => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

const embedded = useEmbeddedServer();

const small = { serverUrl: '', clients: 6, fraction: 0.5, rounds: 1, model: 'mnist-2nn', localEpochs: 1, batchSize: 20, learningRate: 0.1, seed: 5, deadlineMs: 60_000 } as const;

describe('simulation with privacy and FedProx options (embedded server, real Socket.IO)', () => {
  it('local DP: every upload the server accepts is clipped to C and noised (‖Δ‖ ≈ √(C² + d(σC)²))', async () => {
    // Prepare: C = 0.5, σ = 0.001 on the 2NN (d = 199,210): expected norm √(0.25 + 0.0498) ≈ 0.5475.
    const rawNorms: number[] = [];
    const taskId = 'sim-local-dp';

    // Execute
    const reports = await collectReports({
      ...small,
      serverUrl: embedded().url,
      taskId,
      codec: 'float32',
      privacy: { localDp: { clipNorm: 0.5, noiseMultiplier: 0.001 } },
      attack: { transformDelta: (_i, delta) => void rawNorms.push(l2(delta)) },
    });
    const res = await fetch(`${embedded().url}/api/tasks/${taskId}/rounds/1/receipts`, { headers: { authorization: `Bearer ${embedded().adminToken}` } });
    const { receipts } = (await res.json()) as { receipts: { accepted: boolean; l2Norm: number | null }[] };

    // Assert
    expect(reports.map((r) => [r.round, r.participants, r.failures])).toEqual([[1, 3, 0]]);
    expect(rawNorms.length).toBe(3);
    expect(Math.min(...rawNorms)).toBeGreaterThan(0.6);
    expect(receipts.map((r) => r.accepted)).toEqual([true, true, true]);
    for (const r of receipts) {
      expect(r.l2Norm!).toBeGreaterThan(0.54);
      expect(r.l2Norm!).toBeLessThan(0.555);
    }
  }, 180_000);

  it('FedProx: the round invite’s proxMu (strategy option mu) reaches trainLocal', async () => {
    // Prepare
    seen.configs.length = 0;

    // Execute
    const reports = await collectReports({ ...small, serverUrl: embedded().url, taskId: 'sim-fedprox', codec: 'int8', strategy: { id: 'fedprox', options: { mu: 0.25 } } });

    // Assert
    expect(reports.map((r) => r.participants)).toEqual([3]);
    expect(seen.configs.length).toBe(3);
    for (const config of seen.configs) {
      expect((config as { overrides?: Record<string, unknown> }).overrides).toEqual({ proxMu: 0.25 });
      expect(resolveTrainingOptions(config as Parameters<typeof resolveTrainingOptions>[0]).proxMu).toBe(0.25);
    }
  }, 180_000);
});

import { describe, expect, it } from 'vitest';
import { createHarness, playSecureRound } from './engine-test-kit.js';

const secureTask = { limits: { maxUpdateNorm: 1 }, secureAggregation: { neighbours: 4, threshold: 3, quantizationBits: 12, stageDeadlineMs: 1_000 } };
const deltas: Record<number, number[]> = { 1: [0.1, -0.2, 0.05, 0], 2: [0.3, 0.1, -0.1, 0.2], 3: [-0.1, 0.2, 0.1, 0.1], 4: [0.2, 0, 0, -0.2], 5: [0, 0.1, 0.3, 0.1] };
const examples = (i: number) => 10 * i;

describe('a securely aggregated round in the engine', () => {
  it('commits the weighted mean when one participant closes its tab after uploading its masked input', async () => {
    const h = await createHarness({ rounds: { targetClients: 5, minClients: 4, minAvailable: 5, overSelection: 1, deadlineMs: 60_000 }, task: secureTask });
    for (let i = 1; i <= 5; i++) await h.connect(i, { backend: 'wasm', numExamples: examples(i) });
    expect(h.engine.summary('t1').currentRound?.selected).toBe(5);
    const { errors } = await playSecureRound(h, { count: 5, update: (i) => Float32Array.from(deltas[i]!), examples, closesTab: 2 });
    expect(errors.map((e) => String(e))).toEqual([]);
    expect(h.engine.summary('t1').version).toBe(1);
    let weight = 0;
    const mean = [0, 0, 0, 0];
    for (let i = 1; i <= 5; i++) {
      weight += examples(i);
      for (let k = 0; k < 4; k++) mean[k]! += examples(i) * deltas[i]![k]!;
    }
    const global = h.engine.globalWeights('t1');
    [1, 2, 3, 4].forEach((v, k) => expect(global[k]!).toBeCloseTo(v + mean[k]! / weight, 2));
    // What is stored about the round: receipts without norms or bytes of any single update.
    const receipts = await h.storage.listReceipts('t1', 1);
    expect(receipts).toHaveLength(5);
    for (const r of receipts) {
      expect(r).toMatchObject({ accepted: true, l2Norm: null, bytes: 0 });
      expect(r.reason).toMatch(/securely aggregated/);
    }
  });

  it('refuses a message for another round and a plain update upload in a secure round', async () => {
    const h = await createHarness({ rounds: { targetClients: 4, minClients: 4, overSelection: 1 }, task: secureTask });
    for (let i = 1; i <= 4; i++) await h.connect(i);
    await new Promise((r) => setTimeout(r, 50));
    expect(() => h.engine.secureMessage('c1', { taskId: 't1', roundId: 'other', stage: 'advertise', message: {} })).toThrow(/not a secure round/);
    expect(() => h.engine.secureMessage('c1', { taskId: 't1', roundId: h.engine.summary('t1').currentRound!.roundId, stage: 'advertise', message: { id: 2 } })).toThrow(/own protocol id/);
    expect(() => h.send(1, [0.1, 0, 0, 0])).toThrow(/securely aggregated/);
  });
});

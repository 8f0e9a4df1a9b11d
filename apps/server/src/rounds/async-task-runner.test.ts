import { describe, expect, it } from 'vitest';
import { createRdpAccountant, modelHash, modelSketch } from '@chorus/core';
import { createModelDeltaStore } from './model-deltas.js';
import { createHarness, invited, type Harness } from './engine-test-kit.js';

const asyncTask = (bufferSize: number, extra: Record<string, unknown> = {}) => ({ mode: 'async' as const, async: { bufferSize, ...extra } });

/** The last invitation connection c<i> got (its assignment's round id and version). */
function lastInvite(h: Harness, i: number): { roundId: string; version: number } {
  const sent = h.transport.of('round:invite').filter((s) => s.to === `c${i}`).at(-1);
  if (!sent) throw new Error(`c${i} was never invited`);
  return sent.msg as { roundId: string; version: number };
}

function sendAs(h: Harness, i: number, values: number[]) {
  const inv = lastInvite(h, i);
  return h.send(i, values, { roundId: inv.roundId, version: inv.version });
}

describe("mode 'async' (FedBuff)", () => {
  it('invites every free participant at once, applies the server step after K updates, and re-invites on the new version', async () => {
    const h = await createHarness({ rounds: { targetClients: 1, minClients: 1, deadlineMs: 60_000 }, task: asyncTask(2) });
    await h.connect(0);
    await h.connect(1);
    await h.connect(2);
    expect(invited(h.transport).sort()).toEqual(['c0', 'c1', 'c2']);
    expect(new Set(h.transport.of('round:invite').map((s) => s.msg.roundId)).size).toBe(3);

    expect(sendAs(h, 0, [1, 1, 1, 1])).toMatchObject({ accepted: true });
    expect(h.engine.summary('t1').version).toBe(0);
    sendAs(h, 1, [3, 3, 3, 3]);
    await h.engine.idle();

    // FedAvg of the two (equal examples): global [1,2,3,4] + 2.
    expect(h.engine.summary('t1').version).toBe(1);
    expect([...h.engine.globalWeights('t1')]).toEqual([3, 4, 5, 6]);
    h.clock.advance(0);
    expect(lastInvite(h, 0).version).toBe(1);
    expect(lastInvite(h, 1).version).toBe(1);
    // c2 never stopped: no round:cancel, it is still on version 0.
    expect(h.transport.of('round:cancel')).toEqual([]);
    expect(lastInvite(h, 2).version).toBe(0);
    expect(h.engine.taskInfo('t1').mode).toBe('async');
  });

  it('invites carry the exact hash and sketch of the version they name, so participants can download differences', async () => {
    // Prepare: differential downloads on (a delta store), buffer of 2, three participants.
    const h = await createHarness({ rounds: { targetClients: 1, minClients: 1, deadlineMs: 60_000 }, task: asyncTask(2), deps: { modelDeltas: createModelDeltaStore() } });
    const v0 = Float32Array.of(1, 2, 3, 4);
    for (let i = 0; i < 3; i++) await h.connect(i);
    const first = h.transport.of('round:invite').filter((s) => s.to === 'c2').at(-1)!.msg;
    expect(first).toMatchObject({ version: 0, weightsHash: modelHash(v0), weightsSketch: modelSketch(v0) });

    // Execute: c0 and c1 fill the buffer (version 1); c2, still on version 0, reloads its page.
    sendAs(h, 0, [1, 1, 1, 1]);
    sendAs(h, 1, [3, 3, 3, 3]);
    await h.engine.idle();
    h.clock.advance(0);
    h.engine.attach('c2b', 't1', h.participantId(2), { backend: 'wasm', numExamples: 100 });

    // Assert: the new invitations name version 1's weights; c2's invitation again (version 0) names none, so it downloads v0 whole.
    const v1 = Float32Array.of(3, 4, 5, 6);
    expect(h.transport.of('round:invite').filter((s) => s.to === 'c0').at(-1)!.msg).toMatchObject({ version: 1, weightsHash: modelHash(v1), weightsSketch: modelSketch(v1) });
    const again = h.transport.of('round:invite').filter((s) => s.to === 'c2b').at(-1)!.msg;
    expect(again).toMatchObject({ version: 0, roundId: first.roundId });
    expect(again.weightsHash).toBeUndefined();
    expect(again.weightsSketch).toBeUndefined();
  });

  it('weights a stale update by 1/√(1+τ) and says so in its receipt', async () => {
    const h = await createHarness({ rounds: { targetClients: 1, minClients: 1 }, task: asyncTask(1) });
    await h.connect(0);
    await h.connect(1);
    sendAs(h, 0, [1, 1, 1, 1]);
    await h.engine.idle();
    expect([...h.engine.globalWeights('t1')]).toEqual([2, 3, 4, 5]);

    const receipt = sendAs(h, 1, [1, 1, 1, 1]); // trained on version 0, the model is at 1: τ = 1
    await h.engine.idle();

    expect(receipt).toMatchObject({ accepted: true, note: expect.stringContaining('staleness 1, weight 0.707') });
    const w = [...h.engine.globalWeights('t1')];
    [2, 3, 4, 5].forEach((x, i) => expect(w[i]).toBeCloseTo(x + 1 / Math.SQRT2, 5));
    const rounds = await h.storage.listRounds('t1', 10);
    expect(rounds.find((r) => r.round === 2)!.metrics.client_staleness).toBe(1);
  });

  it("takes the configured weight: 'constant' counts a stale update in full", async () => {
    const h = await createHarness({ rounds: { targetClients: 1, minClients: 1 }, task: asyncTask(1, { stalenessWeight: 'constant' }) });
    await h.connect(0);
    await h.connect(1);
    sendAs(h, 0, [1, 1, 1, 1]);
    await h.engine.idle();
    sendAs(h, 1, [1, 1, 1, 1]);
    await h.engine.idle();
    expect([...h.engine.globalWeights('t1')]).toEqual([3, 4, 5, 6]);
  });

  it("takes the configured weight: 'polynomial' counts an update τ versions behind (1+τ)^-a", async () => {
    const h = await createHarness({ rounds: { targetClients: 1, minClients: 1 }, task: asyncTask(1, { stalenessWeight: 'polynomial', stalenessExponent: 2 }) });
    await h.connect(0);
    await h.connect(1);
    // c0 commits three versions, each +1, while c1 still trains on version 0.
    for (let v = 1; v <= 3; v++) {
      sendAs(h, 0, [1, 1, 1, 1]);
      await h.engine.idle();
      h.clock.advance(0);
    }
    expect([...h.engine.globalWeights('t1')]).toEqual([4, 5, 6, 7]);

    const receipt = sendAs(h, 1, [16, 16, 16, 16]); // τ = 3: weight (1 + 3)^-2 = 1/16
    await h.engine.idle();

    expect(receipt).toMatchObject({ accepted: true, note: expect.stringContaining('staleness 3, weight 0.0625') });
    expect([...h.engine.globalWeights('t1')]).toEqual([5, 6, 7, 8]);
  });

  it('refuses an update staler than maxStaleness with STALE_UPDATE, and invites the participant again on the latest version', async () => {
    const h = await createHarness({ rounds: { targetClients: 1, minClients: 1 }, task: asyncTask(1, { maxStaleness: 0 }) });
    await h.connect(0);
    await h.connect(1);
    sendAs(h, 0, [1, 1, 1, 1]);
    await h.engine.idle();

    expect(() => sendAs(h, 1, [1, 1, 1, 1])).toThrow(expect.objectContaining({ code: 'STALE_UPDATE', message: expect.stringContaining('async.maxStaleness') }));
    h.clock.advance(0);
    expect(lastInvite(h, 1).version).toBe(1);
    expect([...h.engine.globalWeights('t1')]).toEqual([2, 3, 4, 5]);
  });

  it('refuses an update for an assignment it never gave (NOT_SELECTED) and a version the assignment was not on', async () => {
    const h = await createHarness({ rounds: { targetClients: 1, minClients: 1 }, task: asyncTask(2) });
    await h.connect(0);
    expect(() => h.send(0, [1, 1, 1, 1], { roundId: 't1-r1-a99', version: 0 })).toThrow(expect.objectContaining({ code: 'NOT_SELECTED' }));
    const inv = lastInvite(h, 0);
    expect(() => h.send(0, [1, 1, 1, 1], { roundId: inv.roundId, version: 5 })).toThrow(expect.objectContaining({ code: 'STALE_VERSION' }));
  });

  it('runs a server optimizer on each flush (FedAvgM keeps momentum between buffers)', async () => {
    const h = await createHarness({ rounds: { targetClients: 1, minClients: 1 }, strategy: { id: 'fedavgm', options: { eta: 1, momentum: 0.5 } }, task: asyncTask(1) });
    await h.connect(0);
    sendAs(h, 0, [1, 1, 1, 1]);
    await h.engine.idle();
    h.clock.advance(0);
    sendAs(h, 0, [1, 1, 1, 1]);
    await h.engine.idle();
    // v1 = v0 + 1; momentum m = 0.5 × 1 + 1 = 1.5: v2 = v1 + 1.5.
    expect([...h.engine.globalWeights('t1')]).toEqual([3.5, 4.5, 5.5, 6.5]);
  });

  it('spends one DP accountant step per flush, at the sampling rate K / population when the buffer opened: ε equals the accountant\'s after exactly 1 and 2 steps', async () => {
    const h = await createHarness({ rounds: { targetClients: 1, minClients: 1 }, strategy: { id: 'fedavg', options: { dp: { clipNorm: 10, noiseMultiplier: 1 } } }, task: asyncTask(2) });
    for (let i = 0; i < 4; i++) await h.connect(i);
    sendAs(h, 0, [0.1, 0.1, 0.1, 0.1]);
    sendAs(h, 1, [0.1, 0.1, 0.1, 0.1]);
    await h.engine.idle();
    sendAs(h, 2, [0.1, 0.1, 0.1, 0.1]);
    sendAs(h, 3, [0.1, 0.1, 0.1, 0.1]);
    await h.engine.idle();

    const versions = await h.storage.listVersions('t1', 10);
    const metrics = (v: number) => versions.find((x) => x.version === v)!.metrics;
    expect(versions.map((v) => v.version).sort()).toEqual([0, 1, 2]);
    // q = bufferSize / the members connected when the buffer opened (at least K): buffer 1 opened
    // when the task started, before anyone joined (q = 2/2), buffer 2 with the four (q = 2/4).
    const accountant = createRdpAccountant({ noiseMultiplier: 1, sampleRate: 1, delta: 1e-5 });
    accountant.step(1, 1);
    expect(metrics(1).sampleRate).toBe(1);
    expect(metrics(1).epsilon).toBeCloseTo(accountant.epsilon(), 10);
    accountant.step(1, 0.5);
    expect(metrics(2).sampleRate).toBe(0.5);
    expect(metrics(2).epsilon).toBeCloseTo(accountant.epsilon(), 10);
  });

  it('with central DP, one participant lands at most one update in a buffer: it is invited again only after the flush (without DP at once)', async () => {
    const dp = { id: 'fedavg', options: { dp: { clipNorm: 10, noiseMultiplier: 0 } } };
    const plain = await createHarness({ rounds: { targetClients: 1, minClients: 1 }, task: asyncTask(2) });
    const h = await createHarness({ rounds: { targetClients: 1, minClients: 1 }, strategy: dp, task: asyncTask(2) });
    const invites = (x: Harness, i: number) => x.transport.of('round:invite').filter((s) => s.to === `c${i}`).length;
    for (const x of [plain, h]) for (let i = 0; i < 3; i++) await x.connect(i);

    // Without DP, c0 is on its second assignment at once, into the same buffer.
    sendAs(plain, 0, [1, 1, 1, 1]);
    plain.clock.advance(0);
    expect(invites(plain, 0)).toBe(2);

    // With DP: c0 waits for the buffer to flush.
    sendAs(h, 0, [1, 1, 1, 1]);
    h.clock.advance(0);
    expect(invites(h, 0)).toBe(1);
    sendAs(h, 1, [1, 1, 1, 1]); // K = 2: the flush starts…
    sendAs(h, 2, [1, 1, 1, 1]); // …and c2's update arrives while it aggregates: held for buffer 2
    await h.engine.idle();
    h.clock.advance(0);
    expect(h.engine.summary('t1').version).toBe(1);
    // Buffer 2 holds c2's update: c0 and c1 are invited on version 1, c2 is not (yet).
    expect(lastInvite(h, 0).version).toBe(1);
    expect(lastInvite(h, 1).version).toBe(1);
    expect(invites(h, 2)).toBe(1);
    sendAs(h, 0, [1, 1, 1, 1]);
    await h.engine.idle();
    h.clock.advance(0);
    expect(h.engine.summary('t1').version).toBe(2);
    expect(lastInvite(h, 2).version).toBe(2);
    const r2 = await h.storage.listReceipts('t1', 2);
    expect(r2.filter((r) => r.accepted).map((r) => r.participantId).sort()).toEqual([h.participantId(0), h.participantId(2)].sort());
  });

  it('with central DP, clips a stale update to C before weighing it by s(τ): a clipped stale update counts s(τ)·C', async () => {
    const h = await createHarness({ rounds: { targetClients: 1, minClients: 1 }, strategy: { id: 'fedavg', options: { dp: { clipNorm: 1, noiseMultiplier: 0 } } }, task: asyncTask(1) });
    await h.connect(0);
    await h.connect(1);
    sendAs(h, 0, [0.1, 0, 0, 0]);
    await h.engine.idle();
    expect([...h.engine.globalWeights('t1')].map((x) => +x.toFixed(6))).toEqual([1.1, 2, 3, 4]);

    // Trained on version 0 (τ = 1): [3, 4] → clipped [0.6, 0.8] → × 1/√2. (Weighing first would clip back to [0.6, 0.8].)
    const receipt = sendAs(h, 1, [3, 4, 0, 0]);
    await h.engine.idle();
    expect(receipt).toMatchObject({ accepted: true, note: 'staleness 1, weight 0.707; clipped from 5.000 to 1.000 for DP' });
    const w = [...h.engine.globalWeights('t1')];
    expect(w[0]).toBeCloseTo(1.1 + 0.6 / Math.SQRT2, 6);
    expect(w[1]).toBeCloseTo(2 + 0.8 / Math.SQRT2, 6);
    expect(w.slice(2)).toEqual([3, 4]);
  });

  it('flushes a buffer that has not filled by the deadline when it holds minClients updates', async () => {
    const h = await createHarness({ rounds: { targetClients: 1, minClients: 1, deadlineMs: 1000 }, task: asyncTask(5) });
    await h.connect(0);
    sendAs(h, 0, [1, 1, 1, 1]);
    h.clock.advance(1000);
    await h.engine.idle();
    expect(h.engine.summary('t1').version).toBe(1);
  });
});

import { describe, expect, it } from 'vitest';
import { decodePayload, secAggShape, type SecAggSetup } from '@chorus/core';
import { caps, createHarness, playSecureRound, type Harness, type MaskedSent } from './engine-test-kit.js';

// K = 4 > threshold 3; rounds.minClients must also be above the threshold.
const secureAsync = (bufferSize = 4) => ({
  mode: 'async' as const,
  async: { bufferSize },
  limits: { maxUpdateNorm: 1 },
  secureAggregation: { neighbours: 4, threshold: 3, quantizationBits: 12, stageDeadlineMs: 60_000 },
});
const rounds = { targetClients: 1, minClients: 4, deadlineMs: 5_000 };
const deltas: Record<number, number[]> = {
  1: [0.1, -0.2, 0.05, 0],
  2: [0.3, 0.1, -0.1, 0.2],
  3: [-0.1, 0.2, 0.1, 0.1],
  4: [0.2, 0, 0, -0.2],
  5: [0, 0.1, 0.3, 0.1],
  6: [-0.2, 0.1, 0, 0.1],
  7: [0.1, 0.1, 0.1, 0.1],
  8: [0, -0.3, 0.2, 0],
};
const examples = (i: number) => 10 * i;
const update = (i: number) => Float32Array.from(deltas[i]!);

/** The example-weighted mean of these participants' deltas. */
function weightedMean(members: readonly number[]): number[] {
  const mean = [0, 0, 0, 0];
  let weight = 0;
  for (const i of members) {
    weight += examples(i);
    for (let k = 0; k < 4; k++) mean[k]! += examples(i) * deltas[i]![k]!;
  }
  return mean.map((v) => v / weight);
}

async function connectAll(h: Harness, count: number): Promise<Map<string, number>> {
  const byId = new Map<string, number>();
  for (let i = 1; i <= count; i++) byId.set(await h.connect(i, caps(examples(i))), i);
  return byId;
}

/** Buffer `round`'s receipts: which participants (by index) and what they say. */
async function receiptsOf(h: Harness, byId: Map<string, number>, round: number) {
  return (await h.storage.listReceipts('t1', round)).map((r) => ({ ...r, i: byId.get(r.participantId)! }));
}

/** A value of a single masked input read as if it were an honest quantized input: the centred lift of a ring element. */
function centredValues(m: MaskedSent): { values: number[]; levels: number } {
  const shape = secAggShape(m.setup as SecAggSetup);
  const values: number[] = [];
  const bits = shape.ringBits;
  for (let k = 0; k < shape.maskedLength; k++) {
    let v = 0;
    for (let b = 0; b < bits; b++) {
      const at = k * bits + b;
      if (m.masked[at >> 3]! & (1 << (at & 7))) v += 2 ** b;
    }
    values.push(v >= 2 ** (bits - 1) ? v - 2 ** bits : v);
  }
  return { values, levels: shape.levels };
}

describe("secure aggregation in mode 'async' (secure cohorts)", () => {
  it('commits versions from overlapping cohorts, each folded as its sum weighted by its staleness; the server never holds an individual update', async () => {
    // Prepare: 8 participants, concurrency 2K = 8: two cohorts of 4 start together on version 0.
    const h = await createHarness({ rounds, task: secureAsync() });
    const byId = await connectAll(h, 8);
    // Execute
    const { errors, masked } = await playSecureRound(h, { count: 8, update, examples, versions: 2 });
    // Assert: two cohorts of bufferSize were in flight on version 0 before any version was committed.
    const sent = h.transport.sent;
    const firstCommit = sent.findIndex((s) => s.event === 'model:updated');
    const onV0 = sent.filter((s, k) => s.event === 'round:invite' && s.msg.version === 0 && k < firstCommit);
    expect(onV0).toHaveLength(8);
    expect(new Set(onV0.map((s) => s.msg.roundId)).size).toBe(2);
    expect(errors.map(String)).toEqual([]);
    expect(h.engine.summary('t1').version).toBeGreaterThanOrEqual(2);
    const r1 = await receiptsOf(h, byId, 1);
    const r2 = await receiptsOf(h, byId, 2);
    expect(r1).toHaveLength(4);
    expect(r2).toHaveLength(4);
    // Version 1: the first cohort to unmask (τ = 0). Version 2: the other one, trained on version 0 (τ = 1).
    for (const r of r1) expect(r).toMatchObject({ accepted: true, l2Norm: null, bytes: 0, reason: expect.stringMatching(/^securely aggregated .*staleness 0, weight 1\.00$/) });
    for (const r of r2) expect(r).toMatchObject({ accepted: true, l2Norm: null, bytes: 0, reason: expect.stringMatching(/staleness 1, weight 0\.707$/) });
    expect(new Set([...r1, ...r2].map((r) => r.i)).size).toBe(8);
    const versions = await h.storage.listVersions('t1', 10);
    const [v0, v1, v2] = await Promise.all([0, 1, 2].map((v) => decodeVersion(h, v)));
    const step1 = weightedMean(r1.map((r) => r.i));
    const step2 = weightedMean(r2.map((r) => r.i)).map((x) => x / Math.SQRT2);
    v1.forEach((x, k) => expect(x).toBeCloseTo(v0[k]! + step1[k]!, 2));
    v2.forEach((x, k) => expect(x).toBeCloseTo(v1[k]! + step2[k]!, 2));
    expect(versions.find((v) => v.version === 2)!.metrics.client_staleness).toBe(1);
    // What the server held of each participant: a masked input whose values, read as an honest
    // quantized input, fall mostly outside the quantization range (uniform in the ring), never the update.
    expect(masked.length).toBeGreaterThanOrEqual(8);
    let outside = 0;
    let total = 0;
    for (const m of masked) {
      const { values, levels } = centredValues(m);
      outside += values.filter((v) => Math.abs(v) > levels).length;
      total += values.length;
    }
    expect(outside / total).toBeGreaterThan(0.5);
  });

  it('with central DP: each cohort counts as its survivors\' clipped, equally weighted updates, the staleness weight applied after the clip check', async () => {
    const h = await createHarness({ rounds, strategy: { id: 'fedavg', options: { dp: { clipNorm: 1, noiseMultiplier: 0 } } }, task: secureAsync() });
    const byId = await connectAll(h, 8);
    const { errors } = await playSecureRound(h, { count: 8, update, examples, versions: 2 });
    expect(errors.map(String)).toEqual([]);
    const r1 = (await receiptsOf(h, byId, 1)).map((r) => r.i);
    const r2 = (await receiptsOf(h, byId, 2)).map((r) => r.i);
    expect(r1).toHaveLength(4);
    expect(r2).toHaveLength(4);
    // Unweighted means (DP-FedAvg weighs every update 1); the second cohort trained on version 0: × 1/√2.
    const mean = (members: number[]) => [0, 1, 2, 3].map((k) => members.reduce((sum, i) => sum + deltas[i]![k]!, 0) / members.length);
    const [v0, v1, v2] = await Promise.all([0, 1, 2].map((v) => decodeVersion(h, v)));
    v1.forEach((x, k) => expect(x).toBeCloseTo(v0[k]! + mean(r1)[k]!, 2));
    v2.forEach((x, k) => expect(x).toBeCloseTo(v1[k]! + mean(r2)[k]! / Math.SQRT2, 2));
    const versions = await h.storage.listVersions('t1', 10);
    expect(versions.find((v) => v.version === 2)!.metrics).toMatchObject({ clipNorm: 1, noiseStd: 0, client_staleness: 1 });
  });

  it('a member leaving before its masked input (within the threshold): the cohort still unmasks its four survivors, and the buffer flushes at K', async () => {
    // Cohorts of K = 5: each member has 4 neighbours, so one dropout leaves everyone 3 = threshold.
    // (In a cohort of K = threshold + 1 every member needs all its neighbours: no dropout is tolerated.)
    const h = await createHarness({ rounds, task: secureAsync(5) });
    const byId = await connectAll(h, 6);
    let left: number | undefined;
    const { errors } = await playSecureRound(h, {
      count: 6,
      update,
      examples,
      // The first member to get its neighbours' shares closes its tab instead of masking.
      leavesBeforeMask: (i) => (left === undefined ? ((left = i), true) : false),
      // Freed members are invited again on the next tick of the engine's (fake) clock.
      onQuiet: () => h.clock.advance(0),
    });
    expect(errors.map(String)).toEqual([]);
    expect(h.engine.summary('t1').version).toBe(1);
    // Buffer 1: the first cohort's 4 survivors (one dropout recovered), then a cohort of the 5 still here.
    const r1 = await receiptsOf(h, byId, 1);
    const folded = r1.filter((r) => r.accepted);
    expect(folded).toHaveLength(9);
    expect(r1.filter((r) => /1 dropouts recovered/.test(r.reason ?? ''))).toHaveLength(4);
    expect(folded.map((r) => r.i)).not.toContain(left);
    const v0 = await decodeVersion(h, 0);
    const v1 = await decodeVersion(h, 1);
    const step = weightedMean(folded.map((r) => r.i));
    v1.forEach((x, k) => expect(x).toBeCloseTo(v0[k]! + step[k]!, 2));
  });

  it('a cohort that falls below the threshold is abandoned: its members are told, free again, and the next cohort commits', async () => {
    const h = await createHarness({ rounds, task: secureAsync() });
    const byId = await connectAll(h, 4);
    let firstCohort: string | undefined;
    let retried = false;
    const { errors } = await playSecureRound(h, {
      count: 4,
      update,
      examples,
      // Two of the first cohort's four never send their masked input: 2 < threshold 3.
      silentAtMask: (i, roundId) => (firstCohort ??= roundId) === roundId && i <= 2,
      onQuiet: ({ masked }) => {
        if (h.transport.of('round:cancel').length === 0) {
          if (masked.length >= 2) h.clock.advance(5_000); // the mask stage's deadline (rounds.deadlineMs)
        } else if (!retried) {
          retried = true;
          h.clock.advance(500); // the engine's retry delay before the next cohort
        }
      },
    });
    expect(errors.map(String)).toEqual([]);
    const cancels = h.transport.of('round:cancel');
    expect(cancels.map((c) => c.to).sort()).toEqual(['c1', 'c2', 'c3', 'c4']);
    for (const c of cancels) expect(c.msg).toMatchObject({ roundId: firstCohort, reason: expect.stringMatching(/^secure cohort "t1-r1-c1" abandoned: secure aggregation: only 2 participants sent masked input/) });
    // The same four were invited again, to a new cohort, and it committed their mean.
    expect(h.engine.summary('t1').version).toBe(1);
    const r1 = await receiptsOf(h, byId, 1);
    expect(r1.filter((r) => !r.accepted).map((r) => [r.i, r.code])).toEqual(expect.arrayContaining([[1, 'ROUND_CLOSED'], [2, 'ROUND_CLOSED'], [3, 'ROUND_CLOSED'], [4, 'ROUND_CLOSED']]));
    expect(r1.filter((r) => r.accepted).map((r) => r.i).sort()).toEqual([1, 2, 3, 4]);
    const v0 = await decodeVersion(h, 0);
    const v1 = await decodeVersion(h, 1);
    const step = weightedMean([1, 2, 3, 4]);
    v1.forEach((x, k) => expect(x).toBeCloseTo(v0[k]! + step[k]!, 2));
  });

  it('refuses a plain upload and a stage message from outside the cohort, with typed errors', async () => {
    const h = await createHarness({ rounds, task: secureAsync() });
    await connectAll(h, 4);
    await new Promise((r) => setTimeout(r, 100));
    const invite = h.transport.of('round:invite').find((s) => s.to === 'c1')!.msg as { roundId: string; version: number };
    expect(() => h.send(1, [0.1, 0, 0, 0], { roundId: invite.roundId, version: 0 })).toThrow(expect.objectContaining({ code: 'BAD_REQUEST', message: expect.stringContaining('securely aggregated') }));
    expect(() => h.engine.secureMessage('c1', { taskId: 't1', roundId: 'other', stage: 'advertise', message: {} })).toThrow(expect.objectContaining({ code: 'ROUND_CLOSED' }));
    expect(() => h.engine.secureMessage('c1', { taskId: 't1', roundId: invite.roundId, stage: 'advertise', message: { id: 99 } })).toThrow(/own protocol id/);
  });
});

async function decodeVersion(h: Harness, v: number): Promise<number[]> {
  return [...decodePayload((await h.storage.getVersion('t1', v))!.payload).values];
}

import { describe, expect, it } from 'vitest';
import { ChorusError, encodePayload, roundCodecSeed, type CodecId } from '@chorus/core';
import { craftInt8Payload } from '../fuzz/hostile-payloads.js';
import { LAYOUT, createHarness, invited, type Harness } from './engine-test-kit.js';

const idx = (conn: string) => Number(conn.slice(1));

function refusal(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    const e = ChorusError.from(err);
    return { code: e.code, message: e.message };
  }
  return { code: 'accepted', message: '' };
}

async function int8Round(n = 3, limits = {}): Promise<{ h: Harness; clients: number[] }> {
  const h = await createHarness({ rounds: { minAvailable: n, targetClients: n, minClients: 1, overSelection: 1 }, task: { codec: 'int8', limits } });
  for (let i = 1; i <= n; i++) await h.connect(i);
  return { h, clients: invited(h.transport).map(idx) };
}

const honest = (values: number[]) => encodePayload({ layout: LAYOUT, values: Float32Array.from(values) }, 'int8');

describe('update bounds: one participant cannot freeze or poison a task', () => {
  it('refuses an int8 update whose scales are huge but finite (3.4e38 × 127), and the task goes on', async () => {
    // Prepare
    const { h, clients } = await int8Round(2);
    const [attacker, peer] = clients;
    // Execute
    const refused = refusal(() => h.send(attacker!, craftInt8Payload(LAYOUT, 3.4e38, 127), { numExamples: 10 }));
    h.send(peer!, honest([0.5, 0.5, 0.5, 0.5]), { numExamples: 10 });
    await h.engine.idle();
    // Assert
    expect(refused.code).toBe('OUT_OF_BOUNDS');
    expect(refused.message).toMatch(/scale of chunk #0/);
    const state = () => h.engine.summary('t1');
    expect(state().version).toBe(1);
    expect(state().phase).not.toBe('aggregating');
    expect([...h.engine.globalWeights('t1')].every((v) => Math.abs(v) < 5)).toBe(true);
    const receipts = await h.storage.listReceipts('t1', 1);
    expect(receipts.find((r) => !r.accepted)).toMatchObject({ code: 'OUT_OF_BOUNDS' });
    expect(h.transport.of('round:invite').at(-1)!.msg.roundId).toBe('t1-r2');
  });

  it('refuses scale 1e25 with numExamples 2^53 − 1 (more than declared and than the task allows)', async () => {
    const { h, clients } = await int8Round(1);
    const refused = refusal(() => h.send(clients[0]!, craftInt8Payload(LAYOUT, 1e25, 1), { numExamples: Number.MAX_SAFE_INTEGER }));
    expect(refused).toMatchObject({ code: 'OUT_OF_BOUNDS', message: expect.stringMatching(/numExamples: 9007199254740991 is more than the 100 local examples/) });
  });

  it('refuses a single poisoning update (scale 1e30, values 127, 1 example) under the default FedAvg: the model stays small', async () => {
    const { h, clients } = await int8Round(2);
    const [attacker, peer] = clients;
    const refused = refusal(() => h.send(attacker!, craftInt8Payload(LAYOUT, 1e30, 127), { numExamples: 1 }));
    h.send(peer!, honest([0.1, 0.1, 0.1, 0.1]));
    await h.engine.idle();
    expect(refused.code).toBe('OUT_OF_BOUNDS');
    const largest = Math.max(...[...h.engine.globalWeights('t1')].map(Math.abs));
    expect(largest).toBeLessThan(5);
  });

  it('derives the norm bound from the model (10 × ‖global‖₂), sends it with the invite and names it in the refusal', async () => {
    // global [1, 2, 3, 4]: ‖w‖ = √30, bound = 10√30 ≈ 54.77
    const { h, clients } = await int8Round(2);
    const bound = h.transport.of('round:invite')[0]!.msg.maxUpdateNorm as number;
    expect(bound).toBeCloseTo(10 * Math.sqrt(30), 4);
    // A chunk scale under the bound, but a norm over it: 4 values of 30 → norm 60.
    const over = refusal(() => h.send(clients[0]!, craftInt8Payload(LAYOUT, 30 / 127, 127)));
    const under = refusal(() => h.send(clients[1]!, craftInt8Payload(LAYOUT, 25 / 127, 127)));
    expect(over).toMatchObject({ code: 'OUT_OF_BOUNDS', message: expect.stringMatching(/L2 norm 60\.0+ exceeds this round's bound 54\.77 \(10 × the model's size\)/) });
    expect(under.code).toBe('accepted');
  });

  it('holds updates to an operator-set maxUpdateNorm and maxExamplesPerUpdate', async () => {
    const { h, clients } = await int8Round(3, { maxUpdateNorm: 1, maxExamplesPerUpdate: 50 });
    expect(refusal(() => h.send(clients[0]!, honest([1, 1, 0, 0])))).toMatchObject({ code: 'OUT_OF_BOUNDS', message: expect.stringMatching(/limits\.maxUpdateNorm/) });
    expect(refusal(() => h.send(clients[1]!, honest([0.1, 0, 0, 0]), { numExamples: 51 }))).toMatchObject({ message: expect.stringMatching(/limits\.maxExamplesPerUpdate = 50/) });
    expect(refusal(() => h.send(clients[2]!, honest([0.1, 0, 0, 0]), { numExamples: 50 })).code).toBe('accepted');
  });

  it('refuses a float32 update with a huge finite value before it reaches the sum', async () => {
    const h = await createHarness({ rounds: { minAvailable: 1, targetClients: 1, minClients: 1, overSelection: 1 } });
    await h.connect(1);
    expect(refusal(() => h.send(1, [3e38, 0, 0, 0])).code).toBe('OUT_OF_BOUNDS');
    await h.engine.idle();
    expect(h.engine.summary('t1').version).toBe(0);
    expect(h.engine.summary('t1').phase).not.toBe('aggregating');
  });

  async function codecRound(codec: CodecId, n = 2): Promise<{ h: Harness; clients: number[] }> {
    const h = await createHarness({ rounds: { minAvailable: n, targetClients: n, minClients: 1, overSelection: 1 }, task: { codec } });
    for (let i = 1; i <= n; i++) await h.connect(i);
    return { h, clients: invited(h.transport).map(idx) };
  }

  it('top-k: folds the one carried value per update (k = 1 of 4) and refuses an index past the layout', async () => {
    const { h, clients } = await codecRound('topk');
    const sparse = encodePayload({ layout: LAYOUT, values: Float32Array.of(0, 0.2, 0, 0.1) }, 'topk');
    const hostile = sparse.slice();
    hostile[hostile.length - 1] = 4; // the index varint: 4 is past the 4-value layout
    const refused = refusal(() => h.send(clients[0]!, hostile));
    const accepted = refusal(() => h.send(clients[1]!, sparse));
    await h.engine.idle();
    expect(refused).toMatchObject({ code: 'OUT_OF_BOUNDS', message: expect.stringMatching(/index #0 is 4; the update has 4 values/) });
    expect(accepted.code).toBe('accepted');
    // global [1, 2, 3, 4] plus the one update's single carried value (0.2 at index 1).
    expect([...h.engine.globalWeights('t1')]).toEqual([1, Math.fround(2.2), 3, 4]);
  });

  it("hadamard: refuses a body rotated with another seed than the round's", async () => {
    const { h, clients } = await codecRound('hadamard4');
    const values = Float32Array.of(0.1, -0.1, 0.2, 0);
    const wrong = encodePayload({ layout: LAYOUT, values }, 'hadamard4', Math.random, { seed: 1 });
    const right = encodePayload({ layout: LAYOUT, values }, 'hadamard4', Math.random, { seed: roundCodecSeed('t1-r1') });
    expect(refusal(() => h.send(clients[0]!, wrong))).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/seed 1; this round's seed/) });
    expect(refusal(() => h.send(clients[1]!, right)).code).toBe('accepted');
  });
});

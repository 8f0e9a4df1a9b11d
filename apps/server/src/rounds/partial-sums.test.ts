import { describe, expect, it } from 'vitest';
import { createWeightedMeanAggregator, encodePayload, foldKernelAvailable, isKernelFoldTarget, parsePayload, type TensorSpec } from '@chorus/core';
import { PartialSums, partialSumUpdate } from './partial-sums.js';
import { aggregatesLinearly } from './upload-validation.js';
import { taskConfigSchema } from '@chorus/core';

const layout: TensorSpec[] = [{ name: 'w', shape: [2, 3] }];
const global = new Float32Array(6);
const ctx = { round: 1, version: 0, layout, global, selected: 4, population: 4 };
const upload = (values: number[]) => parsePayload(encodePayload({ layout, values: Float32Array.from(values) }, 'float32'), { layout, maxBytes: 1 << 20 });
const updates = [
  { participantId: 'a', numExamples: 10, values: [1, 2, 3, 4, 5, 6], metrics: { loss: 1 } },
  { participantId: 'b', numExamples: 30, values: [-1, 0, 1, 0.5, 0.25, 2], metrics: { loss: 3 } },
  { participantId: 'c', numExamples: 20, values: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], metrics: { loss: 2 } },
  { participantId: 'd', numExamples: 40, values: [4, 3, 2, 1, 0, -1], metrics: { loss: 0 } },
];

describe('partial sums (hierarchical aggregation)', () => {
  it('two processes’ partial sums merged at the coordinator give the weighted mean of every update', async () => {
    // Prepare: the mean over all four updates, folded in one aggregator.
    const direct = createWeightedMeanAggregator(ctx);
    for (const u of updates) direct.add({ participantId: u.participantId, numExamples: u.numExamples, update: upload(u.values), metrics: u.metrics });
    const want = direct.finish([])!;
    // Execute: a and b arrive at process p1, c and d at p2; each folds its own partial sum.
    const p1 = new PartialSums();
    const p2 = new PartialSums();
    for (const [sums, us] of [[p1, updates.slice(0, 2)], [p2, updates.slice(2)]] as const) {
      for (const u of us) {
        const done = sums.expect('t', 't-r1');
        sums.fold('t', 't-r1', u.participantId, layout, upload(u.values), u.numExamples, u.metrics);
        done();
      }
    }
    const merged = createWeightedMeanAggregator(ctx);
    for (const [name, sums] of [['p1', p1], ['p2', p2]] as const) {
      const partial = await sums.take('t', 't-r1');
      expect(merged.add(partialSumUpdate(`partial-sum:${name}`, layout, partial))).toEqual({ status: 'accepted' });
    }
    const got = merged.finish([])!;
    // Assert
    for (let i = 0; i < 6; i++) expect(got.delta[i]).toBeCloseTo(want.delta[i]!, 6);
    expect(got.metrics.loss).toBeCloseTo(want.metrics.loss!, 10);
    expect(got.metrics.examples).toBe(100);
  });

  it('folds int8 uploads in the SIMD kernel, as the coordinator’s own aggregator does, to the same sum', async () => {
    // Prepare: the 2NN's size, so the kernel (not the JS loop for a tail) does the work.
    const big: TensorSpec[] = [{ name: 'w', shape: [199_210] }];
    const values = (k: number) => Float32Array.from({ length: 199_210 }, (_, i) => Math.sin(i * 0.001 + k) * 0.01);
    const int8 = (k: number) => parsePayload(encodePayload({ layout: big, values: values(k) }, 'int8', () => 0.5), { layout: big, maxBytes: 1 << 22 });
    const sums = new PartialSums();
    // Execute
    for (let k = 0; k < 3; k++) sums.fold('t', 't-r1', `p${k}`, big, int8(k), 10 * (k + 1), {});
    const partial = await sums.take('t', 't-r1');
    // Assert: the sum lives in the kernel's memory, and equals Σ nᵢ·decode(uᵢ) computed plainly.
    expect(foldKernelAvailable()).toBe(true);
    expect(isKernelFoldTarget(partial.sum)).toBe(true);
    const want = new Float64Array(199_210);
    for (let k = 0; k < 3; k++) {
      const d = int8(k).decode();
      for (let i = 0; i < d.length; i++) want[i]! += d[i]! * 10 * (k + 1);
    }
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(partial.sum[i]! - want[i]!));
    expect(worst).toBeLessThan(1e-6);
  });

  it('hands a round’s sum over once, after the uploads still waiting for the coordinator settle; a new round drops the old one', async () => {
    const sums = new PartialSums();
    const done = sums.expect('t', 't-r1');
    const taken = sums.take('t', 't-r1');
    let settled = false;
    void taken.then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(settled).toBe(false);
    sums.fold('t', 't-r1', 'p', layout, upload([1, 1, 1, 1, 1, 1]), 5, {});
    done();
    expect(await taken).toMatchObject({ count: 1, examples: 5 });
    expect(await sums.take('t', 't-r1')).toMatchObject({ count: 0, examples: 0 });
    // Leftovers of round 2 go when round 3's first upload arrives.
    sums.fold('t', 't-r2', 'p', layout, upload([1, 1, 1, 1, 1, 1]), 5, {});
    sums.fold('t', 't-r3', 'p', layout, upload([2, 2, 2, 2, 2, 2]), 1, {});
    expect(await sums.take('t', 't-r2')).toMatchObject({ count: 0 });
    expect(await sums.take('t', 't-r3')).toMatchObject({ count: 1, examples: 1 });
  });

  it('answers a coordinator that says how many it admitted once those are folded, not waiting for the answers to refused uploads', async () => {
    // Prepare: two uploads admitted and one still waiting for its answer (the closed round will refuse it).
    const sums = new PartialSums();
    const waits = [sums.expect('t', 't-r1'), sums.expect('t', 't-r1'), sums.expect('t', 't-r1')];
    sums.fold('t', 't-r1', 'p', layout, upload([1, 1, 1, 1, 1, 1]), 5, {});
    waits[0]!();
    // Execute: the coordinator admitted 2 from here.
    const taken = sums.take('t', 't-r1', 2);
    let settled = false;
    void taken.then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(settled).toBe(false); // only 1 of the 2 admitted is folded yet
    sums.fold('t', 't-r1', 'p', layout, upload([2, 2, 2, 2, 2, 2]), 3, {});
    // Assert: answered with both, while the third upload's answer is still outstanding.
    expect(await taken).toMatchObject({ count: 2, examples: 8 });
    waits[1]!();
    waits[2]!();
  });

  it('hands over what is folded now, with whose updates they are, when asked for 0 (a new coordinator adopting an abandoned round)', async () => {
    // Prepare: two uploads folded, a third still waiting for an answer the dead coordinator will never give.
    const sums = new PartialSums();
    const waits = [sums.expect('t', 't-r1'), sums.expect('t', 't-r1'), sums.expect('t', 't-r1')];
    sums.fold('t', 't-r1', 'a', layout, upload([1, 1, 1, 1, 1, 1]), 5, { loss: 2 });
    sums.fold('t', 't-r1', 'b', layout, upload([3, 3, 3, 3, 3, 3]), 15, { loss: 4 });
    waits[0]!();
    waits[1]!();
    // Execute
    const adopted = await sums.take('t', 't-r1', 0);
    // Assert: both folded updates, named, at once; the sum is Σ nᵢuᵢ; nothing is left to hand over twice.
    expect(adopted).toMatchObject({ count: 2, examples: 20, participants: ['a', 'b'], metrics: { loss: { sum: 70, weight: 20 } } });
    expect([...adopted.sum]).toEqual([50, 50, 50, 50, 50, 50]);
    expect(await sums.take('t', 't-r1', 0)).toMatchObject({ count: 0, participants: [] });
    waits[2]!();
  });

  it('is used only where the round aggregate is linear in the updates', () => {
    const config = (extra: Record<string, unknown>) => taskConfigSchema.parse({ id: 't', name: 'T', data: { kind: 'tabular', inputShape: [2], numClasses: 2 }, ...extra });
    expect(aggregatesLinearly(config({}))).toBe(true);
    expect(aggregatesLinearly(config({ strategy: { id: 'fedadam', options: {} } }))).toBe(true);
    expect(aggregatesLinearly(config({ strategy: { id: 'fedavg', options: { aggregator: 'median' } } }))).toBe(false);
    expect(aggregatesLinearly(config({ strategy: { id: 'fedavg', options: { clipNorm: 1 } } }))).toBe(false);
    expect(aggregatesLinearly(config({ strategy: { id: 'fedavg', options: { dp: { noiseMultiplier: 1 } } } }))).toBe(false);
    expect(aggregatesLinearly(config({ mode: 'async' }))).toBe(false);
  });
});

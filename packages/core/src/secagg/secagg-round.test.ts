import { describe, expect, it } from 'vitest';
import { SecAggError } from './secagg-error.js';
import { secAggShape, type SecAggSetupInput } from './secagg-params.js';
import { runToUnmasking, someIds, type Dropouts, type Stage } from './secagg-round.test-helper.js';

const seed = Uint8Array.from({ length: 32 }, (_, i) => i * 7 + 1);
const setup: SecAggSetupInput = { roundId: 'r-exact', participants: 30, neighbours: 16, threshold: 7, seed, length: 300, clipNorm: 1, maxWeight: 100 };
const shape = secAggShape(setup);
const ringMask = 2 ** shape.ringBits - 1;

/** A deterministic ring input in [−levels, levels] for participant `id`. */
function ringInput(id: number): Uint32Array {
  const out = new Uint32Array(shape.maskedLength);
  for (let i = 0; i < out.length; i++) out[i] = (((id * 7919 + i * 104729) % (2 * shape.levels + 1)) - shape.levels) >>> 0;
  return out;
}

function plainSum(ids: readonly number[]): Uint32Array {
  const sum = new Uint32Array(shape.maskedLength);
  for (const id of ids) {
    const v = ringInput(id);
    for (let i = 0; i < sum.length; i++) sum[i] = sum[i]! + v[i]!;
  }
  return sum.map((v) => v & ringMask);
}

describe('SecAgg+ round: the unmasked sum is the plain sum, exactly, in the ring', () => {
  const cases: [Stage | 'none', number][] = [['none', 0]];
  for (const stage of ['advertise', 'share', 'mask', 'unmask'] as const) for (const rate of [0.1, 0.3]) cases.push([stage, rate]);

  it.each(cases)('dropping before %s at rate %s', async (stage, rate) => {
    const drops: Dropouts = stage === 'none' ? {} : { [stage]: someIds(setup.participants, rate, 3) };
    const { server, maskedBy } = await runToUnmasking(setup, (id) => ({ ring: ringInput(id) }), drops);
    const { sum, survivors, recovered } = await server.unmask();
    expect(survivors).toEqual([...maskedBy].sort((a, b) => a - b));
    const dropped = drops[stage as Stage] ?? [];
    // Who is missing from the sum is exactly who dropped before sending masked input.
    expect(survivors.length).toBe(setup.participants - (stage === 'unmask' ? 0 : dropped.length));
    if (stage === 'mask' && rate > 0) expect(recovered).toBe(dropped.length);
    expect(sum.map((v) => v & ringMask)).toEqual(plainSum(survivors));
  });

  it('10% dropping before every stage, one after another', async () => {
    const n = setup.participants;
    const drops: Dropouts = { advertise: someIds(n, 0.1, 0), share: someIds(n, 0.1, 1), mask: someIds(n, 0.1, 2), unmask: someIds(n, 0.1, 4) };
    const { server } = await runToUnmasking(setup, (id) => ({ ring: ringInput(id) }), drops);
    const { sum, survivors } = await server.unmask();
    const out = new Set([...drops.advertise!, ...drops.share!, ...drops.mask!]);
    expect(survivors).toEqual(Array.from({ length: n }, (_, i) => i + 1).filter((id) => !out.has(id)));
    expect(sum.map((v) => v & ringMask)).toEqual(plainSum(survivors));
  });
});

describe('SecAgg+ ring size', () => {
  it('holds n inputs at ±levels without wrapping, and the bound is tight', async () => {
    for (const participants of [16, 17, 18]) {
      const s: SecAggSetupInput = { ...setup, roundId: `limit-${participants}`, participants, neighbours: 8, threshold: 5, length: 10 };
      const sh = secAggShape(s);
      // 2·n·15 + 1 values: 481 and 511 fit 9 bits, 541 needs 10.
      expect(sh.ringBits).toBe(participants === 18 ? 10 : 9);
      for (const sign of [1, -1]) {
        const { server } = await runToUnmasking(s, () => ({ ring: new Uint32Array(sh.maskedLength).fill((sign * sh.levels) >>> 0) }));
        const { sum } = await server.unmask();
        const half = 2 ** (sh.ringBits - 1);
        const lifted = Array.from(sum, (v) => {
          const m = v & (2 ** sh.ringBits - 1);
          return m >= half ? m - 2 * half : m;
        });
        expect(new Set(lifted)).toEqual(new Set([sign * participants * sh.levels]));
        // One bit fewer and the extreme sum would not fit: the ring is no larger than it must be.
        expect(2 * participants * sh.levels + 1).toBeGreaterThan(half);
      }
    }
  });

  it('refuses parameters whose ring would pass 32 bits', () => {
    expect(() => secAggShape({ ...setup, participants: 100_000, quantizationBits: 16 })).toThrow(SecAggError);
  });
});

describe('SecAgg+ decodes to the weighted mean', () => {
  it('matches Σ wᵢxᵢ / Σ wᵢ up to quantization noise', async () => {
    const s: SecAggSetupInput = { ...setup, roundId: 'decode', participants: 12, neighbours: 8, threshold: 5, length: 2000, quantizationBits: 12, clipNorm: 10, maxWeight: 50 };
    const updates = Array.from({ length: s.participants }, (_, p) => Float32Array.from({ length: s.length }, (_, i) => Math.sin(i * 0.01 + p) * 0.1));
    const examples = (id: number) => 5 + id * 3;
    const drops: Dropouts = { mask: [4], unmask: [9] };
    const { server } = await runToUnmasking(s, (id) => ({ update: updates[id - 1]!, examples: examples(id) }), drops);
    const result = await server.finish();
    expect(result.included).not.toContain(4);
    let weight = 0;
    const expected = new Float64Array(s.length);
    for (const id of result.included) {
      weight += examples(id);
      for (let i = 0; i < s.length; i++) expected[i] += examples(id) * updates[id - 1]![i]!;
    }
    let err = 0;
    let norm = 0;
    for (let i = 0; i < s.length; i++) {
      err += (result.mean[i]! - expected[i]! / weight) ** 2;
      norm += (expected[i]! / weight) ** 2;
    }
    expect(Math.sqrt(err / norm)).toBeLessThan(0.05);
    expect(Math.abs(result.examples - weight) / weight).toBeLessThan(0.02);
    expect(result.report.bitsPerCoordinate).toBe(Math.ceil(Math.log2(2 * 12 * 2047 + 1)));
    expect(result.report.recoveredDropouts).toBe(1);
  });
});

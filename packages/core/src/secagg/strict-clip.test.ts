import { describe, expect, it } from 'vitest';
import { createSeededRandom, gaussian } from '../random/seeded-random.js';
import { decodeSum, quantizeUpdate } from './quantize.js';
import { buildRotation } from './rotation.js';
import { secAggShape, type SecAggSetupInput } from './secagg-params.js';

// Central DP on a secure sum needs each participant's contribution — the rounded vector the server
// decodes, not only the update before rounding — to be no longer than C.

const LENGTH = 3000;
const base: SecAggSetupInput = { roundId: 'strict', participants: 10, neighbours: 4, threshold: 3, seed: new Uint8Array(32).fill(5), length: LENGTH, clipNorm: 1, maxWeight: 1 };

function vector(norm: number, seed: number): Float32Array {
  const random = createSeededRandom(seed);
  const v = Float64Array.from({ length: LENGTH }, () => gaussian(random));
  const s = norm / Math.sqrt(v.reduce((a, x) => a + x * x, 0));
  return Float32Array.from(v, (x) => x * s);
}

/** The decoded length of one rounded input: ‖q‖ · range / levels (the rotation is orthonormal). */
function contribution(shape: ReturnType<typeof secAggShape>, q: Uint32Array): number {
  let squares = 0;
  for (let i = 0; i < shape.paddedLength; i++) squares += (q[i]! | 0) ** 2;
  return (Math.sqrt(squares) * shape.range) / shape.levels;
}

describe('strict clipping of the rounded input (central DP)', () => {
  it('never lets a rounded input be longer than C, at the default 5 bits; plain clipping does', async () => {
    const strict = secAggShape({ ...base, strictClip: true });
    const loose = secAggShape(base);
    const rotation = await buildRotation(base.seed, base.roundId, LENGTH);
    const inputs = [...Array.from({ length: 15 }, (_, i) => vector(5, i)), ...Array.from({ length: 5 }, (_, i) => vector(1, 100 + i))];
    // One value carrying the whole norm: the rotation spreads it, the clamp may cut it.
    const spike = new Float32Array(LENGTH);
    spike[7] = 3;
    inputs.push(spike);
    let strictLongest = 0;
    let looseLongest = 0;
    for (const x of inputs) {
      strictLongest = Math.max(strictLongest, contribution(strict, await quantizeUpdate(strict, rotation, x, 1)));
      looseLongest = Math.max(looseLongest, contribution(loose, await quantizeUpdate(loose, rotation, x, 1)));
    }
    expect(strictLongest).toBeLessThanOrEqual(1);
    // Without it, rounding lengthens a norm-C update beyond C: the property is not free.
    expect(looseLongest).toBeGreaterThan(1);
  });

  it('still decodes to the mean of the clipped updates, shrunk by only a few percent', async () => {
    const shape = secAggShape({ ...base, strictClip: true });
    const rotation = await buildRotation(base.seed, base.roundId, LENGTH);
    // Ten updates around one direction (as a round's updates are), each of norm 4, clipped to 1.
    const common = vector(4, 300);
    const xs = Array.from({ length: 10 }, (_, i) => {
      const own = vector(2, 200 + i);
      const v = common.map((c, k) => c + own[k]!);
      const norm = Math.sqrt(v.reduce((a, x) => a + x * x, 0));
      return v.map((x) => (x * 4) / norm);
    });
    const sum = new Uint32Array(shape.maskedLength);
    for (const x of xs) {
      const q = await quantizeUpdate(shape, rotation, x, 25);
      for (let i = 0; i < sum.length; i++) sum[i] = sum[i]! + q[i]!;
    }
    const { mean, examples } = decodeSum(shape, rotation, sum);
    // Every update weighs 1 (maxWeight 1), whatever example count it came with.
    expect(examples).toBe(10);
    const target = new Float64Array(LENGTH);
    for (const x of xs) for (let i = 0; i < LENGTH; i++) target[i] += x[i]! / 4 / 10;
    let err = 0;
    let size = 0;
    let len = 0;
    for (let i = 0; i < LENGTH; i++) {
      err += (mean[i]! - target[i]!) ** 2;
      size += target[i]! ** 2;
      len += mean[i]! ** 2;
    }
    expect(Math.sqrt(err / size)).toBeLessThan(0.1);
    expect(Math.sqrt(len)).toBeLessThanOrEqual(1);
  });
});

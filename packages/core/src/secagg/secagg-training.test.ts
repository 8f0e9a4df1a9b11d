import { describe, expect, it } from 'vitest';
import { createSeededRandom, gaussian } from '../random/seeded-random.js';
import type { SecAggSetupInput } from './secagg-params.js';
import { runToUnmasking, someIds } from './secagg-round.test-helper.js';

// Softmax regression on Gaussian blobs: small enough to train for real in a unit test, with
// updates that are genuine FedAvg deltas (a few local SGD steps on each client's own shard).
const DIM = 20;
const CLASSES = 10;
const CLIENTS = 30;
const PARAMS = DIM * CLASSES + CLASSES;

function makeData(seed: number) {
  const random = createSeededRandom(seed);
  const centres = Array.from({ length: CLASSES }, () => Float64Array.from({ length: DIM }, () => gaussian(random) * 1.2));
  const sample = (n: number) =>
    Array.from({ length: n }, () => {
      const y = Math.floor(random() * CLASSES);
      return { x: Float64Array.from(centres[y]!, (c) => c + gaussian(random)), y };
    });
  // Uneven shards (20..79 examples) so the weighting matters.
  return { shards: Array.from({ length: CLIENTS }, (_, i) => sample(20 + ((i * 37) % 60))), test: sample(2000) };
}

function logits(w: Float32Array, x: Float64Array): Float64Array {
  const out = new Float64Array(CLASSES);
  for (let c = 0; c < CLASSES; c++) {
    let s = w[DIM * CLASSES + c]!;
    for (let d = 0; d < DIM; d++) s += w[c * DIM + d]! * x[d]!;
    out[c] = s;
  }
  return out;
}

function localDelta(global: Float32Array, shard: { x: Float64Array; y: number }[]): Float32Array {
  const w = global.slice();
  for (let epoch = 0; epoch < 2; epoch++) {
    for (const { x, y } of shard) {
      const z = logits(w, x);
      const max = Math.max(...z);
      const e = z.map((v) => Math.exp(v - max));
      const sum = e.reduce((a, b) => a + b, 0);
      for (let c = 0; c < CLASSES; c++) {
        const g = e[c]! / sum - (c === y ? 1 : 0);
        for (let d = 0; d < DIM; d++) w[c * DIM + d]! -= 0.02 * g * x[d]!;
        w[DIM * CLASSES + c]! -= 0.02 * g;
      }
    }
  }
  return w.map((v, i) => v - global[i]!);
}

function accuracy(w: Float32Array, test: { x: Float64Array; y: number }[]): number {
  let right = 0;
  for (const { x, y } of test) {
    const z = logits(w, x);
    if (z.indexOf(Math.max(...z)) === y) right += 1;
  }
  return right / test.length;
}

describe('secure aggregation trains like plain FedAvg', () => {
  it('30 clients, 30% dropping after sharing keys, default 5-bit quantization: within 1 pp at equal rounds', async () => {
    const { shards, test } = makeData(7);
    const rounds = 6;
    let plain = new Float32Array(PARAMS);
    let secure = new Float32Array(PARAMS);
    for (let r = 1; r <= rounds; r++) {
      const setup: SecAggSetupInput = { roundId: `train-r${r}`, participants: CLIENTS, neighbours: 20, threshold: 11, seed: Uint8Array.from({ length: 32 }, (_, i) => (i * 31 + r) & 255), length: PARAMS, clipNorm: 5, maxWeight: 100 };
      const drops = { mask: someIds(CLIENTS, 0.3, r) };
      const { server } = await runToUnmasking(setup, (id) => ({ update: localDelta(secure, shards[id - 1]!), examples: shards[id - 1]!.length }), drops);
      const result = await server.finish();
      secure = secure.map((v, i) => v + result.mean[i]!);
      // Plain FedAvg over the same survivors, each update at full float precision.
      const mean = new Float64Array(PARAMS);
      let weight = 0;
      for (const id of result.included) {
        const delta = localDelta(plain, shards[id - 1]!);
        const n = shards[id - 1]!.length;
        weight += n;
        for (let i = 0; i < PARAMS; i++) mean[i] += n * delta[i]!;
      }
      plain = plain.map((v, i) => v + mean[i]! / weight);
    }
    const a = accuracy(plain, test);
    const b = accuracy(secure, test);
    expect(a).toBeGreaterThan(0.6);
    expect(Math.abs(a - b)).toBeLessThanOrEqual(0.01);
  });
});

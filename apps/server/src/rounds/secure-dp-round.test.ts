import { describe, expect, it } from 'vitest';
import { createSeededRandom, gaussian, type ModelUpdated } from '@chorus/core';
import { createHarness, playSecureRound, taskConfig, type Harness } from './engine-test-kit.js';

// Central DP on a securely aggregated round, through the round engine: the participants clip to
// the DP clip norm C before quantizing, every update weighs 1, and the server adds N(0, (z·C/n)²)
// to the unmasked mean. 4,096 parameters, so the noise's std can be measured.

const LENGTH = 4096;
const PEOPLE = 6;
const secure = { neighbours: 4, threshold: 3, quantizationBits: 12, stageDeadlineMs: 1_000 };
const rounds = { targetClients: PEOPLE, minClients: 4, minAvailable: PEOPLE, overSelection: 1, deadlineMs: 60_000 };

/** Participant i's update: norm 3 in its own random direction (so each is clipped to C = 1). */
function deltaOf(i: number): Float32Array {
  const random = createSeededRandom(100 + i);
  const v = Float64Array.from({ length: LENGTH }, () => gaussian(random));
  const s = 3 / Math.sqrt(v.reduce((a, x) => a + x * x, 0));
  return Float32Array.from(v, (x) => x * s);
}

/** The unweighted mean of the updates clipped to norm 1: what DP-FedAvg averages. */
function clippedMean(): Float64Array {
  const mean = new Float64Array(LENGTH);
  for (let i = 1; i <= PEOPLE; i++) {
    const d = deltaOf(i);
    for (let k = 0; k < LENGTH; k++) mean[k] += d[k]! / 3 / PEOPLE;
  }
  return mean;
}

async function secureDpHarness(dp: Record<string, unknown>): Promise<Harness> {
  const h = await createHarness({ create: false });
  const config = taskConfig(rounds, { limits: { maxUpdateNorm: 10 }, secureAggregation: secure, strategy: { id: 'fedavg', options: { dp } } });
  await h.engine.createTask({ config, topology: { class_name: 'Sequential' }, layout: [{ name: 'dense/kernel', shape: [64, 64] }], weights: new Float32Array(LENGTH) });
  await h.engine.start('t1');
  // Example counts 10·i: DP-FedAvg must ignore them.
  for (let i = 1; i <= PEOPLE; i++) await h.connect(i, { backend: 'wasm', numExamples: 10 * i });
  return h;
}

/** Every participant plays the round; participant 2 leaves after its masked input. */
async function playDpRound(h: Harness): Promise<void> {
  const { errors } = await playSecureRound(h, { count: PEOPLE, update: deltaOf, examples: (i) => 10 * i, closesTab: 2 });
  expect(errors.map(String)).toEqual([]);
}

const lastUpdate = (h: Harness) => h.transport.of('model:updated').at(-1)!.msg as unknown as ModelUpdated;

describe('central DP on a securely aggregated round', () => {
  it('without noise, commits the unweighted mean of the updates each participant clipped to C', async () => {
    const h = await secureDpHarness({ clipNorm: 1, noiseMultiplier: 0, sampleRate: 0.1 });
    await playDpRound(h);
    expect(h.engine.summary('t1').version).toBe(1);
    const global = h.engine.globalWeights('t1');
    const mean = clippedMean();
    let err = 0;
    let size = 0;
    for (let k = 0; k < LENGTH; k++) {
      err += (global[k]! - mean[k]!) ** 2;
      size += mean[k]! ** 2;
    }
    // 12-bit quantization and the strict clip's small shrink: within 1 % of the mean's length.
    expect(Math.sqrt(err / size)).toBeLessThan(0.01);
    expect(lastUpdate(h).metrics).toMatchObject({ clipNorm: 1, noiseStd: 0 });
  });

  it('adds noise of std z·C/n to the unmasked mean, and the accountant counts the round as a plain DP round', async () => {
    const dp = { clipNorm: 1, noiseMultiplier: 1.2, sampleRate: 0.1 };
    const h = await secureDpHarness(dp);
    await playDpRound(h);
    expect(h.engine.summary('t1').version).toBe(1);
    const global = h.engine.globalWeights('t1');
    const mean = clippedMean();
    const residual = Array.from(global, (v, k) => v - mean[k]!);
    const avg = residual.reduce((a, x) => a + x, 0) / LENGTH;
    const std = Math.sqrt(residual.reduce((a, x) => a + (x - avg) ** 2, 0) / LENGTH);
    // z·C/n = 1.2 / 6 = 0.2; measured over 4,096 values its own spread is about 1.1 %.
    const want = 0.2;
    expect(std).toBeGreaterThan(want * 0.95);
    expect(std).toBeLessThan(want * 1.05);
    expect(Math.abs(avg)).toBeLessThan((4 * want) / Math.sqrt(LENGTH));
    const secureMetrics = lastUpdate(h).metrics;
    expect(secureMetrics.noiseStd).toBeCloseTo(want, 12);

    // The same DP settings on a plain round (the engine's usual 4-value model, 3 updates).
    const plain = await createHarness({ rounds: { targetClients: 3, minClients: 2, minAvailable: 3 }, strategy: { id: 'fedavg', options: { dp } } });
    for (let i = 1; i <= 3; i++) await plain.connect(i);
    await new Promise((resolve) => setTimeout(resolve, 50));
    for (let i = 1; i <= 3; i++) plain.send(i, [0.1 * i, 0, 0, 0]);
    await plain.engine.idle();
    expect(plain.engine.summary('t1').version).toBe(1);
    expect(secureMetrics.epsilon).toBeGreaterThan(0);
    expect(secureMetrics.epsilon).toBe(lastUpdate(plain).metrics.epsilon);
    expect(secureMetrics.sampleRate).toBe(0.1);
  });
});

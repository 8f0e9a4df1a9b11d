import { describe, expect, it } from 'vitest';
import { runVirtualSimulation } from './virtual-simulation.js';
import { UNIFORM_DEVICE_PROFILE } from './device-profile.js';

const small = { clients: 10, rounds: 3, partition: 'shards:2', maxExamples: 50, batchSize: 10, learningRate: 0.1, evalExamples: 500 } as const;
const sameDevices = (examplesPerSec: number) => ({ ...UNIFORM_DEVICE_PROFILE, id: `same-${examplesPerSec}`, speed: { median: examplesPerSec, sigma: 0 }, uploadMbps: { median: 1e6, sigma: 0 }, downloadMbps: { median: 1e6, sigma: 0 }, latencyMs: 0 });

describe('runVirtualSimulation (real round engine on a virtual clock)', () => {
  it('is deterministic from its seed: the same seed gives the same rounds, another seed another run', async () => {
    const run = (seed: number) => runVirtualSimulation({ ...small, fraction: 0.3, seed });

    const a = await run(5);
    const b = await run(5);
    const c = await run(6);

    const facts = (r: Awaited<ReturnType<typeof run>>) => r.rounds.map((x) => [x.version, x.simulatedMs, x.participants, x.wastedUpdates, x.dropped, x.accuracy, x.loss]);
    expect(facts(a)).toEqual(facts(b));
    expect(a.final.wastedUpdates).toBe(b.final.wastedUpdates);
    expect(facts(c)).not.toEqual(facts(a));
    expect(a.rounds.map((r) => r.version)).toEqual([1, 2, 3]);
  }, 120_000);

  it('advances simulated time by the profile: 50 examples at 100 examples/s is 500 ms a round, at 20 examples/s 2500 ms', async () => {
    const fast = await runVirtualSimulation({ ...small, rounds: 2, fraction: 0.5, overSelection: 1, profile: sameDevices(100), seed: 2 });
    const slow = await runVirtualSimulation({ ...small, rounds: 2, fraction: 0.5, overSelection: 1, profile: sameDevices(20), seed: 2 });

    expect(fast.rounds.map((r) => r.simulatedMs)).toEqual([500, 1000]);
    expect(slow.rounds.map((r) => r.simulatedMs)).toEqual([2500, 5000]);
    // The wall clock did not wait for the simulated one.
    expect(slow.final.wallMs).toBeLessThan(60_000);
  }, 120_000);

  it('counts the over-selected stragglers whose work a closed round threw away', async () => {
    // 10 identical devices, 5 wanted, 10 invited (over-selection 2): the first 5 close the round, 5 are cancelled.
    const r = await runVirtualSimulation({ ...small, rounds: 2, fraction: 0.5, overSelection: 2, profile: sameDevices(100), seed: 4 });

    expect(r.rounds.map((x) => [x.participants, x.wastedUpdates])).toEqual([
      [5, 5],
      [5, 5],
    ]);
    expect(r.final).toMatchObject({ acceptedUpdates: 10, wastedUpdates: 10, stoppedBy: 'rounds' });
    expect(r.final.wastedDeviceMs).toBe(10 * 500);
  }, 120_000);
});

describe("runVirtualSimulation in mode 'async' (FedBuff)", () => {
  it('keeps every device busy, commits a version per K updates, and counts updates refused as too stale as wasted work', async () => {
    // Spread-out speeds, K = 2, nothing older than the current version accepted: the slow ones' updates come back stale.
    const r = await runVirtualSimulation({
      ...small,
      rounds: 6,
      fraction: 0.2,
      seed: 3,
      profile: { ...UNIFORM_DEVICE_PROFILE, speed: { median: 100, sigma: 1 } },
      taskExtras: { mode: 'async', async: { bufferSize: 2, maxStaleness: 0, concurrency: 10 } },
    });

    expect(r.rounds.map((x) => x.version)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(r.rounds.every((x) => x.participants === 2)).toBe(true);
    expect(r.final.refusedByCode.STALE_UPDATE).toBeGreaterThan(0);
    expect(r.final.wastedUpdates).toBe(r.final.refusedByCode.STALE_UPDATE);
    expect(r.final.acceptedUpdates).toBeGreaterThanOrEqual(12);
  }, 120_000);
});

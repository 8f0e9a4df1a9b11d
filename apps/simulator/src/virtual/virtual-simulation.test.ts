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

  it("downloads what a browser does: nothing for the seeded version 0, then one int8 difference a round (a quarter of the whole model that 'full' sends)", async () => {
    // Training and uploads take no time; downloads run at 8 Mbit/s, 1,000 bytes per simulated ms.
    const profile = { ...sameDevices(1e9), id: 'downloads', downloadMbps: { median: 8, sigma: 0 } };
    const run = (downloadCodec: 'int8' | 'full') => runVirtualSimulation({ ...small, rounds: 3, fraction: 0.5, overSelection: 1, profile, seed: 2, taskExtras: { downloadCodec } });
    const roundMs = (r: Awaited<ReturnType<typeof run>>) => r.rounds.map((x, i) => x.simulatedMs - (i ? r.rounds[i - 1]!.simulatedMs : 0));
    const difference = roundMs(await run('int8'));
    const full = roundMs(await run('full'));

    // Version 0 is rebuilt from the task's seed on every device.
    expect(difference[0]).toBeLessThan(5);
    expect(full[0]).toBeLessThan(5);
    // Later rounds: the 2NN's 199,210 weights as int8 (~200 KB, ~200 ms) against float32 (~800 KB).
    for (const ms of difference.slice(1)) expect(ms).toBeGreaterThan(195);
    for (const ms of difference.slice(1)) expect(ms).toBeLessThan(215);
    for (const [i, ms] of full.slice(1).entries()) expect(ms / difference[i + 1]!).toBeGreaterThan(3.5);
  }, 120_000);

  it('applies local DP on the devices: clipped to a tiny norm, no version moves the model', async () => {
    // Clip norm 1e-6 and no noise: each update is clipped to 1e-6, so the loss stays where it started.
    // Without local DP these rounds train (lr 0.1 on 50 examples) and the loss moves by far more.
    const r = await runVirtualSimulation({ ...small, rounds: 2, fraction: 0.5, overSelection: 1, profile: sameDevices(100), seed: 2, privacy: { localDp: { clipNorm: 1e-6, noiseMultiplier: 0 } } });
    const free = await runVirtualSimulation({ ...small, rounds: 2, fraction: 0.5, overSelection: 1, profile: sameDevices(100), seed: 2 });

    expect(Math.abs(r.rounds[1]!.loss - r.rounds[0]!.loss)).toBeLessThan(1e-4);
    expect(Math.abs(free.rounds[1]!.loss - free.rounds[0]!.loss)).toBeGreaterThan(1e-2);
  }, 120_000);

  it('has devices leave mid-round and come and go with churn, and counts each participant once in the totals', async () => {
    // Half the invitations end with the device leaving; sessions of ~1 simulated minute, ~1 minute away.
    const profile = { ...UNIFORM_DEVICE_PROFILE, id: 'churny', speed: { median: 20, sigma: 0.5 }, leaveProbability: 0.5, meanOnlineMin: 1, meanOfflineMin: 1, reconnectMin: 0.2 };
    const r = await runVirtualSimulation({ ...small, rounds: 4, fraction: 0.3, profile, seed: 8 });

    expect(r.final.dropped).toBeGreaterThan(0);
    expect(r.rounds.reduce((n, x) => n + x.dropped, 0)).toBe(r.final.dropped);
    expect(Math.min(...r.rounds.map((x) => x.online))).toBeLessThan(small.clients);
    expect(r.final.participants).toBeGreaterThan(0);
    expect(r.final.participants).toBeLessThanOrEqual(Math.min(small.clients, r.final.acceptedUpdates));
  }, 120_000);

  it('with a leave rate per minute, loses updates by how long they take', async () => {
    // Updates of a few simulated seconds: at 0.001 per minute almost never lost, at 6 per minute (10 % a second) often.
    const rare = { ...UNIFORM_DEVICE_PROFILE, id: 'rare', leaveProbability: undefined, leaveRatePerMin: 0.001 };
    const often = { ...rare, id: 'often', leaveRatePerMin: 6 };
    const [r, o] = [await runVirtualSimulation({ ...small, rounds: 2, fraction: 0.3, profile: rare, seed: 8 }), await runVirtualSimulation({ ...small, rounds: 2, fraction: 0.3, profile: often, seed: 8 })];

    expect(r.final).toMatchObject({ dropped: 0, versions: 2 });
    expect(o.final.dropped).toBeGreaterThan(0);
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

  it('is deterministic from its seed in async mode too', async () => {
    const run = (seed: number) => runVirtualSimulation({ ...small, rounds: 4, fraction: 0.2, seed, profile: { ...UNIFORM_DEVICE_PROFILE, speed: { median: 100, sigma: 1 } }, taskExtras: { mode: 'async', async: { bufferSize: 2, maxStaleness: 2, concurrency: 6 } } });

    const a = await run(5);
    const b = await run(5);
    const c = await run(6);

    const facts = (x: Awaited<ReturnType<typeof run>>) => [x.rounds.map((y) => [y.version, y.simulatedMs, y.participants, y.wastedUpdates, y.dropped, y.online, y.accuracy, y.loss]), x.final.acceptedUpdates, x.final.refusedByCode, x.final.participants];
    expect(facts(a)).toEqual(facts(b));
    expect(facts(c)).not.toEqual(facts(a));
    expect(a.rounds.map((x) => x.version)).toEqual([1, 2, 3, 4]);
  }, 120_000);
});

import { describe, expect, it } from 'vitest';
import { createSeededRandom } from '@chorus/core';
import { DEFAULT_DEVICE_PROFILE, PER_UPDATE_DROPOUT_PROFILE, drawDeviceTraits, leaveChance, resolveDeviceProfile } from './device-profile.js';

const quantile = (xs: number[], q: number): number => [...xs].sort((a, b) => a - b)[Math.floor(q * (xs.length - 1))]!;

describe('device profiles', () => {
  it('the default profile spreads training speed over at least 10× (5th to 95th percentile), uplinks slower than downlinks', () => {
    const random = createSeededRandom(7);
    const traits = Array.from({ length: 4000 }, () => drawDeviceTraits(DEFAULT_DEVICE_PROFILE, random));
    const speeds = traits.map((t) => t.examplesPerSec);

    expect(quantile(speeds, 0.95) / quantile(speeds, 0.05)).toBeGreaterThan(9);
    expect(Math.max(...speeds) / Math.min(...speeds)).toBeGreaterThan(10);
    expect(quantile(speeds, 0.5)).toBeCloseTo(100, -1);
    expect(quantile(traits.map((t) => t.uploadMbps), 0.5)).toBeLessThan(quantile(traits.map((t) => t.downloadMbps), 0.5));
    expect(DEFAULT_DEVICE_PROFILE.sources.length).toBeGreaterThan(0);
  });

  it("takes the participant page's measured examples/s: every device draws around one of them", () => {
    const profile = resolveDeviceProfile({ ...DEFAULT_DEVICE_PROFILE, speed: { median: 1, sigma: 0 } }, [40, 400]);
    const random = createSeededRandom(3);
    const speeds = new Set(Array.from({ length: 200 }, () => drawDeviceTraits(profile, random).examplesPerSec));

    expect([...speeds].sort((a, b) => a - b)).toEqual([40, 400]);
  });

  it('loses an update at a rate per minute of work by default (8 % of a 2-minute update), or with a fixed chance however short', () => {
    expect(leaveChance(DEFAULT_DEVICE_PROFILE, 120_000)).toBeCloseTo(0.08, 3);
    expect(leaveChance(DEFAULT_DEVICE_PROFILE, 2_000) / leaveChance(DEFAULT_DEVICE_PROFILE, 200)).toBeCloseTo(10, 1);
    expect(leaveChance(DEFAULT_DEVICE_PROFILE, 3_000)).toBeLessThan(0.003);
    expect(leaveChance(PER_UPDATE_DROPOUT_PROFILE, 1_000)).toBe(0.08);
    expect(leaveChance(PER_UPDATE_DROPOUT_PROFILE, 600_000)).toBe(0.08);
    const { leaveRatePerMin: _rate, ...neither } = DEFAULT_DEVICE_PROFILE;
    expect(leaveChance(resolveDeviceProfile(neither), 120_000)).toBeCloseTo(0.08, 3);
    expect(() => resolveDeviceProfile({ ...DEFAULT_DEVICE_PROFILE, leaveRatePerMin: -1 })).toThrow(/leaveRatePerMin/);
  });

  it('the per-update-dropout profile is the default with only its leaving changed', () => {
    const { id: _a, description: _b, sources: _c, leaveRatePerMin: _d, ...rest } = DEFAULT_DEVICE_PROFILE;
    expect(PER_UPDATE_DROPOUT_PROFILE).toMatchObject({ ...rest, leaveProbability: 0.08 });
    expect(PER_UPDATE_DROPOUT_PROFILE.leaveRatePerMin).toBeUndefined();
    expect(resolveDeviceProfile('per-update-dropout')).toEqual(PER_UPDATE_DROPOUT_PROFILE);
  });

  it('refuses a bad profile with INVALID_CONFIG naming the field, and an unknown id', () => {
    expect(() => resolveDeviceProfile({ ...PER_UPDATE_DROPOUT_PROFILE, leaveProbability: 2 })).toThrow(/leaveProbability/);
    // Both ways of leaving at once would leave one of them silently ignored.
    expect(() => resolveDeviceProfile({ ...DEFAULT_DEVICE_PROFILE, leaveProbability: 0.1 })).toThrow(/not both/);
    expect(() => resolveDeviceProfile('phones')).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
  });
});

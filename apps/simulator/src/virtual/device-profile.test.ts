import { describe, expect, it } from 'vitest';
import { createSeededRandom } from '@chorus/core';
import { DEFAULT_DEVICE_PROFILE, drawDeviceTraits, leaveChance, resolveDeviceProfile } from './device-profile.js';

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

  it('loses an update with a fixed chance, or with a leave rate per minute of work the longer it takes', () => {
    expect(leaveChance(DEFAULT_DEVICE_PROFILE, 1_000)).toBe(0.08);
    expect(leaveChance(DEFAULT_DEVICE_PROFILE, 600_000)).toBe(0.08);
    const hazard = resolveDeviceProfile({ ...DEFAULT_DEVICE_PROFILE, leaveRatePerMin: 0.04 });
    expect(leaveChance(hazard, 120_000)).toBeCloseTo(1 - Math.exp(-0.08), 10);
    expect(leaveChance(hazard, 2_000) / leaveChance(hazard, 200)).toBeCloseTo(10, 1);
    expect(() => resolveDeviceProfile({ ...DEFAULT_DEVICE_PROFILE, leaveRatePerMin: -1 })).toThrow(/leaveRatePerMin/);
  });

  it('refuses a bad profile with INVALID_CONFIG naming the field, and an unknown id', () => {
    expect(() => resolveDeviceProfile({ ...DEFAULT_DEVICE_PROFILE, leaveProbability: 2 })).toThrow(/leaveProbability/);
    expect(() => resolveDeviceProfile('phones')).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
  });
});

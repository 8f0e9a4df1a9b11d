import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ChorusError, describeZodError, gaussian, type RandomSource } from '@chorus/core';

const logNormalSchema = z.strictObject({
  /** The median of the distribution. */
  median: z.number().positive('must be > 0').max(1e9),
  /** σ of ln(value): 0.7 puts the 5th and 95th percentiles 10× apart. */
  sigma: z.number().min(0, 'must be ≥ 0').max(3, 'must be ≤ 3'),
});

/**
 * A population of devices as data: how fast each trains, how fast its network is, how often it
 * leaves in the middle of a round, and how long it stays online and away. The simulator draws each
 * device's figures once, from the seed.
 */
export const deviceProfileSchema = z.strictObject({
  id: z.string().min(1).max(64),
  description: z.string().max(2000).default(''),
  /** Where the numbers come from (papers, traces, the participant page). */
  sources: z.array(z.string().max(500)).default([]),
  /**
   * Local training throughput, examples per second, log-normal over devices. With
   * `measuredExamplesPerSec` (the participant page's "Speed", one figure per device seen), each
   * device takes one of those figures at random and `sigma` only jitters around it.
   */
  speed: logNormalSchema,
  measuredExamplesPerSec: z.array(z.number().positive().max(1e7)).min(1).max(100_000).optional(),
  /** Upload bandwidth, megabits per second. */
  uploadMbps: logNormalSchema,
  /** Download bandwidth, megabits per second. */
  downloadMbps: logNormalSchema,
  /** Round-trip latency added to each transfer, milliseconds. @default 100 */
  latencyMs: z.number().min(0).max(60_000).default(100),
  /**
   * Devices leave (tab closed or backgrounded, network lost) at this rate per minute of work, a
   * hazard: the chance an update is lost grows with how long it takes, 1 − exp(−rate × minutes).
   * With neither this nor `leaveProbability`, the default profile's rate. @default 0.0417
   */
  leaveRatePerMin: z.number().min(0).max(1000).optional(),
  /**
   * Instead of `leaveRatePerMin`: a fixed probability that a device drops out during an update,
   * however long the update takes (a 2-second update as risky as a 2-minute one). The
   * `per-update-dropout` profile keeps the 8 % the default profile used before December 2026.
   */
  leaveProbability: z.number().min(0).max(1).optional(),
  /**
   * A device that dropped out comes back after this long on average (minutes, exponential), unless
   * its session ends first; the end of a session is the churn below. @default 2
   */
  reconnectMin: z.number().min(0).max(1e6).default(2),
  /**
   * Arrival and departure churn: each device alternates online and offline spells, exponentially
   * distributed with these means (minutes). `meanOfflineMin` 0: always online between drops. @default 30 / 30
   */
  meanOnlineMin: z.number().positive().max(1e6).default(30),
  meanOfflineMin: z.number().min(0).max(1e6).default(30),
}).refine((p) => p.leaveRatePerMin === undefined || p.leaveProbability === undefined, {
  message: 'give either leaveRatePerMin (a rate per minute of work) or leaveProbability (a share of updates), not both',
  path: ['leaveProbability'],
});
export type DeviceProfile = z.infer<typeof deviceProfileSchema>;
export type DeviceProfileInput = z.input<typeof deviceProfileSchema>;

/** 8 % over a 2-minute update: 1 − exp(−0.0417 × 2) ≈ 0.08. */
export const DEFAULT_LEAVE_RATE_PER_MIN = 0.0417;

/**
 * The default population. Its numbers, and where they come from:
 * - speed: median 100 examples/s, σ 0.7 (5th–95th percentile 10× apart). The spread follows the
 *   FedScale / Oort device traces (FedScale's compute traces come from AI Benchmark, where phones
 *   differ by more than 10×). The median is an assumption for phone-class browsers, not a
 *   measurement: it is set below what desktop Chromium reaches here (bench/README.md "browser"
 *   records a few hundred examples/s on tfjs-wasm, e2e/backends.e2e.ts prints them), because most
 *   web visitors are on phones; we have no measured phone figure for the 2NN to cite. For a real
 *   population, collect the participant page's "Speed" (examples/s, the `samplesPerSecond` each
 *   participant reports with its capabilities) and pass them as `--measured-speeds 120,45,300` or
 *   `measuredExamplesPerSec` in a profile JSON.
 * - bandwidth: upload median 2 Mbit/s, download 10 Mbit/s, σ 0.8 — mobile figures of the MobiPerf
 *   traces that FedScale ships (uplink several times slower than downlink).
 * - leaving mid-round: 0.0417 per minute of work, 8 % over a 2-minute update — Bonawitz et al.
 *   2019 report that 6–10 % of the devices selected for a round drop out, in rounds of minutes.
 *   The paper gives a share per round, not per minute, so reading it as a rate over ~2 minutes is
 *   an assumption. Until December 2026 this profile lost a fixed 8 % of every update however
 *   short (the `per-update-dropout` profile keeps it): with updates of 1–5 s, that sent a device
 *   away every ~30 simulated seconds and drained half the online pool in two minutes, a
 *   population no trace describes (bench/README.md, "selection"). A device that left reconnects
 *   after 2 minutes on average (an assumption: a reload, a network coming back).
 * - churn: 30 minutes online, 30 away on average (half the population available at any time): an
 *   assumption for web visitors, not a measurement; Bonawitz et al. 2019 see availability vary
 *   several-fold over a day.
 */
export const DEFAULT_DEVICE_PROFILE: DeviceProfile = deviceProfileSchema.parse({
  id: 'default',
  description: 'Web visitors on phones and laptops: 10× spread in training speed, mobile uplinks, leaving at 4 % per minute of work (8 % of a 2-minute update), 30 min on / 30 min away.',
  sources: [
    'speed spread: Lai et al. 2022, FedScale (AI Benchmark device traces); Lai et al. 2021, Oort',
    'bandwidth: MobiPerf measurements as packaged by FedScale',
    'mid-round dropout 6-10% of a round of minutes, read as 0.0417 per minute of work: Bonawitz et al. 2019, Towards Federated Learning at Scale',
    'churn 30/30 min: assumption (web visits), not measured',
    'median speed 100 examples/s: assumption for phone-class browsers (below the desktop tfjs-wasm figures in bench/README.md), not measured; use --measured-speeds with participant-page figures for a real population',
  ],
  speed: { median: 100, sigma: 0.7 },
  uploadMbps: { median: 2, sigma: 0.8 },
  downloadMbps: { median: 10, sigma: 0.8 },
  latencyMs: 100,
  leaveRatePerMin: DEFAULT_LEAVE_RATE_PER_MIN,
  reconnectMin: 2,
  meanOnlineMin: 30,
  meanOfflineMin: 30,
});

/**
 * The default profile as it was until December 2026: a fixed 8 % of every update is lost, however
 * short. Kept so the figures measured on it can be reproduced (`--profile per-update-dropout`).
 */
const { leaveRatePerMin: _defaultRate, ...defaultButLeaving } = DEFAULT_DEVICE_PROFILE;
export const PER_UPDATE_DROPOUT_PROFILE: DeviceProfile = deviceProfileSchema.parse({
  ...defaultButLeaving,
  id: 'per-update-dropout',
  description: 'The default profile, except that 8 % of every update is lost however long it takes (the default until December 2026).',
  sources: [...DEFAULT_DEVICE_PROFILE.sources.filter((s) => !s.startsWith('mid-round')), 'mid-round dropout 6-10%: Bonawitz et al. 2019, applied to every update whatever its length'],
  leaveProbability: 0.08,
});

/** A lab-like population (every device equal, never leaving): the control for the heterogeneous one. */
export const UNIFORM_DEVICE_PROFILE: DeviceProfile = deviceProfileSchema.parse({
  id: 'uniform',
  description: 'Identical devices that never leave: no heterogeneity (a control).',
  sources: ['none: a control'],
  speed: { median: 100, sigma: 0 },
  uploadMbps: { median: 10, sigma: 0 },
  downloadMbps: { median: 10, sigma: 0 },
  latencyMs: 50,
  leaveProbability: 0,
  meanOnlineMin: 1e6,
  meanOfflineMin: 0,
});

export const BUILT_IN_PROFILES: Readonly<Record<string, DeviceProfile>> = {
  default: DEFAULT_DEVICE_PROFILE,
  'per-update-dropout': PER_UPDATE_DROPOUT_PROFILE,
  uniform: UNIFORM_DEVICE_PROFILE,
};

/** A built-in profile by id, a JSON file's path, or a profile object; INVALID_CONFIG names what is wrong. */
export function resolveDeviceProfile(spec: string | DeviceProfileInput, measured?: readonly number[]): DeviceProfile {
  let raw: unknown = spec;
  if (typeof spec === 'string') {
    if (BUILT_IN_PROFILES[spec]) raw = BUILT_IN_PROFILES[spec];
    else if (spec.endsWith('.json')) {
      try {
        raw = JSON.parse(readFileSync(spec, 'utf8'));
      } catch (err) {
        throw new ChorusError('INVALID_CONFIG', `profile: could not read ${spec}: ${(err as Error).message}`);
      }
    } else throw new ChorusError('INVALID_CONFIG', `profile: expected ${Object.keys(BUILT_IN_PROFILES).join(' | ')} or a .json file, got ${JSON.stringify(spec)}`);
  }
  const parsed = deviceProfileSchema.safeParse(measured ? { ...(raw as object), measuredExamplesPerSec: [...measured] } : raw);
  if (!parsed.success) throw new ChorusError('INVALID_CONFIG', `profile: ${describeZodError(parsed.error)}`);
  return parsed.data;
}

/** One device's figures, drawn once. */
export interface DeviceTraits {
  readonly examplesPerSec: number;
  readonly uploadMbps: number;
  readonly downloadMbps: number;
}

const logNormal = (d: { median: number; sigma: number }, random: RandomSource): number => d.median * Math.exp(d.sigma * gaussian(random));

export function drawDeviceTraits(profile: DeviceProfile, random: RandomSource): DeviceTraits {
  const measured = profile.measuredExamplesPerSec;
  const base = measured ? { median: measured[Math.floor(random() * measured.length)]!, sigma: profile.speed.sigma } : profile.speed;
  return { examplesPerSec: logNormal(base, random), uploadMbps: logNormal(profile.uploadMbps, random), downloadMbps: logNormal(profile.downloadMbps, random) };
}

/** The chance a device leaves during `workMs` of work: its fixed per-update probability when it has one, else its rate per minute (the default rate when it gives neither). */
export function leaveChance(profile: DeviceProfile, workMs: number): number {
  if (profile.leaveProbability !== undefined) return profile.leaveProbability;
  return 1 - Math.exp(-(profile.leaveRatePerMin ?? DEFAULT_LEAVE_RATE_PER_MIN) * (workMs / 60_000));
}

/** Milliseconds to move `bytes` at `mbps`, plus the latency. */
export function transferMs(bytes: number, mbps: number, latencyMs: number): number {
  return latencyMs + (bytes * 8) / (mbps * 1000);
}

/** An exponential draw with this mean (inverse transform; 1 - u keeps log away from 0). */
export function exponential(mean: number, random: RandomSource): number {
  return -mean * Math.log(1 - random());
}

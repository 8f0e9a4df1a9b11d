import { resolveDeviceProfile, runVirtualSimulation, type VirtualRoundReport, type VirtualSimulationInput, type VirtualSimulationResult } from '@chorus/simulator';

/**
 * The population both heterogeneity benchmarks (async, selection) run on: the default device
 * profile, 2NN on shards:2 (two digits per device), 10 updates wanted per version. Each device
 * trains on `maxExamples` of its digits per update (reduced from the paper's 600 to keep the run
 * to minutes on two shared cores: the virtual clock makes simulated time free, the real tfjs
 * training is not).
 */
export const POPULATION = {
  clients: Number(process.env.HETERO_CLIENTS ?? 100),
  model: 'mnist-2nn',
  partition: 'shards:2',
  fraction: 0.1,
  localEpochs: 1,
  batchSize: 10,
  learningRate: 0.05,
  maxExamples: Number(process.env.HETERO_MAX_EXAMPLES ?? 60),
  codec: 'int8',
  seed: Number(process.env.HETERO_SEED ?? 1),
  deadlineMs: 120_000,
  evalExamples: Number(process.env.HETERO_EVAL_EXAMPLES ?? 2000),
  profile: process.env.HETERO_PROFILE ?? 'default',
} as const satisfies VirtualSimulationInput;

/** Simulated minutes until a version first scores at least `target`, or null when none did. */
export function minutesTo(rounds: readonly VirtualRoundReport[], target: number): number | null {
  const hit = rounds.find((r) => r.accuracy >= target);
  return hit ? Math.round((hit.simulatedMs / 60_000) * 1000) / 1000 : null;
}

export interface RunSummary {
  readonly minutesToTarget: number | null;
  readonly versions: number;
  readonly finalAccuracy: number;
  /** Simulated time the run covered, and the wall time it took: the virtual clock's real throughput. */
  readonly simulatedMinutes: number;
  readonly wallMinutes: number;
  /** Simulated minutes per wall minute (below 1: the run took longer than the time it simulated). */
  readonly simulatedPerWallMinute: number;
  /** Distinct devices with at least one accepted update. */
  readonly participants: number;
  readonly acceptedUpdates: number;
  readonly wastedUpdates: number;
  readonly dropped: number;
  readonly refusedByCode: Readonly<Record<string, number>>;
}

export async function runAndSummarize(label: string, input: VirtualSimulationInput, target: number): Promise<RunSummary & { rounds: VirtualRoundReport[] }> {
  process.stderr.write(`${label}: running…\n`);
  const result: VirtualSimulationResult = await runVirtualSimulation({ ...POPULATION, ...input }, (r) => {
    if (r.version % 10 === 0) process.stderr.write(`  ${label} v${r.version} acc ${(r.accuracy * 100).toFixed(1)}% at ${(r.simulatedMs / 60_000).toFixed(2)} simulated min (${(r.wallMs / 1000).toFixed(0)} s wall)\n`);
  });
  const f = result.final;
  const summary = {
    minutesToTarget: minutesTo(result.rounds, target),
    versions: f.versions,
    finalAccuracy: Math.round(f.accuracy * 10_000) / 10_000,
    simulatedMinutes: Math.round((f.simulatedMs / 60_000) * 1000) / 1000,
    wallMinutes: Math.round((f.wallMs / 60_000) * 1000) / 1000,
    simulatedPerWallMinute: f.wallMs > 0 ? Math.round((f.simulatedMs / f.wallMs) * 1000) / 1000 : 0,
    participants: f.participants,
    acceptedUpdates: f.acceptedUpdates,
    wastedUpdates: f.wastedUpdates,
    dropped: f.dropped,
    refusedByCode: f.refusedByCode,
  };
  process.stderr.write(`${label}: ${JSON.stringify(summary)}\n`);
  return { ...summary, rounds: result.rounds };
}

/** What a benchmark prints about its population, so a figure can be reproduced (the seeds it ran are printed beside it). */
export function populationFacts(): Record<string, unknown> {
  const { profile: _id, seed: _seed, ...rest } = POPULATION;
  return { profile: resolveDeviceProfile(POPULATION.profile), ...rest };
}

/** How many times sooner `faster` reached the target than `baseline`, or null when either never did. */
export function speedupOf(baseline: RunSummary, faster: RunSummary): number | null {
  return baseline.minutesToTarget !== null && faster.minutesToTarget !== null ? baseline.minutesToTarget / faster.minutesToTarget : null;
}

/**
 * The seeds a benchmark runs on: `variable` (comma-separated), else `HETERO_SEED` alone when set,
 * else 1…`count`. On two-digit shards the first time a curve crosses its target moves as much
 * between seeds as between methods, so one seed's ratio says little (bench/README.md, "selection").
 */
export function benchSeeds(variable: string, count: number): number[] {
  const raw = process.env[variable] ?? (process.env.HETERO_SEED ? String(POPULATION.seed) : Array.from({ length: count }, (_, i) => i + 1).join(','));
  return raw.split(',').map((s) => {
    const n = Number(s.trim());
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${variable}: "${s}" is not a seed (a whole number ≥ 0)`);
    return n;
  });
}

export const round2 = (x: number): number => Math.round(x * 100) / 100;

/** Per-seed ratios summarized: geometric mean (the headline), median, and how many there were. */
export function summarizeRatios(ratios: readonly number[]): { geometricMean: number | null; median: number | null; count: number } {
  if (ratios.length === 0) return { geometricMean: null, median: null, count: 0 };
  const sorted = [...ratios].sort((a, b) => a - b);
  return {
    geometricMean: round2(Math.exp(ratios.reduce((a, r) => a + Math.log(r), 0) / ratios.length)),
    median: round2(sorted[Math.floor((sorted.length - 1) / 2)]!),
    count: ratios.length,
  };
}

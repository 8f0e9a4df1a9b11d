/**
 * FedBuff against synchronous FedAvg on a heterogeneous population, in simulated time: the real
 * round engine on the virtual clock (apps/simulator --virtual-clock), the default device profile
 * (10× speed spread, mobile uplinks, 8% drop out mid-update, churn), 100 devices, 2NN on shards:2.
 *
 *   npm run bench -- async          (or: npx tsx bench/async.ts)
 *
 * Sync: FedAvg rounds of 10 with over-selection 1.3 (the round closes at the 10th update, the
 * stragglers' work is thrown away). Async: mode 'async', buffer K = `ASYNC_BUFFER` (5),
 * `ASYNC_CONCURRENCY` (40) devices training at once, staleness weight 1/√(1+τ), updates more than 20
 * versions behind refused. K and the concurrency were chosen on seeds 6–10 (bench/README.md,
 * "async"), so the default seeds 1–5 were not used to pick them.
 * On each of `ASYNC_SEEDS` (default 1–5; `HETERO_SEED` alone runs that one), sync's simulated
 * minutes to `ASYNC_TARGET` (0.75) test accuracy ÷ async's; `asyncSpeedup` is their geometric mean
 * (target ≥ 2), `bySeed` every seed's runs. Both stop at the target or after `ASYNC_BUDGET_MIN` (20)
 * simulated minutes.
 */
import { POPULATION, benchSeeds, populationFacts, round2, runAndSummarize, speedupOf, summarizeRatios } from './heterogeneous-population.js';

const TARGET = Number(process.env.ASYNC_TARGET ?? 0.75);
const BUDGET_MIN = Number(process.env.ASYNC_BUDGET_MIN ?? 20);
const CONCURRENCY = Number(process.env.ASYNC_CONCURRENCY ?? 40);
const BUFFER = Number(process.env.ASYNC_BUFFER ?? 5);
const SEEDS = benchSeeds('ASYNC_SEEDS', 5);

export async function run(): Promise<Record<string, unknown>> {
  const common = { rounds: 100_000, targetAccuracy: TARGET, timeBudgetMin: BUDGET_MIN };
  const asyncOptions = { bufferSize: BUFFER, concurrency: CONCURRENCY, maxStaleness: 20, stalenessWeight: 'sqrt' } as const;
  const strip = ({ rounds: _r, ...s }: Awaited<ReturnType<typeof runAndSummarize>>) => s;
  const bySeed: Record<string, unknown>[] = [];
  const ratios: number[] = [];
  for (const seed of SEEDS) {
    const sync = await runAndSummarize(`seed ${seed}, sync FedAvg (over-selection 1.3)`, { ...common, seed, overSelection: 1.3 }, TARGET);
    const asyncRun = await runAndSummarize(`seed ${seed}, FedBuff (K=${BUFFER}, concurrency ${CONCURRENCY})`, { ...common, seed, taskExtras: { mode: 'async', async: asyncOptions } }, TARGET);
    const speedup = speedupOf(sync, asyncRun);
    if (speedup !== null) ratios.push(speedup);
    bySeed.push({ seed, sync: strip(sync), async: strip(asyncRun), speedup: speedup === null ? null : round2(speedup) });
  }
  const summary = summarizeRatios(ratios);
  return {
    population: populationFacts(),
    seeds: SEEDS,
    targetAccuracy: TARGET,
    budgetMin: BUDGET_MIN,
    sync: { overSelection: 1.3, targetClients: Math.round(POPULATION.fraction * POPULATION.clients) },
    async: asyncOptions,
    bySeed,
    asyncSpeedup: summary.geometricMean,
    asyncSpeedupMedian: summary.median,
    seedsReachingTarget: summary.count,
    asyncSpeedupTarget: 2,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  run().then((r) => process.stdout.write(`${JSON.stringify({ benchmark: 'async', ...r })}\n`));
}

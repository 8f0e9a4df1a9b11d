/**
 * FedBuff against synchronous FedAvg on a heterogeneous population, in simulated time: the real
 * round engine on the virtual clock (apps/simulator --virtual-clock), the default device profile
 * (10× speed spread, mobile uplinks, 8% drop out mid-update, churn), 100 devices, 2NN on shards:2.
 *
 *   npm run bench -- async          (or: npx tsx bench/async.ts)
 *
 * Sync: FedAvg rounds of 10 with over-selection 1.3 (the round closes at the 10th update, the
 * stragglers' work is thrown away). Async: mode 'async', buffer K = 10, `ASYNC_CONCURRENCY` (40)
 * devices training at once, staleness weight 1/√(1+τ), updates more than 20 versions behind refused.
 * `asyncSpeedup` = sync's simulated minutes to `ASYNC_TARGET` (0.75) test accuracy ÷ async's
 * (target ≥ 2). Both stop at the target or after `ASYNC_BUDGET_MIN` (20) simulated minutes.
 */
import { POPULATION, populationFacts, runAndSummarize } from './heterogeneous-population.js';

const TARGET = Number(process.env.ASYNC_TARGET ?? 0.75);
const BUDGET_MIN = Number(process.env.ASYNC_BUDGET_MIN ?? 20);
const CONCURRENCY = Number(process.env.ASYNC_CONCURRENCY ?? 40);
const BUFFER = Number(process.env.ASYNC_BUFFER ?? 10);

export async function run(): Promise<Record<string, unknown>> {
  const common = { rounds: 100_000, targetAccuracy: TARGET, timeBudgetMin: BUDGET_MIN };
  const sync = await runAndSummarize('sync FedAvg (over-selection 1.3)', { ...common, overSelection: 1.3 }, TARGET);
  const asyncRun = await runAndSummarize(`FedBuff (K=${BUFFER}, concurrency ${CONCURRENCY})`, { ...common, taskExtras: { mode: 'async', async: { bufferSize: BUFFER, concurrency: CONCURRENCY, maxStaleness: 20, stalenessWeight: 'sqrt' } } }, TARGET);
  const speedup = sync.minutesToTarget !== null && asyncRun.minutesToTarget !== null ? Math.round((sync.minutesToTarget / asyncRun.minutesToTarget) * 100) / 100 : null;
  const strip = ({ rounds: _r, ...s }: typeof sync) => s;
  return {
    population: populationFacts(),
    seeds: { population: POPULATION.seed },
    targetAccuracy: TARGET,
    budgetMin: BUDGET_MIN,
    sync: { overSelection: 1.3, targetClients: Math.round(POPULATION.fraction * POPULATION.clients), ...strip(sync) },
    async: { bufferSize: BUFFER, concurrency: CONCURRENCY, maxStaleness: 20, stalenessWeight: 'sqrt', ...strip(asyncRun) },
    asyncSpeedup: speedup,
    asyncSpeedupTarget: 2,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  run().then((r) => process.stdout.write(`${JSON.stringify({ benchmark: 'async', ...r })}\n`));
}

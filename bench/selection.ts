/**
 * Client selection on a heterogeneous population, in simulated time: uniform random against the
 * Oort-style policy, synchronous FedAvg rounds of 10 with over-selection 1.3, on the same devices
 * (the default profile, 100 devices, 2NN on shards:2; the real round engine on the virtual clock).
 *
 *   npm run bench -- selection          (or: npx tsx bench/selection.ts)
 *
 * Oort runs with `SELECTION_OORT_OPTIONS` (JSON, default {"fairness":0.5,"durationQuantile":0.3}). Each policy runs for `SELECTION_BUDGET_MIN` (2.5) simulated minutes. `selectionSpeedup` = uniform's
 * simulated minutes to `SELECTION_TARGET` (0.75) test accuracy ÷ Oort's (target ≥ 1.5);
 * `accuracyAtBudget` is what each reached when the budget ran out.
 */
import { POPULATION, populationFacts, runAndSummarize } from './heterogeneous-population.js';

const TARGET = Number(process.env.SELECTION_TARGET ?? 0.75);
const BUDGET_MIN = Number(process.env.SELECTION_BUDGET_MIN ?? 2.5);
/**
 * Oort's options here: fairness 0.5, durationQuantile 0.3. Chosen on seeds 1 and 3 among four
 * settings after Oort's exploration and reliability changed (bench/README.md, "selection", lists
 * them and the out-of-sample seeds): on two-digit shards, pure utility keeps inviting the same fast
 * devices and the model sees too few digits per round.
 */
const OORT_OPTIONS = JSON.parse(process.env.SELECTION_OORT_OPTIONS ?? '{"fairness":0.5,"durationQuantile":0.3}') as Record<string, unknown>;

export async function run(): Promise<Record<string, unknown>> {
  const common = { rounds: 100_000, timeBudgetMin: BUDGET_MIN, overSelection: 1.3 };
  const uniform = await runAndSummarize('uniform random', { ...common, selection: { id: 'uniform', options: {} } }, TARGET);
  const oort = await runAndSummarize('Oort', { ...common, selection: { id: 'oort', options: OORT_OPTIONS } }, TARGET);
  const speedup = uniform.minutesToTarget !== null && oort.minutesToTarget !== null ? Math.round((uniform.minutesToTarget / oort.minutesToTarget) * 100) / 100 : null;
  const strip = ({ rounds: _r, ...s }: typeof uniform) => s;
  return {
    population: populationFacts(),
    seeds: { population: POPULATION.seed },
    targetAccuracy: TARGET,
    budgetMin: BUDGET_MIN,
    uniform: strip(uniform),
    oort: { options: OORT_OPTIONS, ...strip(oort) },
    accuracyAtBudget: { uniform: uniform.finalAccuracy, oort: oort.finalAccuracy },
    selectionSpeedup: speedup,
    selectionSpeedupTarget: 1.5,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  run().then((r) => process.stdout.write(`${JSON.stringify({ benchmark: 'selection', ...r })}\n`));
}

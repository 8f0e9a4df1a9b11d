/**
 * FedAvg vs FedSGD (McMahan et al. 2017, Table 2 in miniature): communication rounds until the
 * global 2NN reaches a target test accuracy, 100 clients, C = 0.1, on IID and pathological non-IID
 * (2 label shards per client) splits of our 8,000-example MNIST training set (80 examples per
 * client; 2,000 held out for the test accuracy). Everything goes through the real server and
 * Socket.IO via the simulator.
 *
 *   npm run bench -- fedavg            (or: npx tsx bench/fedavg.ts)
 *
 * Methodology, as in the paper (Section 3: "for each … we choose the optimal learning rate from a
 * grid"): each method and partition runs a small grid of client learning rates, each run stopping at
 * the target or its round cap, and the best (fewest rounds) counts. A fixed lr shared by both
 * methods would measure the lr, not the algorithm. Later grid points are capped at the best count
 * so far (they cannot beat it), so a grid entry ">=N" means "not better than N".
 *
 * Grids and target from exploring (November 2026, lr alone varied, rounds to 0.85 / 0.88 / 0.90):
 * - FedSGD (E = 1, full batch of 80, one step per client per round): lr 2 diverges (8.7 % after 70
 *   rounds), lr 1 oscillates (61 % at best in 70); IID lr 0.5: 28 / 38 / 55, lr 0.3: 34 / 49 / 61;
 *   shards:2 lr 0.5: 52 / 72 / 96. So the grid is {0.5, 0.3}: the largest stable rate and one below.
 * - FedAvg (E = 5, B = 10, 40 local steps per round): IID lr 0.1: 4 / 7 / 10; shards:2 lr 0.1:
 *   18 / 31 / 48, lr 0.05: 29 to 0.85. 0.1 beat 0.05, so the grid is {0.1, 0.2} to bracket it from above.
 * - Target 0.88: both methods reach it on shards:2 (and 0.90 too, but that doubles the runtime past
 *   15 minutes). The ratios do not grow with the target here (0.85: 7× IID, 2.9× non-IID; 0.90:
 *   5.5×, 2.0×); 0.88 is picked because FedAvg IID needs only 4 rounds to 0.85, too coarse a
 *   denominator, and 0.88 is nearer the 2NN's ceiling on 8,000 examples, as the paper's 97 % was.
 *   Our ratios stay below the paper's (CNN IID: 626 vs 20 rounds): with 80 examples per client
 *   FedAvg takes only 40 local steps per round, where the paper's clients held 600.
 *
 * Progress goes to stderr; the result is one JSON object (the last stdout line when run directly).
 * Environment knobs: FEDAVG_TARGET (accuracy), FEDAVG_CAP_AVG, FEDAVG_CAP_SGD (round caps),
 * FEDAVG_LR_AVG, FEDAVG_LR_SGD (comma-separated learning rates replacing that method's grid; one
 * value each is a quick look: `FEDAVG_LR_AVG=0.1 FEDAVG_LR_SGD=0.5 npm run bench -- fedavg`).
 */
import { runSimulation, type SimulationOptions } from '@chorus/simulator';

const TARGET = Number(process.env.FEDAVG_TARGET ?? 0.88);
const CAP_FEDAVG = Number(process.env.FEDAVG_CAP_AVG ?? 60);
const CAP_FEDSGD = Number(process.env.FEDAVG_CAP_SGD ?? 120);

/** Learning-rate grids, most promising first so later points can be capped at the best so far. */
const GRID_AVG = lrList(process.env.FEDAVG_LR_AVG, [0.1, 0.2]);
const GRID_SGD = lrList(process.env.FEDAVG_LR_SGD, [0.5, 0.3]);

function lrList(text: string | undefined, fallback: number[]): number[] {
  if (text === undefined || text.trim() === '') return fallback;
  const values = text.split(',').map(Number);
  if (values.some((v) => !(v > 0 && v <= 10))) throw new Error(`fedavg: learning rates must be numbers in (0, 10], got "${text}"`);
  return values;
}

const COMMON: Partial<SimulationOptions> = {
  clients: 100,
  fraction: 0.1,
  model: 'mnist-2nn',
  // Full precision, so the comparison is about the algorithm, not quantization noise.
  codec: 'float32',
  seed: 1,
  targetAccuracy: TARGET,
  // Every selected client answers within seconds here; a short deadline keeps one lost client from
  // stalling a round for minutes (the quorum of 5 then closes it).
  deadlineMs: 60_000,
};

/** FedAvg: E = 5 local epochs of minibatch SGD, B = 10. */
const FEDAVG: Partial<SimulationOptions> = { localEpochs: 5, batchSize: 10, rounds: CAP_FEDAVG };
/** FedSGD: one full-batch gradient step per client per round (E = 1, B = ∞). */
const FEDSGD: Partial<SimulationOptions> = { localEpochs: 1, batchSize: 'full', rounds: CAP_FEDSGD };

interface Outcome {
  learningRate: number;
  /** Rounds to reach the target, or the rounds run when it was not reached. */
  rounds: number;
  reached: boolean;
  finalAccuracy: number;
  seconds: number;
}

async function roundsToTarget(label: string, options: Partial<SimulationOptions>, cap: number): Promise<Outcome> {
  const started = performance.now();
  let last = { round: 0, accuracy: 0 };
  for await (const r of runSimulation({ ...COMMON, ...options, rounds: cap })) {
    last = r;
    if (r.round === 1 || r.round % 10 === 0 || r.accuracy >= TARGET) {
      process.stderr.write(`[fedavg] ${label}: round ${r.round} accuracy ${(r.accuracy * 100).toFixed(2)}% (${((performance.now() - started) / 1000).toFixed(0)} s)\n`);
    }
  }
  const reached = last.accuracy >= TARGET;
  const seconds = Math.round((performance.now() - started) / 100) / 10;
  process.stderr.write(`[fedavg] ${label}: ${reached ? `reached ${TARGET} in ${last.round} rounds` : `not reached in ${last.round} rounds`} (${seconds} s)\n`);
  return { learningRate: options.learningRate!, rounds: last.round, reached, finalAccuracy: last.accuracy, seconds };
}

/** Runs the grid for one method and partition; the best is the reached run with the fewest rounds. */
async function sweep(name: string, base: Partial<SimulationOptions>, grid: number[], cap: number): Promise<{ best: Outcome; runs: Outcome[] }> {
  const runs: Outcome[] = [];
  let bound = cap;
  for (const learningRate of grid) {
    const outcome = await roundsToTarget(`${name} lr ${learningRate}`, { ...base, learningRate }, bound);
    runs.push(outcome);
    if (outcome.reached) bound = Math.min(bound, outcome.rounds);
  }
  const reached = runs.filter((r) => r.reached).sort((a, b) => a.rounds - b.rounds);
  // Nothing reached: report the run that got closest, as a lower bound on rounds.
  const best = reached[0] ?? [...runs].sort((a, b) => b.finalAccuracy - a.finalAccuracy)[0]!;
  return { best, runs };
}

/** A count, or ">=N" when the run hit its cap without reaching the target. */
const roundsField = (o: Outcome): number | string => (o.reached ? o.rounds : `>=${o.rounds}`);

/** FedSGD rounds / FedAvg rounds; a lower bound (">=x") when FedSGD was capped, null when FedAvg was. */
function speedup(avg: Outcome, sgd: Outcome): number | string | null {
  if (!avg.reached) return null;
  const ratio = Math.round((sgd.rounds / avg.rounds) * 10) / 10;
  return sgd.reached ? ratio : `>=${ratio}`;
}

const gridField = (runs: Outcome[]): Record<string, unknown>[] =>
  runs.map((r) => ({ learningRate: r.learningRate, rounds: roundsField(r), finalAccuracy: r.finalAccuracy, seconds: r.seconds }));

export async function run(): Promise<Record<string, unknown>> {
  const avgIid = await sweep('FedAvg IID', { ...FEDAVG, partition: 'iid' }, GRID_AVG, CAP_FEDAVG);
  const sgdIid = await sweep('FedSGD IID', { ...FEDSGD, partition: 'iid' }, GRID_SGD, CAP_FEDSGD);
  const avgNonIid = await sweep('FedAvg shards:2', { ...FEDAVG, partition: 'shards:2' }, GRID_AVG, CAP_FEDAVG);
  const sgdNonIid = await sweep('FedSGD shards:2', { ...FEDSGD, partition: 'shards:2' }, GRID_SGD, CAP_FEDSGD);
  return {
    model: 'mnist-2nn',
    clients: 100,
    fraction: 0.1,
    targetAccuracy: TARGET,
    fedAvg: { localEpochs: FEDAVG.localEpochs, batchSize: FEDAVG.batchSize, learningRates: GRID_AVG, roundCap: CAP_FEDAVG },
    fedSgd: { localEpochs: FEDSGD.localEpochs, batchSize: FEDSGD.batchSize, learningRates: GRID_SGD, roundCap: CAP_FEDSGD },
    roundsFedAvgIid: roundsField(avgIid.best),
    roundsFedSgdIid: roundsField(sgdIid.best),
    speedupIid: speedup(avgIid.best, sgdIid.best),
    roundsFedAvgNonIid: roundsField(avgNonIid.best),
    roundsFedSgdNonIid: roundsField(sgdNonIid.best),
    speedupNonIid: speedup(avgNonIid.best, sgdNonIid.best),
    bestLearningRate: {
      fedAvgIid: avgIid.best.learningRate,
      fedSgdIid: sgdIid.best.learningRate,
      fedAvgNonIid: avgNonIid.best.learningRate,
      fedSgdNonIid: sgdNonIid.best.learningRate,
    },
    grid: {
      fedAvgIid: gridField(avgIid.runs),
      fedSgdIid: gridField(sgdIid.runs),
      fedAvgNonIid: gridField(avgNonIid.runs),
      fedSgdNonIid: gridField(sgdNonIid.runs),
    },
    seconds: Math.round([avgIid, sgdIid, avgNonIid, sgdNonIid].flatMap((s) => s.runs).reduce((t, r) => t + r.seconds, 0)),
  };
}

if (process.argv[1]?.endsWith('bench/fedavg.ts')) {
  run().then(
    (result) => {
      process.stdout.write(`${JSON.stringify(result)}\n`);
      process.exit(0);
    },
    (err: unknown) => {
      process.stderr.write(`[fedavg] failed: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
}

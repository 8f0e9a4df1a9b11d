/**
 * Secure aggregation trains like plain FedAvg (issue 13's simulator check): the same simulation
 * twice — 100 MNIST clients (2NN), every client invited each round, 30 % of them dropping out of
 * every round after the secure round's keys and shares went out — once plain (float32 uploads, the
 * exact FedAvg baseline) and once with SecAgg+ (`--secure-aggregation NEIGHBOURS,THRESHOLD`, default
 * 5-bit quantization after the random rotation). Same seed, so the same clients drop from the same
 * rounds and train on the same batches; the difference is what secure aggregation does to the sum.
 * Reports both accuracies after every committed round and the gap at equal rounds (the check: ≤ 1 pp).
 *
 *   npm run bench -- secaggsim
 *
 * The neighbourhood must outlive the dropout: a round is abandoned (and retried; `abandonedRounds`)
 * when some participant keeps fewer than `threshold` surviving neighbours. With 30 % dropout that is
 * Binomial(k, 0.7) < t: about 5 % per participant for 20,11 but 3.6e-4 for 70,36, so 70,36 it is.
 * Environment knobs: SECAGG_SIM_CLIENTS (100), SECAGG_SIM_ROUNDS (10), SECAGG_SIM_DROPOUT (0.3),
 * SECAGG_SIM_NEIGHBOURS (70), SECAGG_SIM_THRESHOLD (36), SECAGG_SIM_EPOCHS (1), SECAGG_SIM_LR (0.1).
 */
import { runSimulation, type RoundReport, type SimulationOptions } from '@chorus/simulator';

const num = (name: string, fallback: number): number => {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v)) throw new Error(`secaggsim: ${name} must be a number, got "${raw}"`);
  return v;
};

const CLIENTS = num('SECAGG_SIM_CLIENTS', 100);
const ROUNDS = num('SECAGG_SIM_ROUNDS', 10);
const DROPOUT = num('SECAGG_SIM_DROPOUT', 0.3);
const NEIGHBOURS = num('SECAGG_SIM_NEIGHBOURS', 70);
const THRESHOLD = num('SECAGG_SIM_THRESHOLD', 36);
const round4 = (x: number) => Math.round(x * 1e4) / 1e4;

const COMMON: Partial<SimulationOptions> = {
  clients: CLIENTS,
  // Everyone is invited: no selection luck between the two runs, and the largest secure rounds.
  fraction: 1,
  rounds: ROUNDS,
  model: 'mnist-2nn',
  partition: 'iid',
  localEpochs: num('SECAGG_SIM_EPOCHS', 1),
  batchSize: 10,
  learningRate: num('SECAGG_SIM_LR', 0.1),
  codec: 'float32',
  seed: 1,
  dropout: DROPOUT,
  // Clients train one after another in this process; the secure mask stage waits for all of them.
  deadlineMs: 600_000,
};

async function simulate(label: string, options: Partial<SimulationOptions>): Promise<{ reports: RoundReport[]; seconds: number }> {
  const started = performance.now();
  const reports: RoundReport[] = [];
  for await (const r of runSimulation({ ...COMMON, ...options })) {
    reports.push(r);
    process.stderr.write(`[secaggsim] ${label}: version ${r.version} (round ${r.round}) accuracy ${(r.accuracy * 100).toFixed(2)}%, ${r.participants} updates, ${r.failures} dropped (${((performance.now() - started) / 1000).toFixed(0)} s)\n`);
  }
  return { reports, seconds: Math.round((performance.now() - started) / 100) / 10 };
}

export async function run(): Promise<Record<string, unknown>> {
  const plain = await simulate('plain FedAvg', {});
  const secure = await simulate(`SecAgg+ ${NEIGHBOURS},${THRESHOLD}`, {
    secureAggregation: { neighbours: NEIGHBOURS, threshold: THRESHOLD, stageDeadlineMs: 600_000 },
  });
  const rounds = Math.min(plain.reports.length, secure.reports.length);
  const gaps = Array.from({ length: rounds }, (_, i) => secure.reports[i]!.accuracy - plain.reports[i]!.accuracy);
  const last = rounds - 1;
  const accuracyPlain = plain.reports[last]?.accuracy ?? 0;
  const accuracySecure = secure.reports[last]?.accuracy ?? 0;
  const gapPp = round4((accuracySecure - accuracyPlain) * 100);
  return {
    model: 'mnist-2nn',
    clients: CLIENTS,
    dropout: DROPOUT,
    neighbours: NEIGHBOURS,
    threshold: THRESHOLD,
    rounds,
    accuracyPlain: round4(accuracyPlain),
    accuracySecure: round4(accuracySecure),
    gapPp,
    withinOnePp: Math.abs(gapPp) <= 1,
    maxAbsGapPp: round4(Math.max(...gaps.map((g) => Math.abs(g))) * 100),
    perRound: Array.from({ length: rounds }, (_, i) => ({ plain: round4(plain.reports[i]!.accuracy), secure: round4(secure.reports[i]!.accuracy), updates: [plain.reports[i]!.participants, secure.reports[i]!.participants] })),
    // Versions committed vs rounds opened: a round below the threshold is abandoned, then retried.
    abandonedRounds: (secure.reports[last]?.round ?? 0) - (secure.reports[last]?.version ?? 0),
    runSeconds: { plain: plain.seconds, secure: secure.seconds },
  };
}

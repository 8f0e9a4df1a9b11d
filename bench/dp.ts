/**
 * Accuracy cost of user-level differential privacy (DP-FedAvg, McMahan et al. 2018): the same
 * simulation with and without DP at ε ≈ 3, δ = 1e-5. σ is chosen with noiseForEpsilon for the
 * rounds and sampling rate used; the ε reported is the strategy's own accountant figure.
 *
 *   npm run bench -- dp            (or: npx tsx bench/dp.ts)
 *
 * `dpOverNonPrivate` = final accuracy with DP ÷ without. Knobs: DP_CLIENTS, DP_TARGET (clients per
 * round), DP_ROUNDS, DP_CLIP, DP_EPOCHS, DP_EPSILON.
 */
import { noiseForEpsilon, type StrategyConfig } from '@chorus/core';
import { runSimulation, type SimulationOptions } from '@chorus/simulator';

const CLIENTS = Number(process.env.DP_CLIENTS ?? 500);
const TARGET = Number(process.env.DP_TARGET ?? 50);
const ROUNDS = Number(process.env.DP_ROUNDS ?? 16);
const CLIP = Number(process.env.DP_CLIP ?? 0.5);
const EPOCHS = Number(process.env.DP_EPOCHS ?? 5);
const EPSILON = Number(process.env.DP_EPSILON ?? 3);
const DELTA = 1e-5;
/** The simulator runs the server with over-selection 1: exactly `target` of the clients are invited each round. */
const OVER_SELECTION = 1;

const COMMON: Partial<SimulationOptions> = {
  clients: CLIENTS,
  fraction: TARGET / CLIENTS,
  rounds: ROUNDS,
  model: 'mnist-2nn',
  partition: 'iid',
  localEpochs: EPOCHS,
  batchSize: 10,
  learningRate: 0.05,
  codec: 'float32',
  seed: 1,
  deadlineMs: 600_000,
};

interface Outcome {
  accuracy: number;
  serverMetrics: Readonly<Record<string, number>>;
  seconds: number;
}

async function simulate(label: string, strategy: StrategyConfig): Promise<Outcome> {
  const started = performance.now();
  let last: Outcome = { accuracy: 0, serverMetrics: {}, seconds: 0 };
  for await (const r of runSimulation({ ...COMMON, strategy })) {
    last = { accuracy: r.accuracy, serverMetrics: r.serverMetrics, seconds: Math.round((performance.now() - started) / 1000) };
    if (r.round === 1 || r.round % 5 === 0) {
      const eps = r.serverMetrics.epsilon;
      process.stderr.write(`[dp] ${label}: round ${r.round} accuracy ${(r.accuracy * 100).toFixed(2)}%${eps !== undefined ? ` epsilon ${eps.toFixed(3)}` : ''} (${last.seconds} s)\n`);
    }
  }
  return last;
}

export async function run(): Promise<Record<string, unknown>> {
  const sampleRate = Math.min(1, Math.ceil(TARGET * OVER_SELECTION) / CLIENTS);
  const sigma = noiseForEpsilon({ sampleRate, steps: ROUNDS, delta: DELTA, epsilon: EPSILON });
  process.stderr.write(`[dp] ${CLIENTS} clients, ${TARGET} per round, q = ${sampleRate}, ${ROUNDS} rounds → noise multiplier ${sigma.toFixed(4)} for ε = ${EPSILON}\n`);
  // FedAvgM with momentum 0 is FedAvg; both runs use it so only DP differs.
  const plain: StrategyConfig = { id: 'fedavgm', options: { momentum: 0 } };
  const nonPrivate = await simulate('non-private', plain);
  const dp: StrategyConfig = {
    id: 'fedavgm',
    options: { momentum: 0, dp: { clipNorm: CLIP, noiseMultiplier: sigma, expectedClients: TARGET, targetDelta: DELTA } },
  };
  const privateRun = await simulate('DP', dp);
  return {
    bench: 'dp',
    model: 'mnist-2nn',
    clients: CLIENTS,
    clientsPerRound: TARGET,
    rounds: ROUNDS,
    sampleRate,
    noiseMultiplier: Math.round(sigma * 1e4) / 1e4,
    clipNorm: CLIP,
    targetEpsilon: EPSILON,
    epsilon: privateRun.serverMetrics.epsilon ?? null,
    delta: DELTA,
    dpOverNonPrivate: Math.round((privateRun.accuracy / nonPrivate.accuracy) * 1000) / 1000,
    accuracy: { nonPrivate: nonPrivate.accuracy, private: privateRun.accuracy },
    lastRoundDp: { noiseStd: privateRun.serverMetrics.noiseStd ?? null, fractionClipped: privateRun.serverMetrics.fractionClipped ?? null },
    seconds: { nonPrivate: nonPrivate.seconds, private: privateRun.seconds },
  };
}

if (process.argv[1]?.endsWith('bench/dp.ts')) {
  run().then(
    (result) => {
      process.stdout.write(`${JSON.stringify(result)}\n`);
      process.exit(0);
    },
    (err: unknown) => {
      process.stderr.write(`[dp] failed: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
}

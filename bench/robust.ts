/**
 * Robust aggregation under attack: 20 % of the clients are Byzantine in every round (sign flip ×10,
 * Gaussian noise, label flipping). Final test accuracy of each robust aggregator, and of plain FedAvg
 * under the same attack, relative to a clean FedAvg run. Real server and Socket.IO via the simulator.
 *
 *   npm run bench -- robust            (or: npx tsx bench/robust.ts)
 *
 * `robustOverClean` is the lowest ratio over robust aggregators × attacks (target ≥ 0.98).
 * Knobs for quick looks: ROBUST_ROUNDS, ROBUST_CLIENTS.
 */
import { createSeededRandom, gaussian, type Dataset, type StrategyConfig } from '@chorus/core';
import { runSimulation, type SimulationAttack, type SimulationOptions } from '@chorus/simulator';

const ROUNDS = Number(process.env.ROBUST_ROUNDS ?? 6);
const CLIENTS = Number(process.env.ROBUST_CLIENTS ?? 20);
const ATTACKERS = Math.round(CLIENTS * 0.2);
const NOISE_STD = 1;

const COMMON: Partial<SimulationOptions> = {
  clients: CLIENTS,
  // Everyone trains every round, so every round holds exactly 20 % attackers.
  fraction: 1,
  rounds: ROUNDS,
  model: 'mnist-2nn',
  partition: 'iid',
  localEpochs: 1,
  // Batch 50 keeps 13 simulations inside ~10 minutes on 2 shared cores.
  batchSize: 50,
  learningRate: 0.1,
  codec: 'float32',
  seed: 1,
  deadlineMs: 600_000,
};

const isAttacker = (clientIndex: number) => clientIndex < ATTACKERS;

const ATTACKS: Record<string, () => SimulationAttack> = {
  signFlip: () => ({
    transformDelta(i, delta) {
      if (!isAttacker(i)) return;
      for (let j = 0; j < delta.length; j++) delta[j]! *= -10;
    },
  }),
  gaussianNoise: () => {
    const random = createSeededRandom(99);
    return {
      transformDelta(i, delta) {
        if (!isAttacker(i)) return;
        for (let j = 0; j < delta.length; j++) delta[j] = NOISE_STD * gaussian(random);
      },
    };
  },
  labelFlip: () => ({
    transformData(i, data): Dataset | undefined {
      if (!isAttacker(i)) return undefined;
      const y = data.y.map((label) => data.numClasses - 1 - label);
      return { ...data, y };
    },
  }),
};

/** FedAvgM with momentum 0 is exactly FedAvg, and accepts every aggregator option. */
const withAggregator = (options: Record<string, unknown>): StrategyConfig => ({ id: 'fedavgm', options: { momentum: 0, eta: 1, ...options } });

const ROBUST: Record<string, StrategyConfig> = {
  median: withAggregator({ aggregator: 'median' }),
  trimmedMean: withAggregator({ aggregator: 'trimmed-mean', trimBeta: ATTACKERS / CLIENTS }),
  multiKrum: withAggregator({ aggregator: 'multi-krum', krumF: ATTACKERS }),
};

async function finalAccuracy(label: string, strategy: StrategyConfig, attack?: SimulationAttack): Promise<number> {
  const started = performance.now();
  let accuracy = 0;
  for await (const r of runSimulation({ ...COMMON, strategy, ...(attack ? { attack } : {}) })) accuracy = r.accuracy;
  process.stderr.write(`[robust] ${label}: ${(accuracy * 100).toFixed(2)}% after ${ROUNDS} rounds (${((performance.now() - started) / 1000).toFixed(0)} s)\n`);
  return accuracy;
}

const ratio = (a: number, b: number) => Math.round((a / b) * 1000) / 1000;

export async function run(): Promise<Record<string, unknown>> {
  const clean = await finalAccuracy('clean fedavg', { id: 'fedavg', options: {} });
  const accuracy: Record<string, Record<string, number>> = {};
  const overClean: Record<string, Record<string, number>> = {};
  let robustOverClean = Infinity;
  for (const [attackName, makeAttack] of Object.entries(ATTACKS)) {
    accuracy[attackName] = {};
    overClean[attackName] = {};
    const runs: [string, StrategyConfig][] = [['fedavg', { id: 'fedavg', options: {} }], ...Object.entries(ROBUST)];
    for (const [aggName, strategy] of runs) {
      const acc = await finalAccuracy(`${attackName} / ${aggName}`, strategy, makeAttack());
      accuracy[attackName]![aggName] = acc;
      overClean[attackName]![aggName] = ratio(acc, clean);
      if (aggName !== 'fedavg') robustOverClean = Math.min(robustOverClean, ratio(acc, clean));
    }
  }
  return {
    bench: 'robust',
    model: 'mnist-2nn',
    clients: CLIENTS,
    attackers: ATTACKERS,
    rounds: ROUNDS,
    robustOverClean,
    cleanAccuracy: clean,
    overClean,
    accuracy,
    settings: { trimBeta: ATTACKERS / CLIENTS, krumF: ATTACKERS, gaussianStd: NOISE_STD, signFlipScale: -10 },
  };
}

if (process.argv[1]?.endsWith('bench/robust.ts')) {
  run().then(
    (result) => {
      process.stdout.write(`${JSON.stringify(result)}\n`);
      process.exit(0);
    },
    (err: unknown) => {
      process.stderr.write(`[robust] failed: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
}

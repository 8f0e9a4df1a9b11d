/**
 * Personalization: each client's accuracy on its own held-out examples (the same 20 % of each
 * client's digits in every run, kept out of training), averaged over all clients, with the shared
 * FedAvg model and with FedPer (the output head kept on each client). Same seeds, clients and
 * rounds; label-skewed (shards:2, two digits per client) and IID partitions. Real server and
 * Socket.IO through the simulator.
 *
 *   npm run bench -- personal          (or: npx tsx bench/personal.ts)
 *
 * `personalGainPp` = FedPer − shared, in percentage points, on shards:2 (target ≥ 5);
 * `iidGainPp` the same on IID (target ≥ −1). Knobs: PERSONAL_CLIENTS (100), PERSONAL_ROUNDS (5),
 * PERSONAL_FRACTION (1: every client trains every round, so every head is trained),
 * PERSONAL_METHOD (fedper | fedrep).
 */
import type { PersonalizationConfigInput } from '@chorus/core';
import { runSimulation, type SimulationOptions } from '@chorus/simulator';

const CLIENTS = Number(process.env.PERSONAL_CLIENTS ?? 100);
const ROUNDS = Number(process.env.PERSONAL_ROUNDS ?? 5);
const FRACTION = Number(process.env.PERSONAL_FRACTION ?? 1);
const METHOD = (process.env.PERSONAL_METHOD ?? 'fedper') as 'fedper' | 'fedrep';
const HOLDOUT = 0.2;

const COMMON: Partial<SimulationOptions> = {
  clients: CLIENTS,
  fraction: FRACTION,
  rounds: ROUNDS,
  model: 'mnist-2nn',
  localEpochs: 1,
  batchSize: 10,
  learningRate: 0.05,
  codec: 'int8',
  seed: 1,
  deadlineMs: 600_000,
};

async function meanHeldOut(label: string, partition: string, personalization?: PersonalizationConfigInput): Promise<number> {
  const started = performance.now();
  let accuracy = 0;
  const extra = personalization ? { personalization: { ...personalization, holdoutFraction: HOLDOUT } } : { clientHoldout: HOLDOUT };
  for await (const r of runSimulation({ ...COMMON, partition, ...extra })) accuracy = r.clientHoldoutAccuracy ?? 0;
  process.stderr.write(`[personal] ${label}: ${(accuracy * 100).toFixed(2)}% mean on clients' own held-out digits after ${ROUNDS} rounds (${((performance.now() - started) / 1000).toFixed(0)} s)\n`);
  return accuracy;
}

const points = (a: number, b: number): number => Math.round((a - b) * 1000) / 10;

export async function run(): Promise<Record<string, unknown>> {
  const shardsShared = await meanHeldOut('shards:2 / shared (FedAvg)', 'shards:2');
  const shardsPersonal = await meanHeldOut(`shards:2 / ${METHOD}`, 'shards:2', { method: METHOD });
  const iidShared = await meanHeldOut('iid / shared (FedAvg)', 'iid');
  const iidPersonal = await meanHeldOut(`iid / ${METHOD}`, 'iid', { method: METHOD });
  return {
    bench: 'personal',
    model: 'mnist-2nn',
    method: METHOD,
    clients: CLIENTS,
    rounds: ROUNDS,
    fraction: FRACTION,
    holdoutFraction: HOLDOUT,
    personalGainPp: points(shardsPersonal, shardsShared),
    iidGainPp: points(iidPersonal, iidShared),
    accuracy: { shards2: { shared: shardsShared, [METHOD]: shardsPersonal }, iid: { shared: iidShared, [METHOD]: iidPersonal } },
    ditto: 'not built yet',
  };
}

if (process.argv[1]?.endsWith('bench/personal.ts')) {
  run().then(
    (result) => {
      process.stdout.write(`${JSON.stringify(result)}\n`);
      process.exit(0);
    },
    (err: unknown) => {
      process.stderr.write(`[personal] failed: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
}

/**
 * Personalization: each client's accuracy on its own held-out examples (the same 20 % of each
 * client's digits in every run, kept out of training), averaged over all clients, with the shared
 * FedAvg model and with each personalization method: FedPer and FedRep (the output head kept on each
 * client) and Ditto (a whole personal model pulled towards the shared one by λ). Same seeds, clients
 * and rounds; label-skewed (shards:2, two digits per client) and IID partitions. Real server and
 * Socket.IO through the simulator.
 *
 *   npm run bench -- personal          (or: npx tsx bench/personal.ts)
 *
 * `personalGainPp` = the headline method (PERSONAL_METHOD, default ditto) − shared, in percentage
 * points, on shards:2 (target ≥ 5); `iidGainPp` the same on IID (target ≥ −1); `gainsPp` every
 * method's. Knobs: PERSONAL_CLIENTS (100), PERSONAL_ROUNDS (5), PERSONAL_FRACTION (1: every client
 * trains every round, so every personal model is trained), PERSONAL_METHODS (fedper,fedrep,ditto),
 * PERSONAL_METHOD (the headline), PERSONAL_LAMBDA (Ditto's λ, the task default when unset).
 */
import { DITTO_LAMBDA_DEFAULT, type PersonalizationConfigInput } from '@chorus/core';
import { runSimulation, type SimulationOptions } from '@chorus/simulator';

const CLIENTS = Number(process.env.PERSONAL_CLIENTS ?? 100);
const ROUNDS = Number(process.env.PERSONAL_ROUNDS ?? 5);
const FRACTION = Number(process.env.PERSONAL_FRACTION ?? 1);
type Method = 'fedper' | 'fedrep' | 'ditto';
const METHODS = (process.env.PERSONAL_METHODS ?? 'fedper,fedrep,ditto').split(',').map((m) => m.trim()) as Method[];
const METHOD = (process.env.PERSONAL_METHOD ?? (METHODS.includes('ditto') ? 'ditto' : METHODS[0]!)) as Method;
const LAMBDA = process.env.PERSONAL_LAMBDA === undefined ? DITTO_LAMBDA_DEFAULT : Number(process.env.PERSONAL_LAMBDA);
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

function configOf(method: Method): PersonalizationConfigInput {
  return method === 'ditto' ? { method, lambda: LAMBDA } : { method };
}

export async function run(): Promise<Record<string, unknown>> {
  if (!METHODS.includes(METHOD)) throw new Error(`PERSONAL_METHOD ${METHOD} is not among PERSONAL_METHODS ${METHODS.join(',')}`);
  const accuracy: Record<string, Record<string, number>> = {};
  const gainsPp: Record<string, Record<string, number>> = {};
  for (const [key, partition] of [['shards2', 'shards:2'], ['iid', 'iid']] as const) {
    const shared = await meanHeldOut(`${partition} / shared (FedAvg)`, partition);
    accuracy[key] = { shared };
    gainsPp[key] = {};
    for (const method of METHODS) {
      const mine = await meanHeldOut(`${partition} / ${method}`, partition, configOf(method));
      accuracy[key][method] = mine;
      gainsPp[key][method] = points(mine, shared);
    }
  }
  return {
    bench: 'personal',
    model: 'mnist-2nn',
    method: METHOD,
    methods: METHODS,
    dittoLambda: LAMBDA,
    clients: CLIENTS,
    rounds: ROUNDS,
    fraction: FRACTION,
    holdoutFraction: HOLDOUT,
    personalGainPp: gainsPp.shards2![METHOD],
    iidGainPp: gainsPp.iid![METHOD],
    gainsPp,
    accuracy,
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

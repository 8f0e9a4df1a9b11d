import { Command, CommanderError, Option } from 'commander';
import { MultiBar, Presets } from 'cli-progress';
import { ChorusError, CODEC_IDS } from '@chorus/core';
import { resolveSimulationOptions, SIMULATION_MODELS, type SimulationOptions } from './simulation-options.js';
import type { RoundReport } from './simulation.js';

/** Flag each option is typed as, so validation messages name what the user wrote. */
const FLAGS: Record<keyof SimulationOptions, string> = {
  clients: '--clients',
  rounds: '--rounds',
  model: '--model',
  partition: '--partition',
  fraction: '--fraction',
  localEpochs: '--local-epochs',
  batchSize: '--batch-size',
  learningRate: '--learning-rate',
  maxExamples: '--max-examples',
  codec: '--codec',
  strategy: '--strategy',
  serverUrl: '--server',
  seed: '--seed',
  deadlineMs: '--deadline-ms',
  targetAccuracy: '--target-accuracy',
  minClients: '--min-clients',
  attack: '(attack)',
  taskId: '--task-id',
  privacy: '--local-dp',
  personalization: '--personalization',
  clientHoldout: '--client-holdout',
};

/** Numbers stay numbers; anything else is passed through so the validator can quote it back. */
const numeric = (raw: string): number | string => (/^\s*-?(\d+\.?\d*|\.\d+)(e-?\d+)?\s*$/i.test(raw) ? Number(raw) : raw);

function program(): Command {
  return new Command('simulate')
    .description('Federated learning simulation: N participants over real Socket.IO against a Chorus server.')
    .option('--clients <n>', 'number of simulated participants', numeric)
    .option('--rounds <n>', 'rounds to run', numeric)
    .option('--model <id>', `model template: ${SIMULATION_MODELS.join(' | ')}`)
    .option('--partition <spec>', 'iid | shards:K | dirichlet:ALPHA (MNIST); by-president (nextword-gru, the default there)')
    .option('--fraction <c>', 'fraction C of clients per round', numeric)
    .option('--local-epochs <e>', 'local epochs E', numeric)
    .option('--batch-size <b>', 'local batch size B (0 or "full" = whole partition)', (raw) => (raw.trim() === 'full' ? 'full' : numeric(raw)))
    .option('--learning-rate <lr>', 'client SGD learning rate', numeric)
    .option('--max-examples <n>', 'examples each client trains on per round, drawn afresh (0 = all)', numeric)
    .option('--codec <id>', `update codec: ${CODEC_IDS.join(' | ')}`)
    .option('--strategy <id>', 'aggregation strategy id (e.g. fedavg)')
    .option('--strategy-options <json>', 'strategy options as a JSON object')
    .option('--local-dp <clip,noise>', 'local DP on every client: clip norm C and noise multiplier σ, e.g. 1,0.1')
    .option('--personalization <method>', 'personal models: fedper | fedrep (the output head stays on each client) | ditto (a whole personal model per client)')
    .option('--ditto-lambda <λ>', "ditto: pull of each client's own model towards the shared one", numeric)
    .option('--client-holdout <fraction>', "score every client each round on this share of its own examples (kept out of training)", numeric)
    .option('--server <url>', 'use this server instead of an embedded one')
    .option('--seed <n>', 'random seed', numeric)
    .option('--deadline-ms <ms>', 'round deadline in milliseconds', numeric)
    .option('--target-accuracy <acc>', 'stop once test accuracy reaches this', numeric)
    .option('--min-clients <n>', 'updates needed for a round to count at its deadline', numeric)
    .addOption(new Option('--json', 'one JSON object per round on stdout'))
    .exitOverride()
    .allowExcessArguments(false);
}

function parseStrategyOptions(raw: string | undefined): Record<string, unknown> {
  if (raw === undefined) return {};
  try {
    const parsed: unknown = JSON.parse(raw);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // fall through to the message below
  }
  throw new ChorusError('INVALID_CONFIG', `--strategy-options: expected a JSON object, got ${JSON.stringify(raw)}`);
}

function parseLocalDp(raw: string | undefined): SimulationOptions['privacy'] {
  if (raw === undefined) return undefined;
  const parts = raw.split(',').map((x) => Number(x.trim()));
  if (parts.length !== 2 || parts.some((x) => !Number.isFinite(x))) {
    throw new ChorusError('INVALID_CONFIG', `--local-dp: expected "CLIP,NOISE" (clip norm and noise multiplier, e.g. 1,0.1), got ${JSON.stringify(raw)}`);
  }
  return { localDp: { clipNorm: parts[0]!, noiseMultiplier: parts[1]! } };
}

function parsePersonalization(method: string | undefined, lambda: number | string | undefined): SimulationOptions['personalization'] {
  if (lambda !== undefined && method !== 'ditto') throw new ChorusError('INVALID_CONFIG', '--ditto-lambda: applies only with --personalization ditto');
  if (method === undefined) return undefined;
  return { method, ...(lambda !== undefined ? { lambda } : {}) } as SimulationOptions['personalization'];
}

/** Parses argv (without node and script) into validated simulation options. */
export function parseSimulateArgs(argv: readonly string[]): { options: SimulationOptions; json: boolean } {
  const cmd = program();
  cmd.configureOutput({ writeErr: () => undefined });
  cmd.parse([...argv], { from: 'user' });
  const f = cmd.opts();
  const options = resolveSimulationOptions(
    {
      clients: f.clients,
      rounds: f.rounds,
      model: f.model,
      partition: f.partition,
      fraction: f.fraction,
      localEpochs: f.localEpochs,
      batchSize: f.batchSize,
      learningRate: f.learningRate,
      maxExamples: f.maxExamples,
      codec: f.codec,
      strategy: f.strategy !== undefined || f.strategyOptions !== undefined ? { id: f.strategy ?? 'fedavg', options: parseStrategyOptions(f.strategyOptions) } : undefined,
      serverUrl: f.server,
      seed: f.seed,
      deadlineMs: f.deadlineMs,
      targetAccuracy: f.targetAccuracy,
      minClients: f.minClients,
      privacy: parseLocalDp(f.localDp),
      personalization: parsePersonalization(f.personalization, f.dittoLambda),
      clientHoldout: f.clientHoldout,
    } as Partial<SimulationOptions>,
    (key) => FLAGS[key],
  );
  return { options, json: Boolean(f.json) };
}

const kib = (bytes: number): string => (bytes >= 1 << 20 ? `${(bytes / (1 << 20)).toFixed(2)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`);

function roundLine(r: RoundReport): string {
  return (
    `round ${String(r.round).padStart(3)}  acc ${(r.accuracy * 100).toFixed(2)}%${r.evaluatedBy === 'participants' ? ' (own held-out)' : ''}` +
    `${r.clientHoldoutAccuracy !== undefined ? `  clients' held-out ${(r.clientHoldoutAccuracy * 100).toFixed(2)}%` : ''}  loss ${r.loss.toFixed(4)}  ` +
    `clients ${r.participants}${r.failures ? ` (${r.failures} failed)` : ''}  up ${kib(r.bytesUp)}  down ${kib(r.bytesDown)}  ${(r.durationMs / 1000).toFixed(1)} s`
  );
}

export async function main(argv: readonly string[]): Promise<number> {
  let parsed: ReturnType<typeof parseSimulateArgs>;
  try {
    parsed = parseSimulateArgs(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return 0;
      process.stderr.write(`simulate: ${err.message.replace(/^error: /, '')}\n`);
      return 2;
    }
    process.stderr.write(`simulate: ${ChorusError.from(err).message}\n`);
    return 2;
  }
  const { options, json } = parsed;
  // Loaded only now, so bad flags are reported without waiting for tfjs and MNIST to load.
  const { runSimulation } = await import('./simulation.js');
  const fancy = !json && process.stdout.isTTY === true;
  const bars = fancy ? new MultiBar({ format: 'rounds [{bar}] {value}/{total} | acc {acc} | eta {eta_formatted}', hideCursor: true }, Presets.shades_classic) : undefined;
  const bar = bars?.create(options.rounds, 0, { acc: '-' });
  const started = performance.now();
  try {
    for await (const report of runSimulation(options)) {
      if (json) process.stdout.write(`${JSON.stringify(report)}\n`);
      else if (bars) {
        bars.log(`${roundLine(report)}\n`);
        bar!.increment(1, { acc: `${(report.accuracy * 100).toFixed(2)}%` });
      } else process.stdout.write(`${roundLine(report)}\n`);
    }
    bars?.stop();
    if (!json) process.stdout.write(`done in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
    return 0;
  } catch (err) {
    bars?.stop();
    const e = ChorusError.from(err);
    process.stderr.write(`simulate: ${e.code}: ${e.message}\n`);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('/simulator/src/cli.ts')) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`simulate: ${String(err)}\n`);
      process.exit(1);
    },
  );
}

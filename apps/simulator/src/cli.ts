import { Command, CommanderError, Option } from 'commander';
import { MultiBar, Presets } from 'cli-progress';
import { ChorusError, CODEC_IDS, DOWNLOAD_CODEC_IDS } from '@chorus/core';
import { resolveSimulationOptions, SIMULATION_MODELS, type SimulationOptions } from './simulation-options.js';
import type { RoundReport } from './simulation.js';
import { resolveVirtualOptions, type VirtualSimulationInput, type VirtualSimulationOptions } from './virtual/virtual-options.js';
import type { VirtualRoundReport } from './virtual/virtual-simulation.js';

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
  downloadCodec: '--download-codec',
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
  secureAggregation: '--secure-aggregation',
  dropout: '--dropout',
  async: '--mode async',
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
    .option('--download-codec <id>', `how new versions travel down: full | ${DOWNLOAD_CODEC_IDS.join(' | ')} (default: the server's, int8)`)
    .option('--strategy <id>', 'aggregation strategy id (e.g. fedavg)')
    .option('--strategy-options <json>', 'strategy options as a JSON object')
    .option('--local-dp <clip,noise>', 'local DP on every client: clip norm C and noise multiplier σ, e.g. 1,0.1')
    .option('--personalization <method>', 'personal models: fedper | fedrep (the output head stays on each client) | ditto (a whole personal model per client)')
    .option('--ditto-lambda <λ>', "ditto: pull of each client's own model towards the shared one", numeric)
    .option('--secure-aggregation <neighbours,threshold>', 'SecAgg+: the server sees only each round\'s sum, e.g. 20,11')
    .option('--dropout <fraction>', 'share of the invited clients that drop out of each round (drawn from the seed), e.g. 0.3', numeric)
    .option('--client-holdout <fraction>', "score every client each round on this share of its own examples (kept out of training)", numeric)
    .option('--server <url>', 'use this server instead of an embedded one')
    .option('--seed <n>', 'random seed', numeric)
    .option('--deadline-ms <ms>', 'round deadline in milliseconds', numeric)
    .option('--target-accuracy <acc>', 'stop once test accuracy reaches this', numeric)
    .option('--min-clients <n>', 'updates needed for a round to count at its deadline', numeric)
    .option('--virtual-clock', 'run the round engine in this process on a virtual clock, with devices drawn from --profile')
    .option('--profile <id|file.json>', 'device population for --virtual-clock: default | per-update-dropout | uniform | a profile JSON file')
    .option('--measured-speeds <list>', "examples/s figures from participant pages (comma-separated): devices draw their speed around them")
    .option('--over-selection <f>', 'invite ceil(target × f) per round (--virtual-clock)', numeric)
    .option('--selection <id>', 'client-selection policy (--virtual-clock): uniform | oort')
    .option('--selection-options <json>', 'selection policy options as a JSON object')
    .option('--mode <mode>', "sync (rounds) | async (FedBuff: buffered asynchronous aggregation)")
    .option('--buffer-size <k>', 'async: updates per server step K', numeric)
    .option('--max-staleness <n>', 'async: refuse updates more than n versions behind', numeric)
    .option('--staleness-weight <w>', 'async: sqrt (1/√(1+τ)) | polynomial | constant')
    .option('--concurrency <n>', 'async: participants training at once (default 2 × buffer size)', numeric)
    .option('--time-budget-min <min>', 'stop after this many simulated minutes (--virtual-clock)', numeric)
    .option('--eval-examples <n>', 'test examples each version is scored on (--virtual-clock; 0 = all)', numeric)
    .addOption(new Option('--json', 'one JSON object per round on stdout'))
    .exitOverride()
    .allowExcessArguments(false);
}

function parseStrategyOptions(raw: string | undefined): Record<string, unknown> {
  return parseJsonObject('--strategy-options', raw);
}

function parseJsonObject(flag: string, raw: string | undefined): Record<string, unknown> {
  if (raw === undefined) return {};
  try {
    const parsed: unknown = JSON.parse(raw);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // fall through to the message below
  }
  throw new ChorusError('INVALID_CONFIG', `${flag}: expected a JSON object, got ${JSON.stringify(raw)}`);
}

function parseSecureAggregation(raw: string | undefined): SimulationOptions['secureAggregation'] {
  if (raw === undefined) return undefined;
  const parts = raw.split(',').map((x) => Number(x.trim()));
  if (parts.length !== 2 || parts.some((x) => !Number.isInteger(x))) {
    throw new ChorusError('INVALID_CONFIG', `--secure-aggregation: expected "NEIGHBOURS,THRESHOLD" (two integers, e.g. 20,11), got ${JSON.stringify(raw)}`);
  }
  return { neighbours: parts[0]!, threshold: parts[1]! };
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

const VIRTUAL_FLAGS: Record<string, string> = {
  profile: '--profile',
  overSelection: '--over-selection',
  selection: '--selection',
  timeBudgetMin: '--time-budget-min',
  evalExamples: '--eval-examples',
  taskExtras: '--mode',
};

function parseMeasuredSpeeds(raw: string | undefined): number[] | undefined {
  if (raw === undefined) return undefined;
  const speeds = raw.split(',').map((x) => Number(x.trim()));
  if (speeds.length === 0 || speeds.some((x) => !(Number.isFinite(x) && x > 0))) {
    throw new ChorusError('INVALID_CONFIG', `--measured-speeds: expected positive examples/s figures separated by commas, e.g. 120,45,300, got ${JSON.stringify(raw)}`);
  }
  return speeds;
}

/** --mode async and its options, as task options (the task schema validates them when the task is created). */
function parseMode(f: Record<string, unknown>): VirtualSimulationInput['taskExtras'] {
  const asyncFlags = { bufferSize: f.bufferSize, maxStaleness: f.maxStaleness, stalenessWeight: f.stalenessWeight, concurrency: f.concurrency };
  const given = Object.fromEntries(Object.entries(asyncFlags).filter(([, v]) => v !== undefined));
  if (f.mode === undefined || f.mode === 'sync') {
    if (Object.keys(given).length > 0) throw new ChorusError('INVALID_CONFIG', `--${Object.keys(given)[0]!.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: only with --mode async`);
    return {};
  }
  if (f.mode !== 'async') throw new ChorusError('INVALID_CONFIG', `--mode: expected sync or async, got ${JSON.stringify(f.mode)}`);
  return { mode: 'async', async: given as NonNullable<VirtualSimulationInput['taskExtras']>['async'] };
}

/** Parses argv (without node and script) into validated simulation options; `virtual` with --virtual-clock. */
export function parseSimulateArgs(argv: readonly string[]): { options: SimulationOptions; json: boolean; virtual?: VirtualSimulationOptions } {
  const cmd = program();
  cmd.configureOutput({ writeErr: () => undefined });
  cmd.parse([...argv], { from: 'user' });
  const f = cmd.opts();
  const base = {
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
    downloadCodec: f.downloadCodec,
    strategy: f.strategy !== undefined || f.strategyOptions !== undefined ? { id: f.strategy ?? 'fedavg', options: parseStrategyOptions(f.strategyOptions) } : undefined,
    serverUrl: f.server,
    seed: f.seed,
    deadlineMs: f.deadlineMs,
    targetAccuracy: f.targetAccuracy,
    minClients: f.minClients,
    privacy: parseLocalDp(f.localDp),
    personalization: parsePersonalization(f.personalization, f.dittoLambda),
    clientHoldout: f.clientHoldout,
    secureAggregation: parseSecureAggregation(f.secureAggregation),
    dropout: f.dropout,
  } as Partial<SimulationOptions>;
  if (f.virtualClock) {
    const input: VirtualSimulationInput = {
      ...base,
      profile: f.profile,
      measuredExamplesPerSec: parseMeasuredSpeeds(f.measuredSpeeds),
      overSelection: f.overSelection,
      selection: f.selection !== undefined || f.selectionOptions !== undefined ? { id: f.selection ?? 'uniform', options: parseJsonObject('--selection-options', f.selectionOptions) } : undefined,
      timeBudgetMin: f.timeBudgetMin,
      evalExamples: f.evalExamples,
      taskExtras: parseMode(f),
    };
    const virtual = resolveVirtualOptions(input, (key) => FLAGS[key as keyof SimulationOptions] ?? VIRTUAL_FLAGS[key] ?? key);
    return { options: virtual, json: Boolean(f.json), virtual };
  }
  for (const flag of ['profile', 'measuredSpeeds', 'overSelection', 'selection', 'selectionOptions', 'timeBudgetMin', 'evalExamples'] as const) {
    if (f[flag] !== undefined) throw new ChorusError('INVALID_CONFIG', `--${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: only with --virtual-clock`);
  }
  // --mode async over real sockets too (with --secure-aggregation: secure cohorts).
  const mode = parseMode(f);
  const options = resolveSimulationOptions({ ...base, ...(mode?.async ? { async: mode.async } : {}) }, (key) => FLAGS[key]);
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

function virtualLine(r: VirtualRoundReport): string {
  return (
    `version ${String(r.version).padStart(4)}  acc ${(r.accuracy * 100).toFixed(2)}%  loss ${r.loss.toFixed(4)}  ` +
    `simulated ${(r.simulatedMs / 60_000).toFixed(2)} min  updates ${r.participants}  wasted ${r.wastedUpdates}  dropped ${r.dropped}  online ${r.online}  wall ${(r.wallMs / 1000).toFixed(1)} s`
  );
}

/** --virtual-clock: the engine in this process; one line (or JSON object) per version, then the totals. */
async function runVirtual(options: VirtualSimulationOptions, json: boolean): Promise<number> {
  const { runVirtualSimulation } = await import('./virtual/virtual-simulation.js');
  const out = (line: string) => process.stdout.write(`${line}\n`);
  if (!json) out(`profile ${options.profile.id}: ${options.profile.description}  seed ${options.seed}`);
  try {
    const result = await runVirtualSimulation(options, (r) => out(json ? JSON.stringify({ kind: 'round', ...r }) : virtualLine(r)));
    out(json ? JSON.stringify({ kind: 'final', profile: result.profile, seed: result.seed, ...result.final }) : `final: ${JSON.stringify(result.final)}`);
    return 0;
  } catch (err) {
    const e = ChorusError.from(err);
    process.stderr.write(`simulate: ${e.code}: ${e.message}\n`);
    return 1;
  }
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
  const { options, json, virtual } = parsed;
  if (virtual) return runVirtual(virtual, json);
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

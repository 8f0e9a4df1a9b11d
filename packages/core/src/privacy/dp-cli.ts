/**
 * `npm run dp -- epsilon|noise …`: privacy arithmetic for operators planning a task.
 * A tool, so it may use process/argv; the math stays in rdp-accountant.ts.
 */
import { computeRdp, DEFAULT_RDP_ORDERS, noiseForEpsilon, rdpToEpsilon, type RdpConversion } from './rdp-accountant.js';

const USAGE = `usage:
  npm run dp -- epsilon --sample-rate Q --noise-multiplier SIGMA --steps T --delta D [--conversion improved|classic] [--json]
  npm run dp -- noise   --sample-rate Q --steps T --delta D --epsilon E [--conversion improved|classic] [--json]`;

class UsageError extends Error {}

type Flags = Map<string, string | true>;

function parseFlags(args: readonly string[]): Flags {
  const flags: Flags = new Map();
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('--')) throw new UsageError(`unexpected argument "${a}"`);
    const [name, inline] = a.slice(2).split('=', 2) as [string, string | undefined];
    if (name === 'json' || name === 'help') flags.set(name, true);
    else if (inline !== undefined) flags.set(name, inline);
    else if (i + 1 < args.length && !args[i + 1]!.startsWith('--')) flags.set(name, args[++i]!);
    else throw new UsageError(`--${name} needs a value`);
  }
  return flags;
}

function numberFlag(flags: Flags, name: string, check: (v: number) => boolean, rule: string): number {
  const raw = flags.get(name);
  if (raw === undefined) throw new UsageError(`--${name} is required`);
  const v = Number(raw);
  if (raw === true || raw.trim() === '' || !Number.isFinite(v) || !check(v)) throw new UsageError(`--${name} ${rule}, got "${String(raw)}"`);
  return v;
}

function checkKnown(flags: Flags, known: readonly string[]): void {
  for (const name of flags.keys()) if (!known.includes(name)) throw new UsageError(`unknown flag --${name}`);
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function runDpCli(argv: readonly string[]): CliResult {
  try {
    const [command, ...rest] = argv;
    if (command === undefined || command === '--help' || command === 'help') return { code: command ? 0 : 2, stdout: command ? USAGE : '', stderr: command ? '' : USAGE };
    const flags = parseFlags(rest);
    const q = () => numberFlag(flags, 'sample-rate', (v) => v > 0 && v <= 1, 'must be a number in (0, 1]');
    const steps = () => numberFlag(flags, 'steps', (v) => Number.isInteger(v) && v >= 1, 'must be a positive integer');
    const delta = () => numberFlag(flags, 'delta', (v) => v > 0 && v < 1, 'must be a number in (0, 1)');
    const conv = flags.get('conversion') ?? 'improved';
    if (conv !== 'improved' && conv !== 'classic') throw new UsageError(`--conversion must be "improved" or "classic", got "${String(conv)}"`);
    const conversion: RdpConversion = conv;
    const json = flags.get('json') === true;

    if (command === 'epsilon') {
      checkKnown(flags, ['sample-rate', 'noise-multiplier', 'steps', 'delta', 'conversion', 'json']);
      const args = { q: q(), sigma: numberFlag(flags, 'noise-multiplier', (v) => v > 0, 'must be a number > 0'), steps: steps(), delta: delta() };
      const spent = rdpToEpsilon(DEFAULT_RDP_ORDERS, computeRdp(args.q, args.sigma, args.steps), args.delta, conversion);
      const out = json
        ? JSON.stringify({ epsilon: spent.epsilon, delta: spent.delta, order: spent.order, conversion })
        : `epsilon = ${spent.epsilon.toFixed(4)} at delta = ${spent.delta} (best RDP order ${spent.order}, ${conversion} conversion)`;
      return { code: 0, stdout: out, stderr: '' };
    }
    if (command === 'noise') {
      checkKnown(flags, ['sample-rate', 'steps', 'delta', 'epsilon', 'conversion', 'json']);
      const o = { sampleRate: q(), steps: steps(), delta: delta(), epsilon: numberFlag(flags, 'epsilon', (v) => v > 0, 'must be a number > 0'), conversion };
      const sigma = noiseForEpsilon(o);
      const reached = rdpToEpsilon(DEFAULT_RDP_ORDERS, computeRdp(o.sampleRate, sigma, o.steps), o.delta, conversion).epsilon;
      const out = json
        ? JSON.stringify({ noiseMultiplier: sigma, epsilon: reached, delta: o.delta, conversion })
        : `noise multiplier = ${sigma.toFixed(4)} (epsilon ${reached.toFixed(4)} <= ${o.epsilon} at delta = ${o.delta}, ${conversion} conversion)`;
      return { code: 0, stdout: out, stderr: '' };
    }
    throw new UsageError(`unknown command "${command}" (expected "epsilon" or "noise")`);
  } catch (err) {
    if (err instanceof UsageError) return { code: 2, stdout: '', stderr: `dp: ${err.message}\n${USAGE}` };
    return { code: 1, stdout: '', stderr: `dp: ${err instanceof Error ? err.message : String(err)}` };
  }
}

const isMain = typeof process !== 'undefined' && process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isMain) {
  const r = runDpCli(process.argv.slice(2));
  if (r.stdout) process.stdout.write(`${r.stdout}\n`);
  if (r.stderr) process.stderr.write(`${r.stderr}\n`);
  process.exitCode = r.code;
}

/**
 * The create form's strategy, robustness and privacy options: what the operator sees (labels and
 * defaults, taken from the strategies' schemas in @chorus/core) and how they become the task
 * config. Number fields are kept as typed text so an empty field means "the server's default".
 */

export interface OptionSpec {
  readonly key: string;
  readonly label: string;
  readonly defaultValue: number;
  readonly step: number;
}

const eta = (d: number): OptionSpec => ({ key: 'eta', label: 'Server learning rate η', defaultValue: d, step: 0.001 });
const beta1 = (d: number): OptionSpec => ({ key: 'beta1', label: 'Momentum β₁', defaultValue: d, step: 0.01 });
const beta2 = (d: number): OptionSpec => ({ key: 'beta2', label: 'Second moment β₂', defaultValue: d, step: 0.001 });
const tau = (d: number): OptionSpec => ({ key: 'tau', label: 'Adaptivity τ', defaultValue: d, step: d });

/** Server-optimizer options of each built-in strategy, with the defaults of packages/core. */
export const SERVER_OPTIONS: Readonly<Record<string, readonly OptionSpec[]>> = {
  fedavg: [{ key: 'serverLearningRate', label: 'Server learning rate η', defaultValue: 1, step: 0.01 }],
  fedavgm: [eta(1), { key: 'momentum', label: 'Server momentum β', defaultValue: 0.9, step: 0.01 }],
  fedadagrad: [eta(0.1), beta1(0), tau(1e-9)],
  fedadam: [eta(0.1), beta1(0.9), beta2(0.99), tau(1e-9)],
  fedyogi: [eta(0.01), beta1(0.9), beta2(0.99), tau(1e-3)],
  fedprox: [{ key: 'mu', label: 'Proximal term μ (sent to clients as proxMu)', defaultValue: 0.01, step: 0.001 }],
};

export const AGGREGATORS = [
  { id: 'mean', label: 'Mean (weighted by examples)' },
  { id: 'median', label: 'Coordinate-wise median' },
  { id: 'trimmed-mean', label: 'Trimmed mean' },
  { id: 'krum', label: 'Krum' },
  { id: 'multi-krum', label: 'Multi-Krum' },
] as const;

export interface StrategyFormState {
  /** Server-optimizer values by option key (absent = default). */
  readonly server: Readonly<Record<string, string>>;
  readonly aggregator: string;
  readonly trimBeta: string;
  readonly krumF: string;
  /** Blank = clients received − f. */
  readonly krumM: string;
  /** Blank = no norm bound. */
  readonly normBound: string;
  readonly dpOn: boolean;
  readonly dpClipNorm: string;
  readonly dpNoise: string;
  /** Blank = the number of updates received each round. */
  readonly dpExpected: string;
  /** Participants the clients of a round are drawn from; sampling rate = clients per round ÷ this. */
  readonly dpPopulation: string;
  readonly dpDelta: string;
  /** Blank = no budget. */
  readonly dpBudget: string;
  readonly dpAdaptive: boolean;
  readonly localDpOn: boolean;
  readonly localClipNorm: string;
  readonly localNoise: string;
}

export const DEFAULT_STRATEGY_FORM: StrategyFormState = {
  server: {},
  aggregator: 'mean',
  trimBeta: '0.1',
  krumF: '1',
  krumM: '',
  normBound: '',
  dpOn: false,
  dpClipNorm: '1',
  dpNoise: '1.1',
  dpExpected: '',
  dpPopulation: '100',
  dpDelta: '1e-5',
  dpBudget: '',
  dpAdaptive: false,
  localDpOn: false,
  localClipNorm: '1',
  localNoise: '0.1',
};

/** Blank → undefined; anything else → a number (NaN reaches the server, which names the option). */
const num = (text: string): number | undefined => (text.trim() === '' ? undefined : Number(text));

/** Client sampling rate q of the accountant: clients per round ÷ population, at most 1. */
export function sampleRateOf(clientsPerRound: number, populationText: string): number | undefined {
  const population = num(populationText);
  if (population === undefined || !(population > 0) || !(clientsPerRound > 0)) return undefined;
  return Math.min(1, clientsPerRound / population);
}

/** `strategy.options` for the task config. */
export function strategyOptionsFromForm(strategy: string, s: StrategyFormState, clientsPerRound: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const spec of SERVER_OPTIONS[strategy] ?? []) out[spec.key] = num(s.server[spec.key] ?? '') ?? spec.defaultValue;
  out.aggregator = s.aggregator;
  if (s.aggregator === 'trimmed-mean') out.trimBeta = num(s.trimBeta);
  if (s.aggregator === 'krum' || s.aggregator === 'multi-krum') out.krumF = num(s.krumF);
  if (s.aggregator === 'multi-krum' && num(s.krumM) !== undefined) out.krumM = num(s.krumM);
  if (num(s.normBound) !== undefined) out.clipNorm = num(s.normBound);
  if (s.dpOn) {
    const dp: Record<string, unknown> = { clipNorm: num(s.dpClipNorm), noiseMultiplier: num(s.dpNoise), targetDelta: num(s.dpDelta) };
    if (num(s.dpExpected) !== undefined) dp.expectedClients = num(s.dpExpected);
    const q = sampleRateOf(clientsPerRound, s.dpPopulation);
    if (q !== undefined) dp.sampleRate = q;
    if (num(s.dpBudget) !== undefined) dp.epsilonBudget = num(s.dpBudget);
    if (s.dpAdaptive) dp.adaptiveClipping = {};
    out.dp = dp;
  }
  for (const [k, v] of Object.entries(out)) if (v === undefined) delete out[k];
  return out;
}

/** The task config's `privacy` (local DP), or nothing when it is off. */
export function privacyFromForm(s: StrategyFormState): { privacy?: { localDp: { clipNorm: number | undefined; noiseMultiplier: number | undefined } } } {
  return s.localDpOn ? { privacy: { localDp: { clipNorm: num(s.localClipNorm), noiseMultiplier: num(s.localNoise) } } } : {};
}

const LABELS: Record<string, string> = {
  aggregator: 'Robust aggregation',
  trimBeta: 'Trimmed mean: fraction trimmed (β)',
  krumF: 'Krum: Byzantine clients assumed (f)',
  krumM: 'Multi-Krum: updates averaged (m)',
  clipNorm: 'Norm bound',
  dp: 'Differential privacy',
  'dp.clipNorm': 'Differential privacy: clip norm',
  'dp.noiseMultiplier': 'Differential privacy: noise multiplier',
  'dp.expectedClients': 'Differential privacy: expected clients per round',
  'dp.sampleRate': 'Differential privacy: sampling rate (clients per round ÷ population)',
  'dp.targetDelta': 'Differential privacy: target δ',
  'dp.epsilonBudget': 'Differential privacy: ε budget',
  'dp.adaptiveClipping': 'Differential privacy: adaptive clipping',
  'dp.adaptiveClipping.countStddev': 'Differential privacy: adaptive clipping',
  'localDp.clipNorm': 'Local DP: clip norm',
  'localDp.noiseMultiplier': 'Local DP: noise multiplier',
  localDp: 'Local DP',
};

/**
 * A server INVALID_CONFIG about these options ("config.strategy.options.dp.clipNorm: must be > 0"),
 * in plain words for the field it names; null for errors about other parts of the form.
 */
export function strategyErrorInWords(message: string | null): string | null {
  if (!message) return null;
  const m = /(?:^|\s)(?:config\.)?(?:strategy\.options|privacy)\.([\w.]+):\s*(.*)$/s.exec(message);
  if (!m) return null;
  const path = m[1]!;
  const spec = Object.values(SERVER_OPTIONS).flat().find((o) => o.key === path);
  const label = LABELS[path] ?? spec?.label ?? path;
  const reason = m[2]!.replace(/^unknown option$/, 'is not an option of this strategy');
  // "Clip norm must be > 0" reads better than "Clip norm: must be > 0".
  return /^(must|is|needs) /.test(reason) ? `${label} ${reason}` : `${label}: ${reason}`;
}

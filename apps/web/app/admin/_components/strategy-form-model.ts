import type { JsonSchema, StrategyCatalog } from '@chorus/core';

/**
 * The create form's strategy, robustness and privacy options: what the operator sees and how it
 * becomes the task config. A strategy's own options and an aggregator's options are drawn from the
 * JSON Schemas GET /api/strategies serves (labels, defaults, bounds and hints all come from the zod
 * schemas in @chorus/core), so a new strategy, aggregator or option needs no change here. Number
 * fields are kept as typed text so an empty field means "the server's default".
 */

export type OptionKind = 'number' | 'integer' | 'boolean' | 'enum' | 'string';

/** One input drawn from a property of an options schema. */
export interface OptionField {
  readonly key: string;
  readonly label: string;
  readonly description?: string;
  readonly kind: OptionKind;
  readonly defaultValue?: number | boolean | string;
  readonly minimum?: number;
  readonly maximum?: number;
  /** Choices of an enum field. */
  readonly choices?: readonly string[];
}

/** Options the shared fieldsets draw (aggregator, norm bound, DP) carry `group` in their schema metadata. */
const SHARED_GROUP = 'aggregation';

interface PropertySchema {
  readonly type?: string;
  readonly title?: string;
  readonly description?: string;
  readonly default?: unknown;
  readonly minimum?: number;
  readonly exclusiveMinimum?: number;
  readonly maximum?: number;
  readonly exclusiveMaximum?: number;
  readonly enum?: readonly unknown[];
  readonly group?: string;
}

function fieldOf(key: string, p: PropertySchema): OptionField | null {
  const kind: OptionKind | null = p.enum ? 'enum' : p.type === 'number' || p.type === 'integer' || p.type === 'boolean' || p.type === 'string' ? p.type : null;
  if (!kind) return null; // objects and arrays have no single input; the API still takes them
  const def = p.default;
  const minimum = p.minimum ?? p.exclusiveMinimum;
  const maximum = p.maximum ?? p.exclusiveMaximum;
  return {
    key,
    label: p.title ?? key,
    ...(p.description !== undefined ? { description: p.description } : {}),
    kind,
    ...(typeof def === 'number' || typeof def === 'boolean' || typeof def === 'string' ? { defaultValue: def } : {}),
    // zod writes ±MAX_SAFE_INTEGER for an unbounded integer: no bound worth showing.
    ...(minimum !== undefined && Math.abs(minimum) < Number.MAX_SAFE_INTEGER ? { minimum } : {}),
    ...(maximum !== undefined && Math.abs(maximum) < Number.MAX_SAFE_INTEGER ? { maximum } : {}),
    ...(p.enum ? { choices: p.enum.map(String) } : {}),
  };
}

/** The inputs for an options schema's properties, in schema order; `group`ed (shared) options left out. */
export function fieldsFromSchema(schema: JsonSchema | undefined): OptionField[] {
  const properties = (schema?.properties ?? {}) as Readonly<Record<string, PropertySchema>>;
  return Object.entries(properties).flatMap(([key, p]) => (p.group === SHARED_GROUP ? [] : (fieldOf(key, p) ?? [])));
}

/** The strategy's own options (server optimizer and the like). */
export function strategyFields(catalog: StrategyCatalog | null, strategy: string): OptionField[] {
  return fieldsFromSchema(catalog?.strategies.find((s) => s.id === strategy)?.optionsSchema);
}

/** The options the chosen aggregator reads (trimBeta for trimmed-mean, …). */
export function aggregatorFields(catalog: StrategyCatalog | null, aggregator: string): OptionField[] {
  const schema = catalog?.aggregators.find((a) => a.id === aggregator)?.optionsSchema;
  const properties = (schema?.properties ?? {}) as Readonly<Record<string, PropertySchema>>;
  return Object.entries(properties).flatMap(([key, p]) => fieldOf(key, p) ?? []);
}

/** What an input shows before the operator types: the schema's default, or blank. */
export const fieldText = (f: OptionField, typed: string | undefined): string => typed ?? (f.defaultValue === undefined ? '' : String(f.defaultValue));

/** Typed text → the option's value; blank → undefined (the server's default). NaN reaches the server, which names the option. */
function fieldValue(f: OptionField, typed: string | undefined): unknown {
  if (typed === undefined) return f.defaultValue;
  if (typed.trim() === '') return undefined;
  if (f.kind === 'number' || f.kind === 'integer') return Number(typed);
  if (f.kind === 'boolean') return typed === 'true';
  return typed;
}

export interface StrategyFormState {
  /** The strategy's own option values by key, as typed (absent = the schema's default). */
  readonly server: Readonly<Record<string, string>>;
  readonly aggregator: string;
  /** The aggregator's option values by key, as typed (absent = the schema's default). */
  readonly aggregatorOptions: Readonly<Record<string, string>>;
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
  aggregatorOptions: {},
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
export function strategyOptionsFromForm(catalog: StrategyCatalog | null, strategy: string, s: StrategyFormState, clientsPerRound: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of strategyFields(catalog, strategy)) out[f.key] = fieldValue(f, s.server[f.key]);
  out.aggregator = s.aggregator;
  for (const f of aggregatorFields(catalog, s.aggregator)) out[f.key] = fieldValue(f, s.aggregatorOptions[f.key]);
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

/** Labels of the hand-drawn DP fieldsets; every other option is labelled by its schema's title. */
const LABELS: Record<string, string> = {
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
export function strategyErrorInWords(message: string | null, catalog: StrategyCatalog | null = null): string | null {
  if (!message) return null;
  const m = /(?:^|\s)(?:config\.)?(?:strategy\.options|privacy)\.([\w.]+):\s*(.*)$/s.exec(message);
  if (!m) return null;
  const path = m[1]!;
  const label = LABELS[path] ?? titleOf(catalog, path) ?? path;
  const reason = m[2]!.replace(/^unknown option$/, 'is not an option of this strategy');
  // "Clip norm must be > 0" reads better than "Clip norm: must be > 0".
  return /^(must|is|needs) /.test(reason) ? `${label} ${reason}` : `${label}: ${reason}`;
}

/** The schema title of a top-level option, from any strategy or aggregator that declares it. */
function titleOf(catalog: StrategyCatalog | null, key: string): string | undefined {
  for (const entry of [...(catalog?.strategies ?? []), ...(catalog?.aggregators ?? [])]) {
    const title = ((entry.optionsSchema.properties ?? {}) as Readonly<Record<string, PropertySchema>>)[key]?.title;
    if (title) return title;
  }
  return undefined;
}

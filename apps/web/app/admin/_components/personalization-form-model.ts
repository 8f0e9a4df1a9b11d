import type { JsonSchema, StrategyCatalog } from '@chorus/core';
import { fieldsFromSchema, fieldText, type OptionField } from './strategy-form-model.js';

/**
 * The create form's personalization options (FedPer, FedRep, Ditto), drawn from the JSON Schema of
 * `config.personalization` that GET /api/strategies serves: the method list, titles, defaults,
 * bounds and hints come from the zod schema in @chorus/core, and a property's `methods` metadata
 * says which methods read it, so a new option needs no change here. The personal layers (a list)
 * are typed as comma-separated names.
 */

interface PersonalizationProperty {
  readonly methods?: readonly string[];
  readonly type?: string;
  readonly title?: string;
  readonly description?: string;
}

const LAYERS_KEY = 'personalLayers';

export interface PersonalizationFormState {
  readonly on: boolean;
  /** Option values by key, as typed (absent = the schema's default); `method` among them. */
  readonly values: Readonly<Record<string, string>>;
  /** Comma-separated layer names; blank = the server's default (the output head). */
  readonly layers: string;
}

export const DEFAULT_PERSONALIZATION_FORM: PersonalizationFormState = { on: false, values: {}, layers: '' };

function properties(catalog: StrategyCatalog | null): Readonly<Record<string, PersonalizationProperty>> {
  return ((catalog?.personalizationSchema as JsonSchema | undefined)?.properties ?? {}) as Readonly<Record<string, PersonalizationProperty>>;
}

const appliesTo = (p: PersonalizationProperty, method: string): boolean => p.methods === undefined || p.methods.includes(method);

/** The method field (an enum from the schema). */
export function methodField(catalog: StrategyCatalog | null): OptionField | undefined {
  // No catalog yet (still loading): nothing to draw.
  const method = properties(catalog).method;
  return method ? fieldsFromSchema({ properties: { method } }).at(0) : undefined;
}

/** The chosen method: as typed, else the schema's default. */
export function chosenMethod(catalog: StrategyCatalog | null, s: PersonalizationFormState): string {
  const f = methodField(catalog);
  return f ? fieldText(f, s.values.method) : (s.values.method ?? '');
}

/** The single-value options the chosen method reads, in schema order (the method itself and the layer list apart). */
export function personalizationFields(catalog: StrategyCatalog | null, method: string): OptionField[] {
  const picked = Object.fromEntries(Object.entries(properties(catalog)).filter(([key, p]) => key !== 'method' && key !== LAYERS_KEY && appliesTo(p, method)));
  return fieldsFromSchema({ properties: picked });
}

/** The layer-list input's label and hint, when the chosen method reads one. */
export function layersField(catalog: StrategyCatalog | null, method: string): { label: string; description?: string } | undefined {
  const p = properties(catalog)[LAYERS_KEY];
  if (!p || !appliesTo(p, method)) return undefined;
  return { label: p.title ?? LAYERS_KEY, ...(p.description !== undefined ? { description: p.description } : {}) };
}

/** Typed text → value; blank → the server's default. NaN reaches the server, which names the option. */
function valueOf(f: OptionField, typed: string | undefined): unknown {
  if (typed === undefined) return f.defaultValue;
  if (typed.trim() === '') return undefined;
  if (f.kind === 'number' || f.kind === 'integer') return Number(typed);
  if (f.kind === 'boolean') return typed === 'true';
  return typed;
}

/** The task config's `personalization`, or nothing when it is off. */
export function personalizationFromForm(catalog: StrategyCatalog | null, s: PersonalizationFormState): { personalization?: Record<string, unknown> } {
  if (!s.on) return {};
  const method = chosenMethod(catalog, s);
  const out: Record<string, unknown> = { method };
  for (const f of personalizationFields(catalog, method)) {
    const v = valueOf(f, s.values[f.key]);
    if (v !== undefined) out[f.key] = v;
  }
  const layers = s.layers
    .split(',')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  if (layersField(catalog, method) && layers.length > 0) out[LAYERS_KEY] = layers;
  return { personalization: out };
}

/**
 * A server INVALID_CONFIG about these options ("config.personalization.lambda: must be in [0, 100]"),
 * in plain words for the field it names; null for errors about other parts of the form.
 */
export function personalizationErrorInWords(message: string | null, catalog: StrategyCatalog | null): string | null {
  if (!message) return null;
  const m = /(?:^|\s)(?:config\.)?personalization\.(\w+)(?:\.\d+)?:\s*(.*)$/s.exec(message);
  if (!m) return null;
  const label = properties(catalog)[m[1]!]?.title ?? m[1]!;
  const reason = m[2]!;
  return /^(must|is|needs) /.test(reason) ? `${label} ${reason}` : `${label}: ${reason}`;
}

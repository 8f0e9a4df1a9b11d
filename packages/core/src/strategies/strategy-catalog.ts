import { z } from 'zod';
import { listCodecs } from '../codecs/codec-registry.js';
import { personalizationSchema } from '../protocol/personalization.js';
import { listAggregators } from './aggregators/aggregator-registry.js';
import { listStrategies } from './registry.js';

/** A JSON Schema document (draft 2020-12) as `z.toJSONSchema` writes it. */
export type JsonSchema = Readonly<Record<string, unknown>>;

/**
 * What GET /api/strategies answers: every registered strategy and aggregator with its options as
 * JSON Schema, the codecs, and the personalization options. The console draws its option fields from this, so a new strategy,
 * aggregator or option shows there without a console change.
 */
export interface StrategyCatalog {
  readonly strategies: readonly { readonly id: string; readonly description: string; readonly optionsSchema: JsonSchema }[];
  readonly aggregators: readonly { readonly id: string; readonly description: string; readonly streaming: boolean; readonly optionsSchema: JsonSchema }[];
  readonly codecs: readonly { readonly id: string; readonly description: string }[];
  /** `config.personalization`'s options (FedPer, FedRep, Ditto); `methods` in a property's metadata says which methods read it. */
  readonly personalizationSchema: JsonSchema;
}

/**
 * The options a caller may send, as JSON Schema: `io: 'input'` so an option with a default is not
 * required; refinements (cross-option checks) have no JSON Schema form and stay server-side.
 */
export function optionsJsonSchema(schema: z.ZodType): JsonSchema {
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
}

/** The registries as they are now (a strategy registered later shows up in the next call). */
export function strategyCatalog(): StrategyCatalog {
  return {
    strategies: listStrategies().map((s) => ({ id: s.id, description: s.description, optionsSchema: optionsJsonSchema(s.optionsSchema) })),
    aggregators: listAggregators().map((a) => ({ id: a.id, description: a.description, streaming: a.streaming, optionsSchema: optionsJsonSchema(a.optionsSchema) })),
    codecs: listCodecs().map((c) => ({ id: c.id, description: c.description })),
    personalizationSchema: optionsJsonSchema(personalizationSchema),
  };
}

import type { TensorSpec } from '../weights/layout.js';
import { encodePayload, parsePayload } from '../weights/payload.js';
import type { ClientUpdate, RoundContext } from './strategy.js';

/** Test fixtures: real float32 payloads, parsed exactly as the server parses client uploads. */
export function vectorLayout(length: number): TensorSpec[] {
  return [{ name: 'w', shape: [length] }];
}

export function float32Update(participantId: string, values: readonly number[], numExamples = 1): ClientUpdate {
  const layout = vectorLayout(values.length);
  const bytes = encodePayload({ layout, values: Float32Array.from(values) }, 'float32');
  return { participantId, numExamples, update: parsePayload(bytes, { layout, maxBytes: bytes.byteLength }), metrics: {} };
}

export function roundContext(global: readonly number[], round = 1, selected = 10, population = 100): RoundContext {
  return { round, version: round - 1, layout: vectorLayout(global.length), global: Float32Array.from(global), selected, population };
}

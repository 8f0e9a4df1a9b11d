import type { RandomSource } from '../codecs/codec.js';
import { firstNonFinite } from '../codecs/codec-checks.js';
import { INT8_CHUNK } from '../codecs/int8-codec.js';
import { ChorusError } from '../errors/chorus-error.js';
import type { FlatWeights } from './layout.js';
import { encodePayload, maxPayloadBytes, parsePayload } from './payload.js';

/**
 * A difference from any version a participant holds to the one it is invited to train (the
 * `/delta?from=u` download): int8 with stochastic rounding, one scale per 256 values. Unlike a
 * version's own step (model-delta.ts), applying it does not give the version bit for bit: the
 * result is the version plus an error e with |e_i| < the step of its chunk (max |Δ| / 127), so
 * ‖e‖ ≤ nearDeltaErrorBound — the codec's stated error, checked against the invite's sketch.
 * One download replaces a chain of ~1/C steps (each as large), which is why it is worth the error.
 */
export const NEAR_DELTA_CODEC = 'int8' as const;

/** int8 payload of `target − base.values` (the server encodes it once per (from, to) pair). */
export function encodeNearDelta(base: FlatWeights, target: Float32Array, random: RandomSource): Uint8Array {
  if (target.length !== base.values.length) {
    throw new ChorusError('SHAPE_MISMATCH', `encodeNearDelta: the base has ${base.values.length} values, the target ${target.length}`);
  }
  const diff = new Float32Array(target.length);
  for (let i = 0; i < diff.length; i++) diff[i] = target[i]! - base.values[i]!;
  return encodePayload({ layout: base.layout, values: diff }, NEAR_DELTA_CODEC, random);
}

/**
 * The stated error of an int8-decoded difference: every value of a chunk is within one step
 * (the chunk's max |value| / 127, which the decoded maximum reproduces: ±127 decodes exactly), so
 * the error's L2 norm is at most √(Σ chunk size × step²).
 */
export function nearDeltaErrorBound(decoded: Float32Array): number {
  let sum = 0;
  for (let from = 0; from < decoded.length; from += INT8_CHUNK) {
    const to = Math.min(from + INT8_CHUNK, decoded.length);
    let max = 0;
    for (let i = from; i < to; i++) max = Math.max(max, Math.abs(decoded[i]!));
    const step = max / 127;
    sum += (to - from) * step * step;
  }
  // The scale is rounded to float32 before use: allow it a relative hair.
  return Math.sqrt(sum) * (1 + 1e-6);
}

/**
 * `base + decode(delta)` in float32 and the error bound it holds to, after validating the delta as
 * strictly as an upload (the base's layout, int8 only, finite values). Throws ChorusError
 * (SHAPE_MISMATCH, UNKNOWN_CODEC, BAD_REQUEST, NON_FINITE, PAYLOAD_TOO_LARGE).
 */
export function applyNearDelta(base: FlatWeights, delta: Uint8Array): { values: Float32Array; errorBound: number } {
  const parsed = parsePayload(delta, { layout: base.layout, maxBytes: maxPayloadBytes(base.layout, NEAR_DELTA_CODEC), codecs: [NEAR_DELTA_CODEC] });
  const out = parsed.decode();
  const errorBound = nearDeltaErrorBound(out);
  const b = base.values;
  for (let i = 0; i < out.length; i++) out[i] = b[i]! + out[i]!;
  const bad = firstNonFinite(out);
  if (bad >= 0) throw new ChorusError('NON_FINITE', `the model difference makes value #${bad} non-finite`);
  return { values: out, errorBound };
}

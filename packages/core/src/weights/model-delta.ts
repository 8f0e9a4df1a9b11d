import type { CodecId, RandomSource } from '../codecs/codec.js';
import { firstNonFinite } from '../codecs/codec-checks.js';
import { ChorusError } from '../errors/chorus-error.js';
import type { FlatWeights, TensorSpec } from './layout.js';
import { encodePayload, maxPayloadBytes, parsePayload } from './payload.js';

/**
 * Differential model downloads. A version's difference from the one before is encoded with a
 * task's download codec, and the server's next version is *defined* as
 * `previous + decode(encoded difference)` computed in float32 — exactly what a client holding the
 * previous version computes. So a client that applies the differences holds the server's weights
 * bit for bit, and an exact hash (`modelHash`) in the invite can tell drift from agreement. The
 * cost is the codec's rounding error, which lands in the global model once per round (unbiased for
 * these codecs) instead of in every client's copy; ARCHITECTURE.md says what that costs.
 */

/** Codecs a version's difference may use: dense and unbiased (top-k would drop the rest of the step). */
export const DOWNLOAD_CODEC_IDS = ['float32', 'float16', 'int8', 'hadamard1', 'hadamard2', 'hadamard4'] as const satisfies readonly CodecId[];
export type DownloadCodecId = (typeof DOWNLOAD_CODEC_IDS)[number];

export interface ModelStep {
  /** The encoded difference (a payload with the model's layout): what the `/delta` route serves. */
  readonly delta: Uint8Array;
  /** `base + decode(delta)` in float32: the version clients will hold. */
  readonly values: Float32Array;
}

/**
 * Turns a strategy's proposed next model into the committed one: the difference from `base` is
 * encoded once (stochastic rounding from `random`, rotation from `seed`), and the committed weights
 * are the base plus its decoding, so that they equal what every client rebuilds.
 */
export function encodeModelStep(base: FlatWeights, proposed: Float32Array, codec: DownloadCodecId, random: RandomSource, seed: number): ModelStep {
  if (proposed.length !== base.values.length) {
    throw new ChorusError('SHAPE_MISMATCH', `encodeModelStep: the base has ${base.values.length} values, the proposed model ${proposed.length}`);
  }
  const diff = new Float32Array(proposed.length);
  for (let i = 0; i < diff.length; i++) diff[i] = proposed[i]! - base.values[i]!;
  const delta = encodePayload({ layout: base.layout, values: diff }, codec, random, { seed });
  return { delta, values: applyModelDelta(base, delta) };
}

/**
 * `base + decode(delta)` in float32, after validating the delta as strictly as an upload: the
 * layout must be the base's, the codec one of DOWNLOAD_CODEC_IDS, every value finite. Throws
 * ChorusError (SHAPE_MISMATCH, BAD_REQUEST, NON_FINITE, PAYLOAD_TOO_LARGE).
 */
export function applyModelDelta(base: FlatWeights, delta: Uint8Array): Float32Array {
  const parsed = parsePayload(delta, { layout: base.layout, maxBytes: maxModelDeltaBytes(base.layout), codecs: DOWNLOAD_CODEC_IDS });
  const out = parsed.decode();
  const b = base.values;
  for (let i = 0; i < out.length; i++) out[i] = b[i]! + out[i]!;
  const bad = firstNonFinite(out);
  if (bad >= 0) throw new ChorusError('NON_FINITE', `the model difference makes value #${bad} non-finite`);
  return out;
}

/**
 * A 64-bit hash (16 hex digits) of the exact float32 bits of a model, to check that a client's copy
 * is the server's. Two multiplicative lanes over 32-bit words: not cryptographic (the server is
 * trusted for the model anyway), but any changed bit changes it, and it runs in a few ms per
 * million values on any page, secure context or not.
 */
export function modelHash(values: Float32Array): string {
  const words = new Uint32Array(values.buffer, values.byteOffset, values.length);
  let h1 = 0x811c9dc5 ^ values.length;
  let h2 = 0x9747b28c;
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    h1 = Math.imul(h1 ^ w, 0x01000193);
    h2 = Math.imul(h2 ^ w, 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 0x85ebca6b);
  h1 = Math.imul(h1 ^ (h1 >>> 13), 0xc2b2ae35);
  h1 ^= h1 >>> 16;
  h2 = Math.imul(h2 ^ (h2 >>> 16), 0x85ebca6b);
  h2 = Math.imul(h2 ^ (h2 >>> 13), 0xc2b2ae35);
  h2 ^= h2 >>> 16;
  return (h1 >>> 0).toString(16).padStart(8, '0') + (h2 >>> 0).toString(16).padStart(8, '0');
}

/** Largest valid difference for a layout (the float32 one): larger bodies are refused unread. */
export function maxModelDeltaBytes(layout: readonly TensorSpec[]): number {
  return Math.max(...DOWNLOAD_CODEC_IDS.map((c) => maxPayloadBytes(layout, c)));
}

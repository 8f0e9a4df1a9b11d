import { clipToNorm, decodePayload, encodePayload, getCodec, l2Norm, type CodecId, type EncodeOptions, type RandomSource, type TensorSpec } from '@chorus/core';

/** Margin under the bound per retry: quantization noise can lift a clipped update's norm a little. */
const SHRINK = 0.95;

/**
 * Encodes an update whose *decoded* norm fits the server's bound for the round (`maxUpdateNorm` in
 * the invite): an honest update that trained hard is clipped rather than refused. int8 rounding is
 * stochastic, so the decoded norm is checked and the update shrunk again in the rare case it grew
 * past the bound.
 */
export function encodeBoundedUpdate(
  layout: readonly TensorSpec[],
  values: Float32Array,
  codec: CodecId,
  random: RandomSource,
  maxNorm: number | undefined,
  options?: EncodeOptions,
): Uint8Array {
  if (maxNorm === undefined) return encodePayload({ layout, values }, codec, random, options);
  let target = maxNorm;
  let bytes: Uint8Array = new Uint8Array(0);
  for (let attempt = 0; attempt < 5; attempt++) {
    bytes = encodePayload({ layout, values: clipToNorm(values, target) }, codec, random, options);
    if (l2Norm(decodePayload(bytes).values) <= maxNorm) return bytes;
    target *= SHRINK;
  }
  return bytes;
}

export interface FedBackUpdate {
  readonly bytes: Uint8Array;
  /** What to keep for the next update (codecs with `errorFeedback`); undefined for the others. */
  readonly residual?: Float32Array;
}

/**
 * Error feedback around encodeBoundedUpdate for biased codecs (top-k): the previous residual is
 * added first, and the new residual is everything the server will not see — the coordinates not
 * sent, the quantization error, and what clipping to the bound removed. The residual itself is
 * clipped to the bound, so an update that always trains past the bound cannot grow it round after
 * round. Unbiased codecs (float*, int8, hadamard*) need no feedback and return no residual.
 */
export function encodeWithFeedback(
  layout: readonly TensorSpec[],
  values: Float32Array,
  codec: CodecId,
  random: RandomSource,
  maxNorm: number | undefined,
  previous: Float32Array | undefined,
  options?: EncodeOptions,
): FedBackUpdate {
  if (!getCodec(codec).errorFeedback) return { bytes: encodeBoundedUpdate(layout, values, codec, random, maxNorm, options) };
  const input = Float32Array.from(values);
  if (previous && previous.length === input.length) for (let i = 0; i < input.length; i++) input[i] += previous[i]!;
  const bytes = encodeBoundedUpdate(layout, input, codec, random, maxNorm, options);
  const sent = decodePayload(bytes).values;
  const residual = new Float32Array(input.length);
  for (let i = 0; i < input.length; i++) residual[i] = input[i]! - sent[i]!;
  return { bytes, residual: maxNorm === undefined ? residual : clipToNorm(residual, maxNorm) };
}

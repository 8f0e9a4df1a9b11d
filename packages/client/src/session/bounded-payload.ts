import { clipToNorm, decodePayload, encodePayload, l2Norm, type CodecId, type RandomSource, type TensorSpec } from '@chorus/core';

/** Margin under the bound per retry: quantization noise can lift a clipped update's norm a little. */
const SHRINK = 0.95;

/**
 * Encodes an update whose *decoded* norm fits the server's bound for the round (`maxUpdateNorm` in
 * the invite): an honest update that trained hard is clipped rather than refused. int8 rounding is
 * stochastic, so the decoded norm is checked and the update shrunk again in the rare case it grew
 * past the bound.
 */
export function encodeBoundedUpdate(layout: readonly TensorSpec[], values: Float32Array, codec: CodecId, random: RandomSource, maxNorm: number | undefined): Uint8Array {
  if (maxNorm === undefined) return encodePayload({ layout, values }, codec, random);
  let target = maxNorm;
  let bytes: Uint8Array = new Uint8Array(0);
  for (let attempt = 0; attempt < 5; attempt++) {
    bytes = encodePayload({ layout, values: clipToNorm(values, target) }, codec, random);
    if (l2Norm(decodePayload(bytes).values) <= maxNorm) return bytes;
    target *= SHRINK;
  }
  return bytes;
}

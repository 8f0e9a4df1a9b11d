/**
 * From a float update to ring integers and back. The participant clips its update to the norm
 * bound, scales it by weight/maxWeight (so the weighted sum stays in range), rotates it, clamps
 * each value to ±range and rounds stochastically to an integer in [−levels, levels]; the weight
 * itself rides along as one more value, rounded the same way. Stochastic rounding is unbiased, so
 * the server's decoded weighted mean is the one FedAvg computes, up to quantization noise (and
 * the rare clamp of a rotated value beyond `rangeFactor` standard deviations).
 */
import { clipToNorm } from '../strategies/update-bounds.js';
import type { Rotation } from './rotation.js';
import type { SecAggShape } from './secagg-params.js';
import { SecAggError } from './secagg-error.js';
import { expandWords, randomBytes } from './webcrypto.js';

const TWO_32 = 4294967296;

/** Integer in [−levels, levels] as a ring element (two's complement in 32 bits). */
function stochasticRound(v: number, word: number): number {
  const f = Math.floor(v);
  return f + (word / TWO_32 < v - f ? 1 : 0);
}

/** Re-draws of the stochastic rounding before a strict clip falls back to rounding toward zero. */
const STRICT_ATTEMPTS = 8;

/** The quantized, not yet masked, vector (length maskedLength; the weight is the last value). */
export async function quantizeUpdate(shape: SecAggShape, rotation: Rotation, update: Float32Array, examples: number): Promise<Uint32Array> {
  const { setup, levels, range, maskedLength } = shape;
  if (update.length !== setup.length) throw new SecAggError('MALFORMED', `the update has ${update.length} values, the round expects ${setup.length}`);
  if (!Number.isFinite(examples) || examples <= 0) throw new SecAggError('MALFORMED', 'the example count must be a positive number');
  for (let i = 0; i < update.length; i++) {
    if (!Number.isFinite(update[i]!)) throw new SecAggError('MALFORMED', `update value ${i} is not finite`);
  }
  const share = Math.min(examples, setup.maxWeight) / setup.maxWeight;
  const toLevels = (levels * share) / range;
  const strict = setup.strictClip ? strictBound(shape, toLevels) : undefined;
  const rotated = rotation.apply(clipToNorm(update, strict ? strict.clipTo : setup.clipNorm));
  const out = new Uint32Array(maskedLength);
  for (let attempt = 0; ; attempt++) {
    // Fresh randomness for rounding, from a random key (crypto.getRandomValues caps at 64 KiB a call).
    const words = await expandWords(randomBytes(32), maskedLength);
    let squares = 0;
    for (let i = 0; i < rotated.length; i++) {
      const q = stochasticRound(Math.max(-levels, Math.min(levels, rotated[i]! * toLevels)), words[i]!);
      out[i] = q;
      squares += q * q;
    }
    out[maskedLength - 1] = stochasticRound(levels * share, words[maskedLength - 1]!);
    if (!strict || squares <= strict.squares) return out;
    if (attempt + 1 >= STRICT_ATTEMPTS) break;
  }
  // Rounding toward zero never lengthens a vector: the bound holds whatever the draws did.
  for (let i = 0; i < rotated.length; i++) out[i] = Math.trunc(Math.max(-levels, Math.min(levels, rotated[i]! * toLevels)));
  return out;
}

/**
 * With strictClip the rounded vector q (in levels) must satisfy ‖q‖ ≤ clipNorm·toLevels, so that
 * its decoded contribution is never longer than clipNorm. Stochastic rounding adds independent
 * errors of variance p(1 − p) ≤ ¼ per value, so E‖q‖² ≤ ‖v‖² + D/4 with a spread of about
 * √(‖v‖² + D/8). The update is clipped to a norm that leaves room for the mean and four spreads;
 * the rare draw still too long is re-drawn (and, after STRICT_ATTEMPTS, rounded toward zero).
 */
function strictBound(shape: SecAggShape, toLevels: number): { clipTo: number; squares: number } {
  const bound = shape.setup.clipNorm * toLevels;
  const squares = bound * bound;
  const d = shape.paddedLength;
  const room = squares - d / 4 - 4 * Math.sqrt(squares + d / 8);
  // Too few levels for that room: clip to half and let the fallback keep the bound.
  const fraction = room > squares / 4 ? Math.sqrt(room / squares) : 0.5;
  return { clipTo: shape.setup.clipNorm * fraction, squares };
}

/** What the server learns: the weighted mean and the total weight, nothing per participant. */
export interface DecodedSum {
  readonly mean: Float32Array;
  /** The summed examples (an unbiased estimate: each weight was rounded to the ring's levels). */
  readonly examples: number;
}

/** Centred lift of a ring value to a signed integer. */
function lift(v: number, bits: number): number {
  const m = bits === 32 ? v >>> 0 : v & (2 ** bits - 1);
  return m >= 2 ** (bits - 1) ? m - 2 ** bits : m;
}

/** The weighted mean from the unmasked ring sum (length maskedLength). */
export function decodeSum(shape: SecAggShape, rotation: Rotation, sum: Uint32Array): DecodedSum {
  const { ringBits, range, levels, setup, paddedLength } = shape;
  const weight = lift(sum[paddedLength]!, ringBits);
  if (weight <= 0) throw new SecAggError('BELOW_THRESHOLD', 'the unmasked sum carries no weight');
  const rotated = new Float64Array(paddedLength);
  for (let i = 0; i < paddedLength; i++) rotated[i] = lift(sum[i]!, ringBits);
  const unrotated = rotation.invert(rotated);
  const mean = new Float32Array(setup.length);
  // Σ q ≈ (levels/range)·rot(Σ wᵢxᵢ/W) and Σ weight ≈ levels·Σ wᵢ/W, so the ratio is range·Σq/Σweight.
  const factor = range / weight;
  for (let i = 0; i < setup.length; i++) mean[i] = unrotated[i]! * factor;
  return { mean, examples: (weight * setup.maxWeight) / levels };
}

import type { RandomSource } from '../codecs/codec.js';
import { ChorusError } from '../errors/chorus-error.js';
import { addGaussianNoise, createSecureRandom } from './gaussian-noise.js';

export interface LocalDpOptions {
  /** L2 bound each update is clipped to. */
  readonly clipNorm: number;
  /** Noise std = noiseMultiplier × clipNorm. */
  readonly noiseMultiplier: number;
}

/**
 * Local DP for a participant's own update: clip `delta` to `clipNorm` and add N(0, (σ·C)²) to every
 * entry, in place, before it leaves the device. Returns the L2 norm before clipping.
 * `random` defaults to the platform CSPRNG; pass a seeded one only in tests.
 */
export function applyLocalDp(delta: Float32Array, options: LocalDpOptions, random: RandomSource = createSecureRandom()): number {
  if (!(options.clipNorm > 0)) throw new ChorusError('INVALID_CONFIG', `applyLocalDp: clipNorm must be > 0, got ${options.clipNorm}`);
  if (!(options.noiseMultiplier >= 0)) throw new ChorusError('INVALID_CONFIG', `applyLocalDp: noiseMultiplier must be ≥ 0, got ${options.noiseMultiplier}`);
  let sq = 0;
  for (let i = 0; i < delta.length; i++) sq += delta[i]! * delta[i]!;
  const norm = Math.sqrt(sq);
  if (!Number.isFinite(norm)) throw new ChorusError('NON_FINITE', 'applyLocalDp: the update has non-finite values');
  if (norm > options.clipNorm) {
    const scale = options.clipNorm / norm;
    for (let i = 0; i < delta.length; i++) delta[i]! *= scale;
  }
  addGaussianNoise(delta, options.noiseMultiplier * options.clipNorm, random);
  return norm;
}

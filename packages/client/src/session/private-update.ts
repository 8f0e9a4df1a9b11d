import { applyLocalDp, type LocalDpConfig, type RandomSource } from '@chorus/core';

/**
 * The update that leaves the device: with local DP configured for the task, a clipped and noised
 * copy of `delta` (the trainer's own array stays raw, so a saved update is never noised twice in
 * place); without it, `delta` itself. Noise comes from the platform CSPRNG unless a test passes
 * `random`: seeded noise could be subtracted by whoever guesses the seed.
 */
export function privateUpdate(delta: Float32Array, localDp: LocalDpConfig | undefined, random?: RandomSource): Float32Array {
  if (!localDp) return delta;
  const out = Float32Array.from(delta);
  applyLocalDp(out, localDp, random);
  return out;
}

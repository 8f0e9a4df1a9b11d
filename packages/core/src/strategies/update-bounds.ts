import type { LocalDpConfig, UpdateLimits } from '../protocol/task.js';
import { l2Norm } from './aggregators/robust-math.js';

/** The floor of the derived bound per √parameter, so a model initialised at zero still trains. */
const NORM_FLOOR_PER_SQRT_PARAM = 0.1;

/**
 * The largest L2 norm an update may have this round: the task's `maxUpdateNorm` when set, else
 * `normFactor × max(‖global‖₂, 0.1 × √n)`. Derived from the model being trained, so it scales with
 * any uploaded model without an operator having to guess a number.
 */
export function updateNormBound(limits: Pick<UpdateLimits, 'maxUpdateNorm' | 'normFactor'>, global: Float32Array, localDp?: LocalDpConfig): number {
  if (limits.maxUpdateNorm !== undefined) return limits.maxUpdateNorm;
  const scale = Math.max(l2Norm(global), NORM_FLOOR_PER_SQRT_PARAM * Math.sqrt(global.length));
  const derived = limits.normFactor * scale;
  if (!localDp) return derived;
  // Local DP adds N(0, (σC)²) per value: its norm concentrates at σC√n and exceeds σC(√n + 10)
  // with probability below e^-50. Honest noised updates must pass.
  const noised = localDp.clipNorm * (1 + localDp.noiseMultiplier * (Math.sqrt(global.length) + 10));
  return Math.max(derived, noised);
}

/** `values` scaled so that its L2 norm is at most `bound` (a copy when scaled, else the same array). */
export function clipToNorm(values: Float32Array, bound: number): Float32Array {
  const norm = l2Norm(values);
  if (!(norm > bound)) return values;
  const factor = bound / norm;
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i]! * factor;
  return out;
}

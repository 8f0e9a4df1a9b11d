import type { RandomSource } from '../codecs/codec.js';
import { gaussian } from '../random/seeded-random.js';

/** A uniform sample in (0, 1]: never 0, so its log is finite. */
function openUniform(random: RandomSource): number {
  return 1 - random();
}

/**
 * log of a Gamma(shape, 1) sample (Marsaglia & Tsang 2000). Kept in log space because for shape < 1
 * the boost u^(1/shape) underflows to 0 when shape is small (α = 0.01 gives u^100).
 */
export function logGammaSample(shape: number, random: RandomSource): number {
  if (shape < 1) return logGammaSample(shape + 1, random) + Math.log(openUniform(random)) / shape;
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = gaussian(random);
    const t = 1 + c * x;
    if (t <= 0) continue;
    const v = t * t * t;
    const u = openUniform(random);
    if (u < 1 - 0.0331 * x * x * x * x || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) {
      return Math.log(d * v);
    }
  }
}

/** A sample of the symmetric Dirichlet(alpha) distribution over `k` categories. */
export function dirichletSample(k: number, alpha: number, random: RandomSource): Float64Array {
  const logs = new Float64Array(k);
  let max = -Infinity;
  for (let i = 0; i < k; i++) {
    logs[i] = logGammaSample(alpha, random);
    if (logs[i]! > max) max = logs[i]!;
  }
  let sum = 0;
  for (let i = 0; i < k; i++) {
    logs[i] = Math.exp(logs[i]! - max);
    sum += logs[i]!;
  }
  for (let i = 0; i < k; i++) logs[i] = logs[i]! / sum;
  return logs;
}

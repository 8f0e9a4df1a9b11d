import { checkStateLength, type ServerOptimizer } from './server-optimizer.js';

export interface AdaptiveParams {
  /** Server learning rate η. */
  readonly eta: number;
  /** First-moment decay β1 (0 = no momentum). */
  readonly beta1: number;
  /** Second-moment decay β2 (unused by Adagrad). */
  readonly beta2: number;
  /** Adaptivity τ: keeps η·m/(√v+τ) finite where v is tiny. */
  readonly tau: number;
  /**
   * Flower's bias-corrected step size (FedAdam, FedYogi): η_t = η·√(1 − β2^(t+1)) / (1 − β1^(t+1)),
   * t the 1-based step number. Flower writes `server_round + 1.0`, one more than Kingma & Ba's α_t;
   * we copy the exponent so the same settings give the same numbers. Off: the paper's plain η.
   */
  readonly biasCorrection?: boolean;
}

/** Flower's `eta_norm` for step t (1-based): η·√(1 − β2^(t+1)) / (1 − β1^(t+1)). */
export function flowerBiasCorrectedEta(p: Pick<AdaptiveParams, 'eta' | 'beta1' | 'beta2'>, t: number): number {
  return (p.eta * Math.sqrt(1 - p.beta2 ** (t + 1))) / (1 - p.beta1 ** (t + 1));
}

/** How each method updates the second moment v from the pseudo-gradient Δ (Reddi et al. 2021, Alg. 2). */
type SecondMoment = (v: number, d2: number, beta2: number) => number;

const adagrad: SecondMoment = (v, d2) => v + d2;
const adam: SecondMoment = (v, d2, b2) => b2 * v + (1 - b2) * d2;
const yogi: SecondMoment = (v, d2, b2) => v - (1 - b2) * d2 * Math.sign(v - d2);

/**
 * m ← β1·m + (1−β1)·Δ; v ← secondMoment(v, Δ²); x ← x + η_t·m/(√v + τ), with η_t = η (the paper)
 * or Flower's bias-corrected step. Moments start at 0 and are kept as float32 (model-sized); the
 * step count t travels with them in checkpoints (a third, one-value array).
 */
function createAdaptive(p: AdaptiveParams, second: SecondMoment): ServerOptimizer {
  let m: Float32Array | null = null;
  let v: Float32Array | null = null;
  let t = 0;
  return {
    step(global, delta) {
      checkStateLength(m, global.length);
      checkStateLength(v, global.length);
      m ??= new Float32Array(global.length);
      v ??= new Float32Array(global.length);
      t++;
      const eta = p.biasCorrection ? flowerBiasCorrectedEta(p, t) : p.eta;
      const out = new Float32Array(global.length);
      for (let i = 0; i < out.length; i++) {
        const d = delta[i]!;
        const mi = p.beta1 * m[i]! + (1 - p.beta1) * d;
        const vi = second(v[i]!, d * d, p.beta2);
        m[i] = mi;
        v[i] = vi;
        out[i] = global[i]! + (eta * mi) / (Math.sqrt(vi) + p.tau);
      }
      return out;
    },
    exportState: () => (m && v ? [m.slice(), v.slice(), Float32Array.of(t)] : []),
    importState(arrays) {
      m = arrays[0] ? arrays[0].slice() : null;
      v = arrays[1] ? arrays[1].slice() : null;
      // Checkpoints written before the step count was kept: the step count is the one thing lost.
      t = arrays[2]?.[0] ?? 0;
    },
  };
}

/** FedAdagrad uses β1 = 0 unless told otherwise (Reddi et al. 2021 allow momentum; Flower does not). */
export const createAdagradServerOptimizer = (p: AdaptiveParams) => createAdaptive(p, adagrad);
export const createAdamServerOptimizer = (p: AdaptiveParams) => createAdaptive(p, adam);
export const createYogiServerOptimizer = (p: AdaptiveParams) => createAdaptive(p, yogi);

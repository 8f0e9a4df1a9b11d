import { ChorusError } from '../../errors/chorus-error.js';

/**
 * The server-side step (Reddi et al. 2021, "Adaptive Federated Optimization"): the aggregated client
 * delta Δ is a pseudo-gradient (pointing downhill), and the optimizer turns it into the next model.
 */
export interface ServerOptimizer {
  /** Returns a new vector; `global` is not modified. */
  step(global: Float32Array, delta: Float32Array): Float32Array;
  /** Optimizer moments for checkpoints; empty when stateless or before the first step. */
  exportState(): Float32Array[];
  importState(arrays: readonly Float32Array[]): void;
}

/** Moments restored from a checkpoint must fit the model they are applied to. */
export function checkStateLength(state: Float32Array | null, length: number): void {
  if (state && state.length !== length) {
    throw new ChorusError('SHAPE_MISMATCH', `server optimizer state holds ${state.length} values; the model has ${length}`);
  }
}

/** x ← x + η·Δ. η = 1 is plain FedAvg. */
export function createSgdServerOptimizer(eta: number): ServerOptimizer {
  return {
    step(global, delta) {
      const out = new Float32Array(global.length);
      for (let i = 0; i < out.length; i++) out[i] = global[i]! + eta * delta[i]!;
      return out;
    },
    exportState: () => [],
    importState: () => {},
  };
}

/** FedAvgM: m ← β·m + Δ; x ← x + η·m (Hsu et al. 2019; Flower's server momentum). */
export function createMomentumServerOptimizer(eta: number, momentum: number): ServerOptimizer {
  let m: Float32Array | null = null;
  return {
    step(global, delta) {
      checkStateLength(m, global.length);
      m ??= new Float32Array(global.length);
      const out = new Float32Array(global.length);
      for (let i = 0; i < out.length; i++) {
        m[i] = momentum * m[i]! + delta[i]!;
        out[i] = global[i]! + eta * m[i]!;
      }
      return out;
    },
    exportState: () => (m ? [m.slice()] : []),
    importState(arrays) {
      m = arrays[0] ? arrays[0].slice() : null;
    },
  };
}

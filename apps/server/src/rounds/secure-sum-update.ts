import type { EncodedUpdate, TensorSpec } from '@chorus/core';

/**
 * The unmasked weighted mean of a secure round as the one update the strategy aggregates: FedAvg
 * of a single update is that update, and server optimizers step on it as on any round's mean.
 */
export function secureSumUpdate(layout: readonly TensorSpec[], mean: Float32Array): EncodedUpdate {
  let norm = 0;
  for (let i = 0; i < mean.length; i++) norm += mean[i]! * mean[i]!;
  return {
    codec: 'float32',
    layout,
    length: mean.length,
    byteLength: 0,
    decode: (out) => {
      const target = out ?? new Float32Array(mean.length);
      target.set(mean);
      return target;
    },
    foldInto: (target, weight) => {
      for (let i = 0; i < mean.length; i++) target[i]! += weight * mean[i]!;
    },
    l2Norm: () => Math.sqrt(norm),
  };
}

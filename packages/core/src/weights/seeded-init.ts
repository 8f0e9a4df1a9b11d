import type { RandomSource } from '../codecs/codec.js';
import { createSeededRandom } from '../random/seeded-random.js';
import { layoutSize, tensorSize, type TensorSpec } from './layout.js';

/** Keras' fan computation: dense kernels [in, out]; conv kernels [...receptive, in, out]. */
function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length === 2) return { fanIn: shape[0]!, fanOut: shape[1]! };
  const receptive = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[shape.length - 2]! * receptive, fanOut: shape[shape.length - 1]! * receptive };
}

/**
 * Glorot-uniform kernels and zero biases, from our own seeded PRNG so every backend and process
 * agrees. It lives in core (not ml) because a participant rebuilds a template task's version 0
 * from the layout and seed alone, without TensorFlow.js: that version then costs no download.
 */
export function seededGlorotWeights(layout: readonly TensorSpec[], random: RandomSource): Float32Array {
  const values = new Float32Array(layoutSize(layout));
  let offset = 0;
  for (const spec of layout) {
    const n = tensorSize(spec.shape);
    if (spec.shape.length >= 2) {
      const { fanIn, fanOut } = fans(spec.shape);
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      for (let i = 0; i < n; i++) values[offset + i] = (2 * random() - 1) * limit;
    }
    offset += n;
  }
  return values;
}

/** A template task's version 0 as the server built it (createInitialModel with this seed). */
export function seededInitialWeights(layout: readonly TensorSpec[], seed: number): Float32Array {
  return seededGlorotWeights(layout, createSeededRandom(seed));
}

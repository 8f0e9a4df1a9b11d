import { ChorusError } from '../errors/chorus-error.js';

/** Name and shape of one tensor of a model, in the order the model lists its weights. */
export interface TensorSpec {
  readonly name: string;
  readonly shape: readonly number[];
}

/**
 * A model's weights as one flat float32 vector plus the layout that cuts it into tensors.
 * Aggregation, codecs and optimizers all work on the flat vector: one allocation, one loop.
 */
export interface FlatWeights {
  readonly layout: readonly TensorSpec[];
  readonly values: Float32Array;
}

export function tensorSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function layoutSize(layout: readonly TensorSpec[]): number {
  let n = 0;
  for (const t of layout) n += tensorSize(t.shape);
  return n;
}

/** Whether two layouts name the same tensors with the same shapes, in order. */
export function sameLayout(a: readonly TensorSpec[], b: readonly TensorSpec[]): boolean {
  return a.length === b.length && a.every((t, i) => t.name === b[i]!.name && t.shape.length === b[i]!.shape.length && t.shape.every((d, j) => d === b[i]!.shape[j]));
}

/** Throws SHAPE_MISMATCH naming the first tensor that differs. */
export function assertSameLayout(expected: readonly TensorSpec[], actual: readonly TensorSpec[], what = 'update'): void {
  if (expected.length !== actual.length) {
    throw new ChorusError('SHAPE_MISMATCH', `${what} has ${actual.length} tensors; the model has ${expected.length}`);
  }
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    const a = actual[i]!;
    if (e.name !== a.name || e.shape.length !== a.shape.length || e.shape.some((d, j) => d !== a.shape[j])) {
      throw new ChorusError('SHAPE_MISMATCH', `${what} tensor #${i} is "${a.name}" [${a.shape.join(', ')}]; the model expects "${e.name}" [${e.shape.join(', ')}]`);
    }
  }
}

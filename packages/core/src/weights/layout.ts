import { ChorusError } from '../errors/chorus-error.js';

/** Name and shape of one tensor of a model, in the order the model lists its weights. */
export interface TensorSpec {
  readonly name: string;
  readonly shape: readonly number[];
}

/** One named tensor with its values (row-major float32). */
export interface NamedTensor extends TensorSpec {
  readonly values: Float32Array;
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

export function flatten(tensors: readonly NamedTensor[]): FlatWeights {
  const values = new Float32Array(layoutSize(tensors));
  let offset = 0;
  for (const t of tensors) {
    const n = tensorSize(t.shape);
    if (t.values.length !== n) {
      throw new ChorusError('SHAPE_MISMATCH', `flatten: tensor "${t.name}" has ${t.values.length} values for shape [${t.shape.join(', ')}] (${n} expected)`);
    }
    values.set(t.values, offset);
    offset += n;
  }
  return { layout: tensors.map((t) => ({ name: t.name, shape: [...t.shape] })), values };
}

/** Views (no copies) of each tensor inside the flat vector. */
export function unflatten(flat: FlatWeights): NamedTensor[] {
  const out: NamedTensor[] = [];
  let offset = 0;
  for (const t of flat.layout) {
    const n = tensorSize(t.shape);
    out.push({ name: t.name, shape: t.shape, values: flat.values.subarray(offset, offset + n) });
    offset += n;
  }
  if (offset !== flat.values.length) {
    throw new ChorusError('SHAPE_MISMATCH', `unflatten: layout holds ${offset} values but the vector has ${flat.values.length}`);
  }
  return out;
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

import { describe, expect, it } from 'vitest';
import { ChorusError } from '../errors/chorus-error.js';
import { createSeededRandom } from '../random/seeded-random.js';
import { DOWNLOAD_CODEC_IDS, applyModelDelta, encodeModelStep, modelHash } from './model-delta.js';
import { encodePayload } from './payload.js';
import type { FlatWeights, TensorSpec } from './layout.js';

const layout: TensorSpec[] = [
  { name: 'dense/kernel', shape: [300, 7] },
  { name: 'dense/bias', shape: [7] },
];
const n = 300 * 7 + 7;

function model(seed: number, scale = 0.1): FlatWeights {
  const random = createSeededRandom(seed);
  return { layout, values: Float32Array.from({ length: n }, () => (random() - 0.5) * scale) };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof ChorusError ? err.code : 'not a ChorusError';
  }
  return undefined;
}

describe('differential downloads (model-delta)', () => {
  it.each(DOWNLOAD_CODEC_IDS)('%s: the committed version is exactly base + decoded difference, and close to the proposal', (codec) => {
    // Prepare: a base model and a proposed next model one small step away.
    const base = model(1);
    const step = model(2, 0.01).values;
    const proposed = base.values.map((v, i) => v + step[i]!);

    // Execute: the server commits; a client applies the served difference to its copy of the base.
    const { delta, values } = encodeModelStep(base, proposed, codec, createSeededRandom(3), 42);
    const client = applyModelDelta({ layout, values: base.values.slice() }, delta);

    // Assert: bit for bit equal (same hash), and the codec's error is a fraction of the step.
    expect(Buffer.from(client.buffer).equals(Buffer.from(values.buffer))).toBe(true);
    expect(modelHash(client)).toBe(modelHash(values));
    let err = 0;
    let norm = 0;
    for (let i = 0; i < n; i++) {
      err += (values[i]! - proposed[i]!) ** 2;
      norm += step[i]! ** 2;
    }
    const bound = { float32: 1e-6, float16: 1e-3, int8: 0.02, hadamard4: 0.4, hadamard2: 1.2, hadamard1: 4 }[codec];
    expect(Math.sqrt(err / norm)).toBeLessThan(bound);
  });

  it('hashes the exact bits: one changed bit or a reordering gives another hash', () => {
    const a = model(1).values;
    const h = modelHash(a);
    expect(h).toMatch(/^[0-9a-f]{16}$/);
    expect(modelHash(a.slice())).toBe(h);
    const b = a.slice();
    new Uint32Array(b.buffer)[17]! ^= 1;
    expect(modelHash(b)).not.toBe(h);
    const c = a.slice();
    [c[0], c[1]] = [c[1]!, c[0]!];
    expect(modelHash(c)).not.toBe(h);
    expect(modelHash(new Float32Array(3))).not.toBe(modelHash(new Float32Array(4)));
  });

  it('refuses a difference for another layout, a sparse codec, garbage, or one that overflows the model', () => {
    const base = model(1);
    const other: TensorSpec[] = [{ name: 'dense/kernel', shape: [n] }];
    expect(codeOf(() => applyModelDelta(base, encodePayload({ layout: other, values: new Float32Array(n) }, 'int8')))).toBe('SHAPE_MISMATCH');
    expect(codeOf(() => applyModelDelta(base, encodePayload({ layout, values: new Float32Array(n) }, 'topk')))).toBe('UNKNOWN_CODEC');
    expect(codeOf(() => applyModelDelta(base, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])))).toBeDefined();
    const huge = { layout, values: new Float32Array(n).fill(3e38) };
    expect(codeOf(() => applyModelDelta(huge, encodePayload(huge, 'float32')))).toBe('NON_FINITE');
  });

  it('refuses a proposal of another length', () => {
    expect(codeOf(() => encodeModelStep(model(1), new Float32Array(n - 1), 'int8', Math.random, 1))).toBe('SHAPE_MISMATCH');
  });
});

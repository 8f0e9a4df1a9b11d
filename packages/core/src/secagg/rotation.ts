/**
 * A public random rotation: shuffle the values (so no block holds a whole layer), flip signs, then
 * an orthonormal Walsh–Hadamard transform per block. Afterwards every value is about ‖x‖/√n, so a
 * fixed clamp range with few quantization levels loses little (Suresh et al. 2017). All randomness
 * comes from the round's 32-byte seed through AES-CTR; the rotation is linear, so the server
 * un-rotates the sum once.
 */
import { publicWords, shuffleFromWords } from './neighbour-graph.js';
import { ROTATION_BLOCK } from './secagg-params.js';

export interface Rotation {
  readonly length: number;
  readonly paddedLength: number;
  /** Rotated copy of `values` (length `length`), padded. */
  apply(values: Float32Array): Float64Array;
  /** The original-length vector from a rotated one (which it overwrites). */
  invert(rotated: Float64Array): Float64Array;
}

function fwhtBlocks(v: Float64Array): void {
  const scale = 1 / Math.sqrt(ROTATION_BLOCK);
  for (let base = 0; base < v.length; base += ROTATION_BLOCK) {
    for (let h = 1; h < ROTATION_BLOCK; h <<= 1) {
      for (let i = base; i < base + ROTATION_BLOCK; i += h << 1) {
        for (let j = i; j < i + h; j++) {
          const a = v[j]!;
          const b = v[j + h]!;
          v[j] = a + b;
          v[j + h] = a - b;
        }
      }
    }
    for (let i = base; i < base + ROTATION_BLOCK; i++) v[i]! *= scale;
  }
}

export async function buildRotation(seed: Uint8Array, roundId: string, length: number): Promise<Rotation> {
  const paddedLength = Math.ceil(length / ROTATION_BLOCK) * ROTATION_BLOCK;
  const order = shuffleFromWords(paddedLength, await publicWords(seed, roundId, 'rotation-order', paddedLength));
  const signWords = await publicWords(seed, roundId, 'rotation-signs', Math.ceil(paddedLength / 32));
  const sign = new Float64Array(paddedLength);
  for (let i = 0; i < paddedLength; i++) sign[i] = (signWords[i >>> 5]! >>> (i & 31)) & 1 ? -1 : 1;
  return {
    length,
    paddedLength,
    apply(values) {
      const v = new Float64Array(paddedLength);
      for (let i = 0; i < length; i++) {
        const to = order[i]!;
        v[to] = values[i]! * sign[to]!;
      }
      fwhtBlocks(v);
      return v;
    },
    invert(rotated) {
      fwhtBlocks(rotated);
      const out = new Float64Array(length);
      for (let i = 0; i < length; i++) {
        const from = order[i]!;
        out[i] = rotated[from]! * sign[from]!;
      }
      return out;
    },
  };
}

// Every participant of a round in one process (the simulator, a benchmark) shares one rotation.
let cached: { key: string; rotation: Promise<Rotation> } | undefined;

/** buildRotation, remembering the last one built (a rotation is public and immutable). */
export function rotationFor(seed: Uint8Array, roundId: string, length: number): Promise<Rotation> {
  const key = `${Array.from(seed).join(',')}|${roundId}|${length}`;
  if (cached?.key !== key) cached = { key, rotation: buildRotation(seed, roundId, length) };
  return cached.rotation;
}

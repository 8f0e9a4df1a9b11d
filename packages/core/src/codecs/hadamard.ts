/**
 * Randomized Hadamard rotation in blocks of HADAMARD_BLOCK values: y = H·D·x / sqrt(B) per block,
 * D a diagonal of ±1 drawn from a 32-bit seed. Orthonormal, so norms are kept and the inverse is
 * x = D·H·y / sqrt(B). After it, every coordinate is about ||block|| / sqrt(B): a few large values
 * no longer force a coarse quantization grid on all the others (Suresh et al. 2017).
 */
export const HADAMARD_BLOCK = 1024;

export function paddedLength(length: number): number {
  return Math.ceil(length / HADAMARD_BLOCK) * HADAMARD_BLOCK;
}

/** In-place fast Walsh–Hadamard transform of each block, scaled by 1/sqrt(B). */
function fwhtBlocks(v: Float32Array): void {
  const scale = 1 / Math.sqrt(HADAMARD_BLOCK);
  for (let base = 0; base < v.length; base += HADAMARD_BLOCK) {
    for (let h = 1; h < HADAMARD_BLOCK; h <<= 1) {
      for (let i = base; i < base + HADAMARD_BLOCK; i += h << 1) {
        for (let j = i; j < i + h; j++) {
          const a = v[j]!;
          const b = v[j + h]!;
          v[j] = a + b;
          v[j + h] = a - b;
        }
      }
    }
    for (let i = base; i < base + HADAMARD_BLOCK; i++) v[i]! *= scale;
  }
}

/** Multiplies v by the seed's ±1 diagonal (xorshift32, one bit per value). */
function applySigns(v: Float32Array, seed: number): void {
  let s = seed >>> 0 || 0x9e3779b9;
  for (let i = 0; i < v.length; i += 32) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const bits = s >>> 0;
    const end = Math.min(i + 32, v.length);
    for (let j = i; j < end; j++) if ((bits >>> (j - i)) & 1) v[j] = -v[j]!;
  }
}

/** The rotated copy of `values`, zero-padded to whole blocks. */
export function rotate(values: Float32Array, seed: number): Float32Array {
  const v = new Float32Array(paddedLength(values.length));
  v.set(values);
  applySigns(v, seed);
  fwhtBlocks(v);
  return v;
}

/** Undoes `rotate` in place on a padded vector. */
export function unrotate(v: Float32Array, seed: number): Float32Array {
  fwhtBlocks(v);
  applySigns(v, seed);
  return v;
}

/** A 32-bit seed every participant of a round derives alike (FNV-1a of the round id). */
export function roundCodecSeed(roundId: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < roundId.length; i++) {
    h ^= roundId.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

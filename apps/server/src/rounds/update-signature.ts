import { tensorSize, type EncodedUpdate } from '@chorus/core';

/** Values a signature holds at most: a larger output layer is count-sketched into this many. */
export const SIGNATURE_LENGTH = 64;

/**
 * An update's coverage signature, for Oort's `diversity`: the change of the model's last tensor
 * (the output layer's bias in the built-in classifiers, where local training raises the labels the
 * participant holds and lowers the rest), less its mean (a shift shared by every label says
 * nothing about which ones a participant holds), count-sketched to at most 64 values (each value added,
 * with a hashed sign, into a hashed slot, which keeps inner products in expectation), scaled to
 * unit length. Two participants training on the same labels get signatures with a cosine near 1,
 * disjoint labels one near or below 0. All zeros (an update that did not move it) stays all zeros.
 */
export function updateSignature(update: EncodedUpdate): number[] {
  const last = update.layout.at(-1);
  const n = last ? tensorSize(last.shape) : 0;
  const values = update.decode();
  const start = values.length - n;
  const k = Math.min(SIGNATURE_LENGTH, n);
  let mean = 0;
  for (let i = start; i < values.length; i++) mean += values[i]!;
  mean /= Math.max(1, n);
  const out = new Array<number>(k).fill(0);
  if (n <= SIGNATURE_LENGTH) for (let i = 0; i < n; i++) out[i] = values[start + i]! - mean;
  else
    for (let i = 0; i < n; i++) {
      const h = Math.imul(i + 1, 0x9e3779b1) >>> 0;
      out[h % k] = out[h % k]! + (h & 1 ? -1 : 1) * (values[start + i]! - mean);
    }
  let norm = 0;
  for (const x of out) norm += x * x;
  norm = Math.sqrt(norm);
  return norm > 0 && Number.isFinite(norm) ? out.map((x) => x / norm) : out.fill(0);
}

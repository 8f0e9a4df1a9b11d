import { ChorusError } from '../errors/chorus-error.js';
import type { UpdateCodec } from './codec.js';

/**
 * A codec as Chorus implements it: the shared `UpdateCodec` contract plus the sum of squares of the
 * decoded values, so norm-bounding strategies can read an update's L2 norm without decoding it.
 */
export interface NormedUpdateCodec extends UpdateCodec {
  sumOfSquares(body: Uint8Array, length: number): number;
}

export function assertValueCount(codec: string, length: number): void {
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new ChorusError('SHAPE_MISMATCH', `${codec} codec: value count must be a non-negative integer, got ${length}`);
  }
}

export function assertBodySize(codec: UpdateCodec, body: Uint8Array, length: number): void {
  assertValueCount(codec.id, length);
  const expected = codec.bodyBytes(length);
  if (body.byteLength !== expected) {
    throw new ChorusError('SHAPE_MISMATCH', `${codec.id} body holds ${body.byteLength} bytes; ${length} values need exactly ${expected}`);
  }
}

export function assertTargetLength(codec: string, target: Float32Array, length: number, what: string): void {
  if (target.length !== length) {
    throw new ChorusError('SHAPE_MISMATCH', `${codec} codec ${what}: target holds ${target.length} values, the update has ${length}`);
  }
}

export function assertFiniteWeight(codec: string, weight: number): void {
  if (!Number.isFinite(weight)) throw new ChorusError('NON_FINITE', `${codec} codec foldInto: weight must be finite, got ${weight}`);
}

/** Index of the first non-finite value, or -1. One multiply per value: x * 0 is NaN only for ±Infinity and NaN. */
export function firstNonFinite(values: Float32Array): number {
  let probe = 0;
  for (let i = 0; i < values.length; i++) probe += values[i]! * 0;
  if (probe === 0) return -1;
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i]!)) return i;
  return -1;
}

/** The largest finite float32: every decoded value must fit in it, whatever a header claims. */
export const FLOAT32_MAX = 3.4028234663852886e38;

/** Index of the first value with |x| > maxAbs, or -1 (callers check finiteness first). */
export function firstAbove(values: Float32Array, maxAbs: number): number {
  if (!(maxAbs < FLOAT32_MAX)) return -1;
  for (let i = 0; i < values.length; i++) if (Math.abs(values[i]!) > maxAbs) return i;
  return -1;
}

export function outOfBounds(codec: string, what: string, maxAbs: number): ChorusError {
  return new ChorusError('OUT_OF_BOUNDS', `${codec} body: ${what}, beyond the largest magnitude this task accepts (${maxAbs.toPrecision(4)})`);
}

/**
 * Masked values travel as `bits`-bit integers packed back to back, least significant bit first:
 * a 14-bit ring costs 14 bits per value on the wire, not 32.
 */
import { SecAggError } from './secagg-error.js';

export function packedBytes(count: number, bits: number): number {
  return Math.ceil((count * bits) / 8);
}

/** The low `bits` bits of each value, packed. */
export function packRing(values: Uint32Array, bits: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(packedBytes(values.length, bits) + 4);
  const mask = bits === 32 ? 0xffffffff : 2 ** bits - 1;
  let offset = 0;
  for (let i = 0; i < values.length; i++) {
    const v = (values[i]! & mask) >>> 0;
    const byte = offset >>> 3;
    const shift = offset & 7;
    const low = (v << shift) >>> 0;
    out[byte] = out[byte]! | (low & 0xff);
    out[byte + 1] = out[byte + 1]! | ((low >>> 8) & 0xff);
    out[byte + 2] = out[byte + 2]! | ((low >>> 16) & 0xff);
    out[byte + 3] = out[byte + 3]! | (low >>> 24);
    if (shift !== 0) out[byte + 4] = out[byte + 4]! | (v >>> (32 - shift));
    offset += bits;
  }
  // The four spare bytes only simplify the loop above; they are always zero.
  return out.slice(0, out.length - 4);
}

/** Adds (mod 2^32) the packed values into `target`, without materialising them. */
export function addPackedInto(target: Uint32Array, packed: Uint8Array, bits: number): void {
  if (packed.length !== packedBytes(target.length, bits)) {
    throw new SecAggError('MALFORMED', `a masked input must be ${packedBytes(target.length, bits)} bytes, not ${packed.length}`);
  }
  const mask = bits === 32 ? 0xffffffff : 2 ** bits - 1;
  const last = packed.length;
  const at = (k: number): number => (k < last ? packed[k]! : 0);
  let offset = 0;
  for (let i = 0; i < target.length; i++) {
    const byte = offset >>> 3;
    const shift = offset & 7;
    const low = (at(byte) | (at(byte + 1) << 8) | (at(byte + 2) << 16) | (at(byte + 3) << 24)) >>> shift;
    const high = shift === 0 ? 0 : at(byte + 4) << (32 - shift);
    target[i] = target[i]! + (((low | high) & mask) >>> 0);
    offset += bits;
  }
}

/** The packed values as a vector (tests and tools). */
export function unpackRing(packed: Uint8Array, count: number, bits: number): Uint32Array {
  const out = new Uint32Array(count);
  addPackedInto(out, packed, bits);
  return out;
}

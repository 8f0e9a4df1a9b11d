/**
 * Typed views over codec bodies. The wire format is little-endian; on the (rare) big-endian engine,
 * or when a body is not aligned for a typed view, values are copied through a DataView instead.
 */
export const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** `count` float32 values starting at `byteOffset` of `bytes`: a view when possible, else a copy. */
export function readFloat32s(bytes: Uint8Array, byteOffset: number, count: number): Float32Array {
  const start = bytes.byteOffset + byteOffset;
  if (LITTLE_ENDIAN && start % 4 === 0) return new Float32Array(bytes.buffer, start, count);
  const view = new DataView(bytes.buffer, start, count * 4);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

/** `count` uint16 values starting at `byteOffset` of `bytes`: a view when possible, else a copy. */
export function readUint16s(bytes: Uint8Array, byteOffset: number, count: number): Uint16Array {
  const start = bytes.byteOffset + byteOffset;
  if (LITTLE_ENDIAN && start % 2 === 0) return new Uint16Array(bytes.buffer, start, count);
  const view = new DataView(bytes.buffer, start, count * 2);
  const out = new Uint16Array(count);
  for (let i = 0; i < count; i++) out[i] = view.getUint16(i * 2, true);
  return out;
}

/** Writes float32 values little-endian into `bytes` at `byteOffset` (which the caller keeps 4-aligned). */
export function writeFloat32s(bytes: Uint8Array, byteOffset: number, values: Float32Array): void {
  const start = bytes.byteOffset + byteOffset;
  if (LITTLE_ENDIAN && start % 4 === 0) {
    new Float32Array(bytes.buffer, start, values.length).set(values);
    return;
  }
  const view = new DataView(bytes.buffer, start, values.length * 4);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
}

/** Writes uint16 values little-endian into `bytes` at `byteOffset`. */
export function writeUint16s(bytes: Uint8Array, byteOffset: number, values: Uint16Array): void {
  const start = bytes.byteOffset + byteOffset;
  if (LITTLE_ENDIAN && start % 2 === 0) {
    new Uint16Array(bytes.buffer, start, values.length).set(values);
    return;
  }
  const view = new DataView(bytes.buffer, start, values.length * 2);
  for (let i = 0; i < values.length; i++) view.setUint16(i * 2, values[i]!, true);
}

import { encodePayload, readPayloadHeader, type TensorSpec } from '@chorus/core';

/**
 * Well-formed int8 update payloads with chosen chunk scales and values: what a hostile participant
 * builds by hand to pass every format check (magic, version, layout, sizes, finite scales) while
 * carrying absurd magnitudes. Test and fuzz kit only.
 */
export function craftInt8Payload(layout: readonly TensorSpec[], scale: number | ((chunk: number) => number), value: number | ((i: number) => number)): Uint8Array {
  const length = layout.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
  const bytes = encodePayload({ layout, values: new Float32Array(length) }, 'int8');
  const { headerBytes } = readPayloadHeader(bytes);
  const chunks = Math.ceil(length / 256);
  const view = new DataView(bytes.buffer, bytes.byteOffset + headerBytes);
  for (let c = 0; c < chunks; c++) view.setFloat32(c * 4, typeof scale === 'number' ? scale : scale(c), true);
  const q = new Int8Array(bytes.buffer, bytes.byteOffset + headerBytes + chunks * 4, length);
  for (let i = 0; i < length; i++) q[i] = typeof value === 'number' ? value : value(i);
  return bytes;
}

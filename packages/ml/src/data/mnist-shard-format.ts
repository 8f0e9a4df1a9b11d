import { ChorusError, tensorSize } from '@chorus/core';
import type { Dataset } from '@chorus/core';

/**
 * A compact binary dataset shard the web app ships to visitors (built at build time):
 *   "CHDS" | version u8 | numClasses u8 | rank u8 | 0 u8 | count u32le | rank × dim u32le
 *   | count label bytes | count × product(dims) pixel bytes (round(v·255), v clamped to [0, 1])
 * One byte per pixel makes an MNIST example 785 bytes instead of ~3 KB of float32.
 */
const MAGIC = [0x43, 0x48, 0x44, 0x53];
export const DATASET_SHARD_VERSION = 1;
const FIXED_HEADER = 12;

export function encodeDatasetShard(ds: Dataset): Uint8Array {
  const rowLen = tensorSize(ds.inputShape);
  if (ds.numClasses < 1 || ds.numClasses > 255) {
    throw new ChorusError('BAD_REQUEST', `encodeDatasetShard: numClasses must be 1–255, got ${ds.numClasses}`);
  }
  if (ds.x.length !== ds.count * rowLen || ds.y.length !== ds.count) {
    throw new ChorusError('SHAPE_MISMATCH', `encodeDatasetShard: buffers do not hold ${ds.count} examples of [${ds.inputShape.join(', ')}]`);
  }
  const header = FIXED_HEADER + 4 * ds.inputShape.length;
  const bytes = new Uint8Array(header + ds.count * (1 + rowLen));
  const view = new DataView(bytes.buffer);
  bytes.set(MAGIC, 0);
  bytes[4] = DATASET_SHARD_VERSION;
  bytes[5] = ds.numClasses;
  bytes[6] = ds.inputShape.length;
  view.setUint32(8, ds.count, true);
  ds.inputShape.forEach((d, i) => view.setUint32(FIXED_HEADER + 4 * i, d, true));
  bytes.set(ds.y, header);
  const pixels = bytes.subarray(header + ds.count);
  for (let i = 0; i < ds.x.length; i++) {
    const v = ds.x[i]!;
    pixels[i] = Math.round((v > 1 ? 1 : v > 0 ? v : 0) * 255);
  }
  return bytes;
}

export function decodeDatasetShard(bytes: Uint8Array): Dataset {
  if (bytes.length < FIXED_HEADER || MAGIC.some((m, i) => bytes[i] !== m)) {
    throw new ChorusError('BAD_REQUEST', 'decodeDatasetShard: not a dataset shard (missing "CHDS" header)');
  }
  if (bytes[4] !== DATASET_SHARD_VERSION) {
    throw new ChorusError('BAD_REQUEST', `decodeDatasetShard: shard version ${bytes[4]} is not supported (expected ${DATASET_SHARD_VERSION})`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const numClasses = bytes[5]!;
  const rank = bytes[6]!;
  const count = view.getUint32(8, true);
  const header = FIXED_HEADER + 4 * rank;
  if (bytes.length < header) throw new ChorusError('SHAPE_MISMATCH', 'decodeDatasetShard: header is truncated');
  const inputShape = Array.from({ length: rank }, (_, i) => view.getUint32(FIXED_HEADER + 4 * i, true));
  const rowLen = tensorSize(inputShape);
  const expected = header + count * (1 + rowLen);
  if (bytes.length !== expected) {
    throw new ChorusError('SHAPE_MISMATCH', `decodeDatasetShard: ${bytes.length} bytes; ${count} examples of [${inputShape.join(', ')}] need ${expected}`);
  }
  const y = bytes.slice(header, header + count);
  const bad = y.findIndex((label) => label >= numClasses);
  if (bad >= 0) {
    throw new ChorusError('BAD_REQUEST', `decodeDatasetShard: example ${bad} has label ${y[bad]} but there are ${numClasses} classes`);
  }
  const pixels = bytes.subarray(header + count);
  const x = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) x[i] = pixels[i]! / 255;
  return { x, y, count, inputShape, numClasses };
}

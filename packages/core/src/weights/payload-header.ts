import type { CodecId } from '../codecs/codec.js';
import { getCodecByCode } from '../codecs/codec-registry.js';
import { ChorusError } from '../errors/chorus-error.js';
import { layoutSize, type TensorSpec } from './layout.js';

/**
 * Payload header (all integers little-endian):
 *
 *   offset  size  field
 *   0       4     magic "CHWP" (Chorus weights payload)
 *   4       1     format version (PAYLOAD_FORMAT_VERSION)
 *   5       1     codec code (see codec-registry)
 *   6       2     tensor count
 *   8       4     value count (sum of all tensor sizes)
 *   12      …     per tensor: u16 name length, UTF-8 name, u8 rank, rank × u32 dimensions
 *   …       0–3   zero padding so the codec body starts 4-byte aligned
 *
 * then the codec body: one flat vector for all tensors, exactly `codec.bodyBytes(valueCount)` bytes for
 * fixed-size codecs and at most that for sparse ones.
 */
export const PAYLOAD_MAGIC = Uint8Array.of(0x43, 0x48, 0x57, 0x50);
/** Bumped on any incompatible change to the layout above. */
export const PAYLOAD_FORMAT_VERSION = 1;
const FIXED_BYTES = 12;
const MAX_U16 = 0xffff;
const MAX_RANK = 0xff;

export interface PayloadHeader {
  readonly formatVersion: number;
  readonly codec: CodecId;
  readonly layout: readonly TensorSpec[];
  /** Number of float values in the body. */
  readonly length: number;
  /** Header size, padding included: the codec body starts here. */
  readonly headerBytes: number;
  /** Size of the whole payload this header announces: exact for fixed-size codecs, an upper bound for sparse ones. */
  readonly totalBytes: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

function align4(n: number): number {
  return Math.ceil(n / 4) * 4;
}

function encodedNames(layout: readonly TensorSpec[]): Uint8Array[] {
  if (layout.length > MAX_U16) throw new ChorusError('SHAPE_MISMATCH', `payload: ${layout.length} tensors; at most ${MAX_U16} fit`);
  return layout.map((t) => {
    const name = encoder.encode(t.name);
    if (name.length > MAX_U16) throw new ChorusError('SHAPE_MISMATCH', `payload: tensor name "${t.name.slice(0, 40)}…" is over ${MAX_U16} bytes`);
    if (t.shape.length > MAX_RANK) throw new ChorusError('SHAPE_MISMATCH', `payload: tensor "${t.name}" has rank ${t.shape.length}; at most ${MAX_RANK}`);
    for (const d of t.shape) {
      if (!Number.isInteger(d) || d < 0 || d > 0xffffffff) {
        throw new ChorusError('SHAPE_MISMATCH', `payload: tensor "${t.name}" has dimension ${d}; dimensions are integers in [0, 2^32)`);
      }
    }
    return name;
  });
}

/** Header size in bytes (padding included) for a layout. */
export function payloadHeaderBytes(layout: readonly TensorSpec[]): number {
  const names = encodedNames(layout);
  let n = FIXED_BYTES;
  layout.forEach((t, i) => (n += 2 + names[i]!.length + 1 + 4 * t.shape.length));
  return align4(n);
}

/** Writes the header into the start of `out` (which must hold at least payloadHeaderBytes). Returns its size. */
export function writePayloadHeader(out: Uint8Array, layout: readonly TensorSpec[], codecCode: number): number {
  const names = encodedNames(layout);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  out.set(PAYLOAD_MAGIC, 0);
  view.setUint8(4, PAYLOAD_FORMAT_VERSION);
  view.setUint8(5, codecCode);
  view.setUint16(6, layout.length, true);
  view.setUint32(8, layoutSize(layout), true);
  let at = FIXED_BYTES;
  layout.forEach((t, i) => {
    view.setUint16(at, names[i]!.length, true);
    out.set(names[i]!, at + 2);
    at += 2 + names[i]!.length;
    view.setUint8(at, t.shape.length);
    at += 1;
    for (const d of t.shape) {
      view.setUint32(at, d, true);
      at += 4;
    }
  });
  const end = align4(at);
  out.fill(0, at, end);
  return end;
}

/**
 * Reads and checks the header only (magic, version, codec, tensor list, value count); the body is
 * not looked at, so this works on the first chunk of an upload to learn its exact expected size.
 */
export function readPayloadHeader(bytes: Uint8Array): PayloadHeader {
  if (bytes.byteLength < PAYLOAD_MAGIC.length || PAYLOAD_MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new ChorusError('UNSUPPORTED_PROTOCOL', 'payload: not a Chorus weights payload (bad magic bytes)');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const need = (at: number, n: number, what: string): void => {
    if (at + n > bytes.byteLength) {
      throw new ChorusError('BAD_REQUEST', `payload: truncated header (${what} needs bytes ${at}–${at + n - 1}, payload has ${bytes.byteLength})`);
    }
  };
  need(0, FIXED_BYTES, 'the fixed header');
  const formatVersion = view.getUint8(4);
  if (formatVersion !== PAYLOAD_FORMAT_VERSION) {
    throw new ChorusError('UNSUPPORTED_PROTOCOL', `payload: format version ${formatVersion} is not supported (this build reads version ${PAYLOAD_FORMAT_VERSION})`);
  }
  const codec = getCodecByCode(view.getUint8(5));
  const count = view.getUint16(6, true);
  const length = view.getUint32(8, true);
  const layout: TensorSpec[] = [];
  let at = FIXED_BYTES;
  for (let i = 0; i < count; i++) {
    need(at, 2, `tensor #${i}'s name length`);
    const nameBytes = view.getUint16(at, true);
    need(at + 2, nameBytes + 1, `tensor #${i}'s name and rank`);
    let name: string;
    try {
      name = decoder.decode(bytes.subarray(at + 2, at + 2 + nameBytes));
    } catch (err) {
      throw new ChorusError('BAD_REQUEST', `payload: tensor #${i}'s name is not valid UTF-8`, { cause: err });
    }
    at += 2 + nameBytes;
    const rank = view.getUint8(at);
    at += 1;
    need(at, 4 * rank, `tensor "${name}"'s shape`);
    const shape: number[] = [];
    for (let d = 0; d < rank; d++) shape.push(view.getUint32(at + 4 * d, true));
    at += 4 * rank;
    layout.push({ name, shape });
  }
  const headerBytes = align4(at);
  need(at, headerBytes - at, 'the header padding');
  for (let i = at; i < headerBytes; i++) {
    if (bytes[i] !== 0) throw new ChorusError('BAD_REQUEST', `payload: header padding byte ${i} is not zero`);
  }
  if (layoutSize(layout) !== length) {
    throw new ChorusError('SHAPE_MISMATCH', `payload: header announces ${length} values but its tensors hold ${layoutSize(layout)}`);
  }
  return { formatVersion, codec: codec.id, layout, length, headerBytes, totalBytes: headerBytes + codec.bodyBytes(length) };
}

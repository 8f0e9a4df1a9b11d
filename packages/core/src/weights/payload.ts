import type { CodecId, EncodeOptions, RandomSource } from '../codecs/codec.js';
import { firstNonFinite, type NormedUpdateCodec } from '../codecs/codec-checks.js';
import { getCodec } from '../codecs/codec-registry.js';
import { ChorusError } from '../errors/chorus-error.js';
import type { EncodedUpdate } from '../strategies/strategy.js';
import { assertSameLayout, layoutSize, type FlatWeights, type TensorSpec } from './layout.js';
import { payloadHeaderBytes, readPayloadHeader, writePayloadHeader } from './payload-header.js';

export { PAYLOAD_FORMAT_VERSION, PAYLOAD_MAGIC, readPayloadHeader, type PayloadHeader } from './payload-header.js';

/**
 * Binary weights payload: a small versioned header (payload-header.ts) then one codec body for the
 * whole flat vector. Used for model downloads and for client updates; numbers never go through JSON.
 */

/** Largest size in bytes of `encodePayload` for this layout and codec (exact for fixed-size codecs): servers size their limits with it. */
export function maxPayloadBytes(layout: readonly TensorSpec[], codec: CodecId): number {
  return payloadHeaderBytes(layout) + getCodec(codec).bodyBytes(layoutSize(layout));
}

export function encodePayload(flat: FlatWeights, codec: CodecId, random: RandomSource = Math.random, options?: EncodeOptions): Uint8Array {
  const impl = getCodec(codec);
  const length = layoutSize(flat.layout);
  if (flat.values.length !== length) {
    throw new ChorusError('SHAPE_MISMATCH', `encodePayload: the layout holds ${length} values but the vector has ${flat.values.length}`);
  }
  const bad = firstNonFinite(flat.values);
  if (bad >= 0) throw new ChorusError('NON_FINITE', `encodePayload: value #${bad} is not finite`);
  const body = impl.encode(flat.values, random, options);
  // Catches what only the encoding makes non-finite (a float16 overflow) before it leaves the device.
  impl.validate(body, length);
  const headerBytes = payloadHeaderBytes(flat.layout);
  const out = new Uint8Array(headerBytes + body.byteLength);
  writePayloadHeader(out, flat.layout, impl.code);
  out.set(body, headerBytes);
  return out;
}

/** Typed views over a body need 4-byte alignment; payloads sliced out of larger buffers may lack it. */
function aligned(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
}

/**
 * Raw little-endian float32 bytes (a length divisible by 4) as values: a view where the bytes are
 * 4-byte aligned, else over an aligned copy.
 */
export function float32View(bytes: Uint8Array): Float32Array {
  const a = aligned(bytes);
  return new Float32Array(a.buffer, a.byteOffset, a.byteLength / 4);
}

export function decodePayload(bytes: Uint8Array): FlatWeights {
  const payload = aligned(bytes);
  const header = readPayloadHeader(payload);
  const codec = getCodec(header.codec);
  const body = payload.subarray(header.headerBytes);
  codec.validate(body, header.length);
  return { layout: header.layout, values: codec.decode(body, header.length) };
}

export interface PayloadExpectations {
  /** The model's layout; the payload must match it tensor for tensor. */
  readonly layout: readonly TensorSpec[];
  /** Larger payloads are refused before anything is parsed. */
  readonly maxBytes: number;
  /** Codecs accepted here. @default every registered codec */
  readonly codecs?: readonly CodecId[];
  /**
   * Largest magnitude any decoded value may have (a task's update-norm bound: no value of a vector
   * exceeds its L2 norm). Checked on the encoded bytes, before anything is folded.
   * @default the largest finite float32
   */
  readonly maxAbs?: number;
  /** The round's rotation seed (roundCodecSeed): a rotating codec's body must carry exactly it. @default any */
  readonly seed?: number;
}

/**
 * Validates everything (size, magic, version, codec, layout, body size, finiteness) and returns an
 * update that folds and measures itself straight from the encoded bytes. The bytes are not copied
 * (unless misaligned): the caller must not modify them afterwards.
 */
export function parsePayload(bytes: Uint8Array, expect: PayloadExpectations): EncodedUpdate {
  if (bytes.byteLength > expect.maxBytes) {
    throw new ChorusError('PAYLOAD_TOO_LARGE', `payload is ${bytes.byteLength} bytes; at most ${expect.maxBytes} are accepted`);
  }
  const payload = aligned(bytes);
  const header = readPayloadHeader(payload);
  if (expect.codecs && !expect.codecs.includes(header.codec)) {
    throw new ChorusError('UNKNOWN_CODEC', `payload codec "${header.codec}" is not accepted here (accepted: ${expect.codecs.join(', ')})`);
  }
  assertSameLayout(expect.layout, header.layout, 'payload');
  const codec = getCodec(header.codec);
  const body = payload.subarray(header.headerBytes);
  codec.validate(body, header.length, expect.maxAbs);
  if (expect.seed !== undefined && codec.seedOf && codec.seedOf(body) !== expect.seed >>> 0) {
    throw new ChorusError('BAD_REQUEST', `payload: ${codec.id} body was rotated with seed ${codec.seedOf(body)}; this round's seed is ${expect.seed >>> 0}`);
  }
  return createEncodedUpdate(codec, expect.layout, header.length, body, bytes.byteLength);
}

function createEncodedUpdate(
  codec: NormedUpdateCodec,
  layout: readonly TensorSpec[],
  length: number,
  body: Uint8Array,
  byteLength: number,
): EncodedUpdate {
  let norm: number | undefined;
  return {
    codec: codec.id,
    layout,
    length,
    byteLength,
    decode: (out) => codec.decode(body, length, out),
    foldInto: (target, weight) => codec.foldInto(body, length, target, weight),
    l2Norm: () => (norm ??= Math.sqrt(codec.sumOfSquares(body, length))),
  };
}

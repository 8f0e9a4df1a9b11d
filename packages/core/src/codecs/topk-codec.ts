import { ChorusError } from '../errors/chorus-error.js';
import { readFloat32s, writeFloat32s } from './byte-views.js';
import { FLOAT32_MAX, assertFiniteWeight, assertTargetLength, assertValueCount, firstAbove, firstNonFinite, outOfBounds, type NormedUpdateCodec } from './codec-checks.js';
import type { CodecId } from './codec.js';
import { bitmapBytes, decodeIndices, encodeIndices } from './sparse-indices.js';
import { topKIndices } from './top-k.js';

/** Share of the values a `topk` update carries (float32 values). Part of its wire format. */
export const TOPK_FRACTION = 0.01;
/**
 * Share of the values a `topk-q4` update carries (4-bit values). Part of its wire format. Larger
 * than `topk`'s: a value costs 1/8 of the bytes, and with C = 0.1 a client's residual waits ~10 rounds
 * for its next turn, so carrying more per turn is what keeps accuracy (bench/compression.ts).
 */
export const TOPK_Q4_FRACTION = 0.05;
/** Values per 4-bit scale in `topk-q4`. Part of its wire format. */
export const TOPK_Q4_CHUNK = 256;
const HEADER = 12;
/** 4-bit levels are -7..7 (stored as level + 8, so 1..15): symmetric, so rounding stays unbiased. */
const Q4_LEVELS = 7;

/** How many values a top-k update of a `length`-value vector carries: exactly this many, no more, no less. */
export function topKCount(length: number, fraction: number = TOPK_FRACTION): number {
  return length === 0 ? 0 : Math.min(length, Math.ceil(length * fraction));
}

interface ValueFormat {
  bytes(k: number): number;
  /** Writes the k values into body[HEADER…]. */
  write(body: Uint8Array, picked: Float32Array, random: () => number): void;
  /** Reads value j; valid only after `check`. */
  reader(body: Uint8Array, k: number): (j: number) => number;
  check(id: string, body: Uint8Array, k: number, maxAbs: number): void;
}

const float32Values: ValueFormat = {
  bytes: (k) => 4 * k,
  write(body, picked) {
    writeFloat32s(body, HEADER, picked);
  },
  reader(body, k) {
    const v = readFloat32s(body, HEADER, k);
    return (j) => v[j]!;
  },
  check(id, body, k, maxAbs) {
    const v = readFloat32s(body, HEADER, k);
    const bad = firstNonFinite(v);
    if (bad >= 0) throw new ChorusError('NON_FINITE', `${id} body: value #${bad} is not finite`);
    const above = firstAbove(v, maxAbs);
    if (above >= 0) throw outOfBounds(id, `value #${above} is ${v[above]!.toPrecision(4)}`, maxAbs);
  },
};

const q4Chunks = (k: number): number => Math.ceil(k / TOPK_Q4_CHUNK);

/** Per chunk of 256 values one float32 scale (max|x| / 7), then one nibble per value, stochastically rounded. */
const q4Values: ValueFormat = {
  bytes: (k) => 4 * q4Chunks(k) + Math.ceil(k / 2),
  write(body, picked, random) {
    const k = picked.length;
    const chunks = q4Chunks(k);
    const scales = new Float32Array(chunks);
    const nibbles = HEADER + 4 * chunks;
    for (let c = 0; c < chunks; c++) {
      const from = c * TOPK_Q4_CHUNK;
      const to = Math.min(from + TOPK_Q4_CHUNK, k);
      let max = 0;
      for (let j = from; j < to; j++) max = Math.max(max, Math.abs(picked[j]!));
      const scale = Math.fround(max / Q4_LEVELS);
      scales[c] = scale;
      const inverse = scale === 0 ? 0 : 1 / scale;
      for (let j = from; j < to; j++) {
        const r = Math.floor(picked[j]! * inverse + random());
        const q = (r > Q4_LEVELS ? Q4_LEVELS : r < -Q4_LEVELS ? -Q4_LEVELS : r) + 8;
        body[nibbles + (j >>> 1)]! |= (j & 1) === 0 ? q : q << 4;
      }
    }
    writeFloat32s(body, HEADER, scales);
  },
  reader(body, k) {
    const scales = readFloat32s(body, HEADER, q4Chunks(k));
    const nibbles = HEADER + 4 * scales.length;
    return (j) => {
      const byte = body[nibbles + (j >>> 1)]!;
      return (((j & 1) === 0 ? byte & 15 : byte >>> 4) - 8) * scales[Math.floor(j / TOPK_Q4_CHUNK)]!;
    };
  },
  check(id, body, k, maxAbs) {
    const scales = readFloat32s(body, HEADER, q4Chunks(k));
    const bad = firstNonFinite(scales);
    if (bad >= 0) throw new ChorusError('NON_FINITE', `${id} body: the scale of chunk #${bad} is not finite`);
    const maxScale = (maxAbs / Q4_LEVELS) * (1 + 2 ** -20);
    for (let c = 0; c < scales.length; c++) {
      if (scales[c]! < 0) throw new ChorusError('BAD_REQUEST', `${id} body: the scale of chunk #${c} is negative`);
      if (scales[c]! > maxScale) throw outOfBounds(id, `the scale of chunk #${c} lets values reach ${(scales[c]! * Q4_LEVELS).toPrecision(4)}`, maxAbs);
    }
    const nibbles = HEADER + 4 * scales.length;
    for (let j = 0; j < k; j++) {
      const byte = body[nibbles + (j >>> 1)]!;
      const q = (j & 1) === 0 ? byte & 15 : byte >>> 4;
      if (q === 0) throw new ChorusError('BAD_REQUEST', `${id} body: value #${j} uses level -8; levels are -7..7`);
    }
    if (k % 2 === 1 && body[nibbles + (k >>> 1)]! >>> 4 !== 0) throw new ChorusError('BAD_REQUEST', `${id} body: the unused last nibble is not zero`);
  },
};

/**
 * Top-k sparsification: a fixed fraction of the values, those of largest magnitude, with their indices. Body (LE):
 *   u32 k (must equal topKCount(length, the codec's fraction)) · u32 index bytes · u8 index mode · 3 zero bytes ·
 *   values (float32 × k, or 4-bit chunks) · indices (sparse-indices.ts: delta varint or bitmap).
 * Biased on its own: the client keeps what it did not send and adds it to its next update (error
 * feedback, `errorFeedback: true`). Folds touch only the k carried coordinates.
 */
function createTopKCodec(id: CodecId, code: number, description: string, fraction: number, values: ValueFormat): NormedUpdateCodec & { readonly errorFeedback: true } {
  interface Parsed {
    readonly k: number;
    readonly indices: Uint32Array;
    readonly value: (j: number) => number;
  }

  function parse(body: Uint8Array, length: number, maxAbs: number): Parsed {
    assertValueCount(id, length);
    if (body.byteLength < HEADER) throw new ChorusError('SHAPE_MISMATCH', `${id} body holds ${body.byteLength} bytes; its header alone needs ${HEADER}`);
    const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    const k = view.getUint32(0, true);
    const indexBytes = view.getUint32(4, true);
    const mode = view.getUint8(8);
    if (view.getUint8(9) !== 0 || view.getUint8(10) !== 0 || view.getUint8(11) !== 0) throw new ChorusError('BAD_REQUEST', `${id} body: header padding is not zero`);
    const expectedK = topKCount(length, fraction);
    if (k !== expectedK) throw new ChorusError('SHAPE_MISMATCH', `${id} body carries ${k} values; ${length} values need exactly ${expectedK}`);
    const expectedBytes = HEADER + values.bytes(k) + indexBytes;
    if (body.byteLength !== expectedBytes) throw new ChorusError('SHAPE_MISMATCH', `${id} body holds ${body.byteLength} bytes; its header announces ${expectedBytes}`);
    if (indexBytes > bitmapBytes(length)) throw new ChorusError('PAYLOAD_TOO_LARGE', `${id} body: ${indexBytes} index bytes; a bitmap needs only ${bitmapBytes(length)}`);
    values.check(id, body, k, maxAbs);
    const indices = new Uint32Array(k);
    decodeIndices(id, mode, body.subarray(HEADER + values.bytes(k)), k, length, indices);
    return { k, indices, value: values.reader(body, k) };
  }

  const codec = {
    id,
    description,
    code,
    errorFeedback: true as const,

    bodyBytes(length: number) {
      return HEADER + values.bytes(topKCount(length, fraction)) + bitmapBytes(length);
    },

    encode(input: Float32Array, random: () => number) {
      const bad = firstNonFinite(input);
      if (bad >= 0) throw new ChorusError('NON_FINITE', `${id} encode: value #${bad} is not finite`);
      const k = topKCount(input.length, fraction);
      const indices = topKIndices(input, k);
      const picked = new Float32Array(k);
      for (let j = 0; j < k; j++) picked[j] = input[indices[j]!]!;
      const index = encodeIndices(indices, input.length);
      const body = new Uint8Array(HEADER + values.bytes(k) + index.bytes.length);
      const view = new DataView(body.buffer);
      view.setUint32(0, k, true);
      view.setUint32(4, index.bytes.length, true);
      view.setUint8(8, index.mode);
      values.write(body, picked, random);
      body.set(index.bytes, HEADER + values.bytes(k));
      return body;
    },

    decode(body: Uint8Array, length: number, out?: Float32Array) {
      const p = parse(body, length, FLOAT32_MAX);
      const result = out ?? new Float32Array(length);
      assertTargetLength(id, result, length, 'decode');
      result.fill(0);
      for (let j = 0; j < p.k; j++) result[p.indices[j]!] = p.value(j);
      return result;
    },

    foldInto(body: Uint8Array, length: number, target: Float32Array, weight: number) {
      assertTargetLength(id, target, length, 'foldInto');
      assertFiniteWeight(id, weight);
      const p = parse(body, length, FLOAT32_MAX);
      for (let j = 0; j < p.k; j++) target[p.indices[j]!] += weight * p.value(j);
    },

    validate(body: Uint8Array, length: number, maxAbs = FLOAT32_MAX) {
      parse(body, length, maxAbs);
    },

    sumOfSquares(body: Uint8Array, length: number) {
      const p = parse(body, length, FLOAT32_MAX);
      let sum = 0;
      for (let j = 0; j < p.k; j++) sum += p.value(j) ** 2;
      return sum;
    },
  };
  return codec;
}

export const topKCodec = createTopKCodec('topk', 4, `top ${TOPK_FRACTION * 100}% values + error feedback, ~75× smaller`, TOPK_FRACTION, float32Values);
export const topKQ4Codec = createTopKCodec('topk-q4', 5, `top ${TOPK_Q4_FRACTION * 100}% values at 4 bits + error feedback, ~50× smaller`, TOPK_Q4_FRACTION, q4Values);

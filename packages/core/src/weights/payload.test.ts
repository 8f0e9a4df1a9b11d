import { describe, expect, it } from 'vitest';
import { CODEC_IDS } from '../codecs/codec.js';
import { ChorusError } from '../errors/chorus-error.js';
import { createSeededRandom } from '../random/seeded-random.js';
import type { FlatWeights, TensorSpec } from './layout.js';
import { decodePayload, encodePayload, float32View, maxPayloadBytes, parsePayload, readPayloadHeader } from './payload.js';
import { errorCode } from '../errors/error-code.test-helper.js';

const layout: TensorSpec[] = [
  { name: 'conv/kernel', shape: [3, 3, 1, 2] },
  { name: 'conv/bias', shape: [2] },
  { name: 'dense/kernel', shape: [5, 3] },
  { name: 'dénse/bias', shape: [3] },
];
const length = 18 + 2 + 15 + 3;
const flat: FlatWeights = { layout, values: Float32Array.from({ length }, (_, i) => Math.sin(i + 1) * (i % 3)) };

const expect32 = { layout, maxBytes: maxPayloadBytes(layout, 'float32') };

describe('payload format', () => {
  it('starts with the magic, version, codec code, tensor count and value count', () => {
    const bytes = encodePayload(flat, 'int8', createSeededRandom(1));
    expect([...bytes.subarray(0, 12)]).toEqual([0x43, 0x48, 0x57, 0x50, 1, 3, 4, 0, length, 0, 0, 0]);
    const header = readPayloadHeader(bytes);
    expect(header).toMatchObject({ formatVersion: 1, codec: 'int8', layout, length, totalBytes: bytes.byteLength });
    expect(header.headerBytes % 4).toBe(0);
  });

  it.each(['float32', 'float16', 'int8'] as const)('round-trips %s and its size equals maxPayloadBytes', (codec) => {
    const bytes = encodePayload(flat, codec, createSeededRandom(2));
    expect(bytes.byteLength).toBe(maxPayloadBytes(layout, codec));
    const decoded = decodePayload(bytes);
    expect(decoded.layout).toEqual(layout);
    const tolerance = { float32: 0, float16: 1e-3, int8: 2 / 127 }[codec];
    const worst = Math.max(...decoded.values.map((v, i) => Math.abs(v - flat.values[i]!)));
    expect(worst).toBeLessThanOrEqual(tolerance);
  });

  it.each(CODEC_IDS)('round-trips %s within maxPayloadBytes, keeping the layout', (codec) => {
    const bytes = encodePayload(flat, codec, createSeededRandom(2));
    expect(bytes.byteLength).toBeLessThanOrEqual(maxPayloadBytes(layout, codec));
    expect(readPayloadHeader(bytes).codec).toBe(codec);
    expect(decodePayload(bytes).layout).toEqual(layout);
  });

  it('refuses a rotating codec body whose seed is not the round\'s', () => {
    const bytes = encodePayload(flat, 'hadamard2', createSeededRandom(2), { seed: 42 });
    const expectation = { layout, maxBytes: maxPayloadBytes(layout, 'hadamard2') };
    expect(parsePayload(bytes, { ...expectation, seed: 42 }).codec).toBe('hadamard2');
    expect(errorCode(() => parsePayload(bytes, { ...expectation, seed: 43 }))).toBe('BAD_REQUEST');
  });

  it('makes int8 about a quarter of float32 for a real-sized model', () => {
    const big: TensorSpec[] = [{ name: 'w', shape: [1000, 1000] }];
    expect(maxPayloadBytes(big, 'int8') / maxPayloadBytes(big, 'float32')).toBeLessThan(0.26);
    expect(maxPayloadBytes(big, 'float16') / maxPayloadBytes(big, 'float32')).toBeCloseTo(0.5, 4);
  });

  it('parses into an update that folds and measures itself like its decoded values', () => {
    const bytes = encodePayload(flat, 'float32');
    const update = parsePayload(bytes, expect32);
    expect(update).toMatchObject({ codec: 'float32', length, byteLength: bytes.byteLength });
    expect([...update.decode()]).toEqual([...flat.values]);
    const target = new Float32Array(length).fill(1);
    update.foldInto(target, 2);
    expect([...target]).toEqual([...flat.values].map((v) => Math.fround(1 + 2 * v)));
    expect(update.l2Norm()).toBeCloseTo(Math.hypot(...flat.values), 6);
  });

  it('reads a payload that sits at an odd offset of a larger buffer', () => {
    const bytes = encodePayload(flat, 'float16');
    const shifted = new Uint8Array(bytes.byteLength + 1);
    shifted.set(bytes, 1);
    const update = parsePayload(shifted.subarray(1), { layout, maxBytes: bytes.byteLength });
    expect([...update.decode()]).toEqual([...decodePayload(bytes).values]);
  });
});

describe('payload rejections', () => {
  const good = () => encodePayload(flat, 'float32');

  it('refuses a payload over maxBytes with PAYLOAD_TOO_LARGE', () => {
    expect(errorCode(() => parsePayload(good(), { layout, maxBytes: 100 }))).toBe('PAYLOAD_TOO_LARGE');
  });

  it('refuses bad magic and unknown format versions with UNSUPPORTED_PROTOCOL', () => {
    const badMagic = good();
    badMagic[0] = 0x7b; // a JSON body
    const future = good();
    future[4] = 2;
    expect(errorCode(() => parsePayload(badMagic, expect32))).toBe('UNSUPPORTED_PROTOCOL');
    expect(errorCode(() => parsePayload(future, expect32))).toBe('UNSUPPORTED_PROTOCOL');
    expect(errorCode(() => parsePayload(new Uint8Array(0), expect32))).toBe('UNSUPPORTED_PROTOCOL');
  });

  it('refuses unknown and disallowed codecs with UNKNOWN_CODEC', () => {
    const unknown = good();
    unknown[5] = 42;
    expect(() => parsePayload(unknown, expect32)).toThrow(/42/);
    expect(errorCode(() => parsePayload(unknown, expect32))).toBe('UNKNOWN_CODEC');
    expect(errorCode(() => parsePayload(good(), { ...expect32, codecs: ['int8'] }))).toBe('UNKNOWN_CODEC');
  });

  it('refuses another layout with SHAPE_MISMATCH naming the tensor', () => {
    const other = [...layout.slice(0, 2), { name: 'dense/kernel', shape: [3, 5] }, layout[3]!];
    expect(() => parsePayload(good(), { layout: other, maxBytes: 10_000 })).toThrow(/dense\/kernel/);
    expect(errorCode(() => parsePayload(good(), { layout: other, maxBytes: 10_000 }))).toBe('SHAPE_MISMATCH');
  });

  it('refuses non-finite values with NON_FINITE, on both sides', () => {
    const bytes = good();
    const last = bytes.byteLength - 4;
    new DataView(bytes.buffer).setFloat32(last, NaN, true);
    expect(errorCode(() => parsePayload(bytes, expect32))).toBe('NON_FINITE');
    const infinite = { layout, values: flat.values.map((v, i) => (i === 5 ? Infinity : v)) };
    expect(errorCode(() => encodePayload(infinite, 'int8'))).toBe('NON_FINITE');
    const overflow = { layout, values: flat.values.map((v, i) => (i === 5 ? 1e6 : v)) };
    expect(errorCode(() => encodePayload(overflow, 'float16'))).toBe('NON_FINITE');
  });

  it('refuses truncated and padded buffers', () => {
    const bytes = good();
    expect(errorCode(() => parsePayload(bytes.subarray(0, bytes.byteLength - 1), expect32))).toBe('SHAPE_MISMATCH');
    expect(errorCode(() => parsePayload(bytes.subarray(0, 20), expect32))).toBe('BAD_REQUEST');
    const longer = new Uint8Array(bytes.byteLength + 4);
    longer.set(bytes);
    expect(errorCode(() => parsePayload(longer, { layout, maxBytes: longer.byteLength }))).toBe('SHAPE_MISMATCH');
  });

  it('refuses a header whose value count disagrees with its tensors', () => {
    const bytes = good();
    bytes[8] = length + 1;
    expect(errorCode(() => parsePayload(bytes, expect32))).toBe('SHAPE_MISMATCH');
  });

  it('refuses to encode a vector that does not fit its layout', () => {
    expect(errorCode(() => encodePayload({ layout, values: new Float32Array(3) }, 'float32'))).toBe('SHAPE_MISMATCH');
  });

  it('throws only ChorusError on random garbage and on random corruptions of valid payloads', () => {
    const random = createSeededRandom(11);
    const valid = CODEC_IDS.map((c) => encodePayload(flat, c, random));
    const others: string[] = [];
    const check = (bytes: Uint8Array) => {
      for (const parse of [() => parsePayload(bytes, { layout, maxBytes: 1 << 20 }), () => decodePayload(bytes)]) {
        const code = errorCode(parse);
        if (code?.startsWith('not a ChorusError')) others.push(code);
      }
    };
    for (let trial = 0; trial < 2000; trial++) {
      const source = valid[trial % valid.length]!;
      const bytes = trial % 2 ? source.slice(0, Math.floor(random() * (source.byteLength + 1))) : source.slice();
      // Keep the magic most of the time so the fuzz reaches the header and body parsers.
      const flips = 1 + Math.floor(random() * 4);
      for (let f = 0; f < flips && bytes.byteLength > 4; f++) bytes[4 + Math.floor(random() * (bytes.byteLength - 4))] = Math.floor(random() * 256);
      check(bytes);
      check(Uint8Array.from({ length: Math.floor(random() * 64) }, () => Math.floor(random() * 256)));
    }
    expect(others).toEqual([]);
  });
});

describe('float32View', () => {
  it('views aligned float32 bytes in place and copies unaligned ones, with the same values', () => {
    const values = Float32Array.of(1.5, -2, 3.25);
    const aligned = new Uint8Array(values.buffer);
    const viewed = float32View(aligned);
    expect(viewed.buffer).toBe(values.buffer);
    expect([...viewed]).toEqual([1.5, -2, 3.25]);
    const shifted = new Uint8Array(13);
    shifted.set(aligned, 1);
    const copied = float32View(shifted.subarray(1));
    expect(copied.buffer).not.toBe(shifted.buffer);
    expect([...copied]).toEqual([1.5, -2, 3.25]);
  });
});

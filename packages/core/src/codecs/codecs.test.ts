import { describe, expect, it } from 'vitest';
import { createSeededRandom } from '../random/seeded-random.js';
import { CODEC_IDS } from './codec.js';
import { getCodec, getCodecByCode, listCodecs, registerCodec, unregisterCodec } from './codec-registry.js';
import { INT8_CHUNK, int8Codec } from './int8-codec.js';
import { errorCode } from '../errors/error-code.test-helper.js';

const sample = Float32Array.from([0, 1, -1, 0.5, -0.25, 3.75, 1e-3, -7, 2 ** -20, 100]);

describe('codec registry', () => {
  it('finds every codec by id and by its unique wire code', () => {
    expect(listCodecs().map((c) => c.id)).toEqual([...CODEC_IDS]);
    expect(new Set(listCodecs().map((c) => c.code)).size).toBe(CODEC_IDS.length);
    for (const c of listCodecs()) expect(getCodecByCode(c.code)).toBe(getCodec(c.id));
  });

  it('rejects an unknown code with UNKNOWN_CODEC naming the code', () => {
    expect(() => getCodecByCode(99)).toThrow(/99/);
    expect(errorCode(() => getCodecByCode(99))).toBe('UNKNOWN_CODEC');
  });

  it('registers a codec by id and wire code, refuses a taken wire code, and unregisters', () => {
    // Prepare: a copy of float32 under another id (the type only admits protocol ids, hence the cast).
    const copy = { ...getCodec('float32'), id: 'float32-copy' as 'float32', code: 99 };

    // Execute
    registerCodec(copy);
    const found = getCodecByCode(99);
    const clash = errorCode(() => registerCodec({ ...copy, id: 'other' as 'float32' }));
    unregisterCodec('float32-copy');

    // Assert
    expect(found).toBe(copy);
    expect(clash).toBe('INVALID_CONFIG');
    expect(errorCode(() => getCodecByCode(99))).toBe('UNKNOWN_CODEC');
  });
});

/** The element-wise codecs; the sparse and rotating ones have their own files (topk-codec.test.ts, hadamard-codec.test.ts). */
const ELEMENTWISE = ['float32', 'float16', 'int8'] as const;

describe.each(ELEMENTWISE)('%s codec', (id) => {
  const codec = getCodec(id);

  it('encodes to exactly bodyBytes and decodes close to the input', () => {
    const body = codec.encode(sample, createSeededRandom(1));
    expect(body.byteLength).toBe(codec.bodyBytes(sample.length));
    const decoded = codec.decode(body, sample.length);
    const tolerance = id === 'float32' ? 0 : id === 'float16' ? 1e-3 : 100 / 127;
    sample.forEach((x, i) => expect(Math.abs(decoded[i]! - x)).toBeLessThanOrEqual(tolerance * Math.max(1, Math.abs(x))));
  });

  it('folds weight × decoded into a target and reports the decoded sum of squares', () => {
    const body = codec.encode(sample, createSeededRandom(2));
    const decoded = codec.decode(body, sample.length);
    const target = Float32Array.from(sample, (_, i) => i);
    codec.foldInto(body, sample.length, target, 3);
    const expected = [...decoded].map((d, i) => Math.fround(i + 3 * d));
    // int8 folds scale × weight first, so the last float bit may differ from folding the decoded value.
    const close = (a: number, b: number) => Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));
    expect([...target].filter((v, i) => !close(v, expected[i]!))).toEqual([]);
    const decodedSquares = decoded.reduce((s, d) => s + d * d, 0);
    expect(close(codec.sumOfSquares(body, sample.length), decodedSquares)).toBe(true);
  });

  it('rejects a body of the wrong size with SHAPE_MISMATCH', () => {
    const body = codec.encode(sample, createSeededRandom(3));
    expect(errorCode(() => codec.validate(body.subarray(1), sample.length))).toBe('SHAPE_MISMATCH');
    expect(errorCode(() => codec.decode(body, sample.length + 1))).toBe('SHAPE_MISMATCH');
    expect(errorCode(() => codec.foldInto(body, sample.length, new Float32Array(3), 1))).toBe('SHAPE_MISMATCH');
  });

  it('rejects a non-finite value or scale with NON_FINITE', () => {
    const body = codec.encode(sample, createSeededRandom(4));
    // Byte 1 of every codec's body sits in the first value (float32/float16) or the first scale (int8).
    body[0] = 0xff;
    body[1] = 0xff;
    if (id !== 'float16') {
      body[2] = 0xff;
      body[3] = 0xff;
    }
    expect(errorCode(() => codec.validate(body, sample.length))).toBe('NON_FINITE');
  });
});

describe('int8 codec', () => {
  it('is unbiased: the mean of many decodes converges to the input', () => {
    // Values between quantization steps: round-to-nearest would be off by up to half a step forever.
    const scale = 1 / 127;
    const x = Float32Array.from({ length: 300 }, (_, i) => (i === 0 ? 1 : ((i % 50) / 50 - 0.5) * 0.9 + 0.3 * scale));
    const random = createSeededRandom(7);
    const draws = 4000;
    const mean = new Float64Array(x.length);
    for (let d = 0; d < draws; d++) {
      const decoded = int8Codec.decode(int8Codec.encode(x, random), x.length);
      for (let i = 0; i < x.length; i++) mean[i] += decoded[i]! / draws;
    }
    // Each decode is off by less than one step with variance ≤ step²/4: 5 standard errors of the mean.
    const bound = (5 * scale) / (2 * Math.sqrt(draws));
    const worst = Math.max(...x.map((v, i) => Math.abs(mean[i]! - v)));
    expect(worst).toBeLessThan(bound);
  });

  it('keeps each chunk within one step of its own scale and stores a zero chunk as zeros', () => {
    const x = new Float32Array(INT8_CHUNK * 2 + 5);
    for (let i = INT8_CHUNK; i < x.length; i++) x[i] = Math.sin(i) * 1000;
    const decoded = int8Codec.decode(int8Codec.encode(x, createSeededRandom(9)), x.length);
    expect([...decoded.subarray(0, INT8_CHUNK)].every((v) => v === 0)).toBe(true);
    const step = 1000 / 127;
    for (let i = INT8_CHUNK; i < x.length; i++) expect(Math.abs(decoded[i]! - x[i]!)).toBeLessThan(step);
  });

  it('refuses to encode a non-finite value', () => {
    expect(errorCode(() => int8Codec.encode(Float32Array.of(1, NaN), Math.random))).toBe('NON_FINITE');
  });
});

describe('codec validate: magnitude bounds', () => {
  /** An int8 body for 4 values: one chunk scale, then the values. */
  function int8Body(scale: number, q: number): Uint8Array {
    const body = new Uint8Array(8);
    new DataView(body.buffer).setFloat32(0, scale, true);
    new Int8Array(body.buffer, 4, 4).fill(q);
    return body;
  }

  it('int8: refuses a finite scale whose values overflow float32 even without a task bound', () => {
    expect(() => getCodec('int8').validate(int8Body(3.4e38, 127), 4)).toThrow(expect.objectContaining({ code: 'OUT_OF_BOUNDS' }));
  });

  it('int8: refuses a scale above maxAbs / 127 and accepts an honest encoding at the bound', () => {
    const honest = getCodec('int8').encode(Float32Array.of(10, -10, 5, 0), () => 0.5);
    expect(() => getCodec('int8').validate(honest, 4, 10)).not.toThrow();
    expect(() => getCodec('int8').validate(int8Body(11 / 127, 1), 4, 10)).toThrow(/scale of chunk #0 is 0\.08661, so its values reach 11\.00/);
  });

  it('int8: refuses a negative scale', () => {
    expect(() => getCodec('int8').validate(int8Body(-1, 1), 4)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
  });

  it('float32 and float16: refuse a value beyond maxAbs', () => {
    const f32 = getCodec('float32').encode(Float32Array.of(0, 2, 0, 0), Math.random);
    const f16 = getCodec('float16').encode(Float32Array.of(0, 0, -3, 0), Math.random);
    expect(() => getCodec('float32').validate(f32, 4, 1)).toThrow(/value #1 is 2\.000/);
    expect(() => getCodec('float16').validate(f16, 4, 1)).toThrow(/value #2 is -3\.000/);
    expect(() => getCodec('float32').validate(f32, 4, 2)).not.toThrow();
  });
});

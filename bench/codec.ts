/**
 * Codec benchmark on a CNN-sized update (1,663,370 values, Gaussian deltas).
 * - <codec>OverFloat32: payload bytes (header included) relative to float32. int8 must be ≤ 0.26.
 * - encode/decode throughput in MB/s of float32 input/output, and values per second.
 * - round-trip error of the lossy codecs: relative L2 error and max absolute error.
 */
import { CODEC_IDS, createSeededRandom, decodePayload, encodePayload, layoutSize, maxPayloadBytes, parsePayload } from '@chorus/core';
import { CNN_LAYOUT, log, median, randomDelta } from './aggregate.js';

function timeMs(fn: () => void): number {
  const start = performance.now();
  fn();
  return performance.now() - start;
}

function errors(original: Float32Array, decoded: Float32Array): { relativeL2Error: number; maxAbsError: number } {
  let diff = 0;
  let norm = 0;
  let maxAbs = 0;
  for (let i = 0; i < original.length; i++) {
    const d = decoded[i]! - original[i]!;
    diff += d * d;
    norm += original[i]! * original[i]!;
    maxAbs = Math.max(maxAbs, Math.abs(d));
  }
  return { relativeL2Error: Math.sqrt(diff / norm), maxAbsError: maxAbs };
}

export async function run(): Promise<Record<string, unknown>> {
  const length = layoutSize(CNN_LAYOUT);
  const values = randomDelta(length, 1);
  const flat = { layout: CNN_LAYOUT, values };
  const random = createSeededRandom(2);
  const repeats = 9;
  const float32Bytes = maxPayloadBytes(CNN_LAYOUT, 'float32');
  const megabytes = (length * 4) / 1e6;
  const perCodec: Record<string, Record<string, number>> = {};

  for (const codec of CODEC_IDS) {
    log(`codec: ${codec} × ${repeats} encodes and decodes of ${length} values`);
    let bytes = encodePayload(flat, codec, random);
    const encodeMs = median(Array.from({ length: repeats }, () => timeMs(() => (bytes = encodePayload(flat, codec, random)))));
    let decoded = decodePayload(bytes).values;
    const decodeMs = median(Array.from({ length: repeats }, () => timeMs(() => (decoded = decodePayload(bytes).values))));
    const expect = { layout: CNN_LAYOUT, maxBytes: bytes.byteLength };
    const parseMs = median(Array.from({ length: repeats }, () => timeMs(() => parsePayload(bytes, expect))));
    perCodec[codec] = {
      payloadBytes: bytes.byteLength,
      overFloat32: round(bytes.byteLength / float32Bytes, 4),
      encodeMBps: round(megabytes / (encodeMs / 1000), 1),
      decodeMBps: round(megabytes / (decodeMs / 1000), 1),
      // parsePayload = header + full validation (int8 only needs its scales checked).
      parseMBps: round(megabytes / (parseMs / 1000), 1),
      encodeValuesPerSecond: Math.round(length / (encodeMs / 1000)),
      decodeValuesPerSecond: Math.round(length / (decodeMs / 1000)),
      ...mapValues(errors(values, decoded), (x) => round(x, 6)),
    };
    log(`  ${JSON.stringify(perCodec[codec])}`);
  }

  return {
    values: length,
    int8OverFloat32: perCodec.int8!.overFloat32,
    float16OverFloat32: perCodec.float16!.overFloat32,
    int8RelativeL2Error: perCodec.int8!.relativeL2Error,
    int8MaxAbsError: perCodec.int8!.maxAbsError,
    codecs: perCodec,
  };
}

function mapValues<T extends Record<string, number>>(obj: T, fn: (x: number) => number): T {
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, fn(v)])) as T;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

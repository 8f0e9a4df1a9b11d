/**
 * An update codec turns a flat float32 vector into bytes and back. Codecs are looked up by id in a
 * registry (codec-registry.ts); the wire header carries the codec's numeric `code`.
 */
export const CODEC_IDS = ['float32', 'float16', 'int8'] as const;
export type CodecId = (typeof CODEC_IDS)[number];

/** Uniform random numbers in [0, 1). Injected so tests and simulations are reproducible. */
export type RandomSource = () => number;

export interface UpdateCodec {
  readonly id: CodecId;
  /** A few words for the console and GET /api/strategies. */
  readonly description: string;
  /** The byte written in the payload header. Never reuse a retired code. */
  readonly code: number;
  /** Exact body size in bytes for a vector of `length` values. */
  bodyBytes(length: number): number;
  encode(values: Float32Array, random: RandomSource): Uint8Array;
  decode(body: Uint8Array, length: number, out?: Float32Array): Float32Array;
  /** target[i] += weight * decoded[i], without materialising the decoded vector. */
  foldInto(body: Uint8Array, length: number, target: Float32Array, weight: number): void;
  /**
   * Throws ChorusError (PAYLOAD_TOO_LARGE / SHAPE_MISMATCH / NON_FINITE) when the body cannot be a
   * valid encoding, and OUT_OF_BOUNDS when a decoded value could exceed `maxAbs` in magnitude.
   * @default maxAbs = the largest finite float32 (what every decoded value must fit in)
   */
  validate(body: Uint8Array, length: number, maxAbs?: number): void;
}

/**
 * An update codec turns a flat float32 vector into bytes and back. Codecs are looked up by id in a
 * registry (codec-registry.ts); the wire header carries the codec's numeric `code`.
 */
export const CODEC_IDS = ['float32', 'float16', 'int8', 'topk', 'topk-q4', 'hadamard1', 'hadamard2', 'hadamard4', 'hadamard1s', 'hadamard2s'] as const;
export type CodecId = (typeof CODEC_IDS)[number];

/** Uniform random numbers in [0, 1). Injected so tests and simulations are reproducible. */
export type RandomSource = () => number;

export interface EncodeOptions {
  /** The round's shared seed (roundCodecSeed) for codecs that rotate; others ignore it. */
  readonly seed?: number;
}

export interface UpdateCodec {
  readonly id: CodecId;
  /** A few words for the console and GET /api/strategies. */
  readonly description: string;
  /** The byte written in the payload header. Never reuse a retired code. */
  readonly code: number;
  /**
   * Largest body size in bytes for a vector of `length` values; exact for fixed-size codecs
   * (float32, float16, int8, hadamard*), an upper bound for sparse ones (topk*), whose bodies say
   * their own size and are checked against it.
   */
  bodyBytes(length: number): number;
  /**
   * Biased codecs (top-k) set this: the client keeps what was not sent (error feedback) and adds it
   * to its next update.
   */
  readonly errorFeedback?: boolean;
  /** The rotation seed a body was encoded with, for codecs that rotate (checked against the round's). */
  seedOf?(body: Uint8Array): number;
  encode(values: Float32Array, random: RandomSource, options?: EncodeOptions): Uint8Array;
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

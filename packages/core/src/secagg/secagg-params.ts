/**
 * What every party of a secure round agrees on before it starts (the server sends it with the
 * invitation), and the ring size derived from it so the sum of every participant's input can
 * never wrap around.
 */
import { z } from 'zod';
import { SecAggError } from './secagg-error.js';
import { describeZodError } from '../errors/zod-error.js';

/** The Shamir library works in GF(2^8): at most 255 shares, so at most 255 neighbours. */
export const MAX_NEIGHBOURS = 254;
/** Rotation block (a power of two): the update is rotated block by block after a public shuffle. */
export const ROTATION_BLOCK = 1024;
/** Coordinates are clamped at this many standard deviations of a norm-C update after rotation. */
export const DEFAULT_RANGE_FACTOR = 4;
/** @default 5 bits per quantized value (levels −15…15); the ring adds ⌈log2 n⌉ bits for the sum. */
export const DEFAULT_QUANTIZATION_BITS = 5;

export const secAggSetupSchema = z.object({
  roundId: z.string().min(1).max(200),
  /** Participants on the round's roster, ids 1..participants. */
  participants: z.number().int().min(2).max(100_000),
  neighbours: z.number().int().min(2).max(MAX_NEIGHBOURS),
  threshold: z.number().int().min(2).max(MAX_NEIGHBOURS),
  /** 32 public random bytes: the neighbour graph and the rotation are drawn from them. */
  seed: z.instanceof(Uint8Array).refine((b) => b.length === 32, 'must be 32 bytes'),
  /** Values in the update (the model's parameter count). */
  length: z.number().int().min(1).max(50_000_000),
  quantizationBits: z.number().int().min(2).max(24).default(DEFAULT_QUANTIZATION_BITS),
  /** The L2 norm every update is clipped to on the participant. */
  clipNorm: z.number().positive().finite(),
  /** Examples above this count weigh as this count (the weight is carried as one more value). */
  maxWeight: z.number().int().min(1).max(1e9),
  rangeFactor: z.number().positive().max(64).default(DEFAULT_RANGE_FACTOR),
  /**
   * Central DP: the rounded input itself, not only the update before rounding, is never longer than
   * clipNorm, so one participant moves the sum by at most clipNorm (the sensitivity the noise is
   * calibrated to). Stochastic rounding lengthens a vector a little; see quantizeUpdate.
   */
  strictClip: z.boolean().default(false),
});
export type SecAggSetup = z.output<typeof secAggSetupSchema>;
export type SecAggSetupInput = z.input<typeof secAggSetupSchema>;

/** The numbers derived from a setup that encoding, masking and decoding use. */
export interface SecAggShape {
  readonly setup: SecAggSetup;
  /** Quantization levels on each side of zero: values are integers in [−levels, levels]. */
  readonly levels: number;
  /** Bits of the ring Z_{2^ringBits} the masked values live in (bits per coordinate on the wire). */
  readonly ringBits: number;
  /** The update's length after padding to whole rotation blocks. */
  readonly paddedLength: number;
  /** Values per masked vector: the padded update plus the weight. */
  readonly maskedLength: number;
  /** Each rotated value is clamped to [−range, range] before quantization. */
  readonly range: number;
  /** Bytes of one packed masked vector. */
  readonly maskedBytes: number;
}

/**
 * Ring bits for n inputs in [−L, L] with L = 2^(q−1) − 1: the sum takes one of 2nL + 1 values,
 * so the smallest ring that holds them all is 2^⌈log2(2nL + 1)⌉ and a centred lift recovers the
 * sum exactly (at most q + ⌈log2 n⌉ bits).
 */
export function ringBitsFor(participants: number, quantizationBits: number): number {
  const levels = 2 ** (quantizationBits - 1) - 1;
  return Math.ceil(Math.log2(2 * participants * levels + 1));
}

export function secAggShape(input: SecAggSetupInput): SecAggShape {
  const parsed = secAggSetupSchema.safeParse(input);
  if (!parsed.success) throw new SecAggError('BAD_PARAMETERS', describeZodError(parsed.error), { path: 'secagg.setup' });
  const setup = parsed.data;
  const ringBits = ringBitsFor(setup.participants, setup.quantizationBits);
  if (ringBits > 32) {
    throw new SecAggError('BAD_PARAMETERS', `${setup.participants} participants at ${setup.quantizationBits} bits need a ${ringBits}-bit ring; the most is 32 (use fewer bits or fewer participants)`);
  }
  const degree = neighbourDegree(setup);
  if (setup.threshold > degree) {
    throw new SecAggError('BAD_PARAMETERS', `threshold ${setup.threshold} is above the ${degree} neighbours each participant has`);
  }
  const paddedLength = Math.ceil(setup.length / ROTATION_BLOCK) * ROTATION_BLOCK;
  const maskedLength = paddedLength + 1;
  return {
    setup,
    levels: 2 ** (setup.quantizationBits - 1) - 1,
    ringBits,
    paddedLength,
    maskedLength,
    range: (setup.rangeFactor * setup.clipNorm) / Math.sqrt(paddedLength),
    maskedBytes: Math.ceil((maskedLength * ringBits) / 8),
  };
}

/** Each participant's number of neighbours in a round of this setup. */
export function neighbourDegree(setup: Pick<SecAggSetup, 'participants' | 'neighbours'>): number {
  return Math.min(2 * Math.ceil(setup.neighbours / 2), setup.participants - 1);
}

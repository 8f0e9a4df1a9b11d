import { ChorusError, type ErrorCode } from '../errors/chorus-error.js';

/**
 * Why a secure-aggregation message or step was refused. Every refusal is one of these, so a caller
 * (server, worker, test) can tell a hostile message from a round that simply cannot finish.
 */
export const SECAGG_REASONS = {
  /** A message is malformed: wrong lengths, wrong types, values outside the round's parameters. */
  MALFORMED: 'BAD_REQUEST',
  /** A message names a participant id that is not in the round (or not a neighbour). */
  UNKNOWN_ID: 'BAD_REQUEST',
  /** A participant already sent this stage's message, or reused a public key seen this round. */
  REPLAYED: 'BAD_REQUEST',
  /** The number of encrypted shares is not exactly one per live neighbour. */
  WRONG_SHARE_COUNT: 'BAD_REQUEST',
  /** A message arrived for a stage that is over or not yet open. */
  WRONG_STAGE: 'ROUND_CLOSED',
  /** The server asked a participant for shares of its own secrets. */
  OWN_SHARES_REQUESTED: 'FORBIDDEN',
  /** An unmasking request that asks for both kinds of share of one id, or contradicts what happened. */
  INCONSISTENT_UNMASKING: 'FORBIDDEN',
  /** An encrypted share did not decrypt (wrong key, tampered, or bound to other ids or another round). */
  DECRYPT_FAILED: 'BAD_REQUEST',
  /** A public key is not a usable X25519 key (low order, wrong length). */
  BAD_KEY: 'BAD_REQUEST',
  /** Fewer participants or shares than the threshold: the round is abandoned and nothing is revealed. */
  BELOW_THRESHOLD: 'ROUND_CLOSED',
  /** Reconstructed secrets do not match what their owner committed to: a share was wrong. */
  RECONSTRUCTION_FAILED: 'ROUND_CLOSED',
  /** The round's parameters cannot work (ring too small, threshold above the neighbour count…). */
  BAD_PARAMETERS: 'INVALID_CONFIG',
} as const satisfies Record<string, ErrorCode>;

export type SecAggReason = keyof typeof SECAGG_REASONS;

/** A refused secure-aggregation step: a ChorusError (so it crosses the wire as one) plus its reason. */
export class SecAggError extends ChorusError {
  readonly reason: SecAggReason;

  constructor(reason: SecAggReason, message: string, options?: { cause?: unknown; path?: string }) {
    super(SECAGG_REASONS[reason], `secure aggregation: ${message}`, options);
    this.reason = reason;
  }
}

import {
  ChorusError,
  SecAggParticipant,
  type AdvertiseKeys,
  type IncomingShares,
  type MaskedInput,
  type NeighbourKeys,
  type ShareKeys,
  type UnmaskingRequest,
  type UnmaskingResponse,
} from '@chorus/core';

/**
 * The participant's SecAgg+ computation for its rounds: key generation, sealing shares, quantizing
 * and masking the update, answering the unmasking request. Whoever holds it holds the private keys
 * and the unmasked update; the session only passes its messages to and from the socket. In the
 * browser it lives in the trainer worker (see worker-secure-computation.ts), so the page's thread
 * stays free and neither keys nor the update ever reach the page; in Node it runs in-process.
 */
export interface SecureComputation {
  /** Starts this participant's side of `roundId` (keys are made here) and returns its advertised keys. */
  begin(roundId: string, setup: unknown, id: number): Promise<AdvertiseKeys>;
  share(roundId: string, keys: NeighbourKeys): Promise<ShareKeys>;
  /**
   * Quantizes and masks the update: `update` when given, else the one the trainer kept for this
   * round (see keep). The unmasked update is forgotten once masked.
   */
  mask(roundId: string, shares: IncomingShares, update: Float32Array | undefined, numExamples: number): Promise<MaskedInput>;
  unmask(roundId: string, request: UnmaskingRequest): Promise<UnmaskingResponse>;
  /** Forgets the round (its keys, shares and any kept update). */
  end(roundId: string): Promise<void>;
}

/** A SecureComputation whose trainer can also hand it the trained update directly (the worker's). */
export interface KeepingSecureComputation extends SecureComputation {
  /** Keeps `update` for the round's mask stage, so it never leaves the trainer's side. */
  keep(roundId: string, update: Float32Array): void;
}

/** Rounds kept at once: older ones are forgotten (a round that never finished must not leak keys). */
const MAX_ROUNDS = 4;

/** The computation in this thread, on core's SecAggParticipant (the same code as the worker's). */
export function createLocalSecureComputation(): KeepingSecureComputation {
  const rounds = new Map<string, { participant: Promise<SecAggParticipant>; kept?: Float32Array }>();
  const get = (roundId: string) => {
    const r = rounds.get(roundId);
    if (!r) throw new ChorusError('ROUND_CLOSED', `secure round ${roundId} is not in progress here`);
    return r;
  };
  return {
    async begin(roundId, setup, id) {
      if (rounds.has(roundId)) throw new ChorusError('BAD_REQUEST', `secure round ${roundId} has already begun here`);
      const participant = SecAggParticipant.create(setup as never, id);
      participant.catch(() => undefined);
      rounds.set(roundId, { participant });
      for (const old of rounds.keys()) if (rounds.size > MAX_ROUNDS) rounds.delete(old);
      return (await participant).advertise();
    },
    async share(roundId, keys) {
      return (await get(roundId).participant).shareKeys(keys);
    },
    keep(roundId, update) {
      get(roundId).kept = update;
    },
    async mask(roundId, shares, update, numExamples) {
      const r = get(roundId);
      const values = update ?? r.kept;
      if (!values) throw new ChorusError('INTERNAL', `secure round ${roundId}: no update to mask (the trainer kept none)`);
      delete r.kept;
      return (await r.participant).maskedInput(shares, values, numExamples);
    },
    async unmask(roundId, request) {
      return (await get(roundId).participant).unmask(request);
    },
    async end(roundId) {
      rounds.delete(roundId);
    },
  };
}

import type { Logger } from 'pino';
import type { Capabilities, ClientUpdate, SecAggResult, TaskConfig, TensorSpec, UpdateLimits } from '@chorus/core';
import { centralDp } from './central-dp.js';
import type { Clock } from './clock.js';
import { SecureRound, type SecureRoundIo } from './secure-round.js';
import { secureSumUpdate } from './secure-sum-update.js';

/**
 * What both runners share around a SecureRound: a synchronous round and an asynchronous task's
 * cohort are the same protocol over a roster, set up from the task's options the same way, and
 * their unmasked mean reaches the strategy as the same one update.
 */
export interface TaskSecureRoundInput {
  /** The round's (or cohort's) id: it salts the share encryption and names the round on the wire. */
  readonly roundId: string;
  readonly participants: readonly { readonly participantId: string; readonly capabilities: Capabilities }[];
  readonly config: TaskConfig;
  readonly limits: UpdateLimits;
  /** The norm bound of the version the participants train on. */
  readonly bound: number;
  /** Values in an update. */
  readonly length: number;
  readonly clock: Clock;
  readonly log: Logger;
  readonly send: SecureRoundIo['send'];
}

/** Opens the SecAgg+ protocol for a task's round or cohort (see TaskSecureRoundInput). */
export function openTaskSecureRound(i: TaskSecureRoundInput): Promise<SecureRound> {
  const dp = centralDp(i.config);
  return SecureRound.open({
    roundId: i.roundId,
    participantIds: i.participants.map((m) => m.participantId),
    config: i.config.secureAggregation!,
    length: i.length,
    // Central DP: each participant clips to C itself (strictly, rounding included), and every
    // update weighs 1, as DP-FedAvg's server would clip and weigh it; the strategy adds the noise.
    clipNorm: dp ? Math.min(dp.clipNorm, i.bound) : i.bound,
    // No update may claim more examples than its participant declared (nor training.maxExamples):
    // the smallest such cap is the weight scale, so weights keep their quantization precision.
    maxWeight: dp ? 1 : Math.max(1, Math.min(i.limits.maxExamplesPerUpdate, i.config.training.maxExamples || Infinity, Math.max(...i.participants.map((m) => m.capabilities.numExamples)))),
    strictClip: dp !== undefined,
    // Local training happens before the masked input: that stage waits as long as an update would.
    maskDeadlineMs: i.config.rounds.deadlineMs,
    clock: i.clock,
    log: i.log,
    io: { send: i.send },
  });
}

/**
 * The unmasked weighted mean as the one update the strategy aggregates (FedAvg of one update is
 * that update; server optimizers step on it). With central DP the mean is of clipped, equally
 * weighted updates: DP counts each of them (`meanOf`). `scale`: the async staleness weight.
 */
export function secureAggregate(layout: readonly TensorSpec[], config: TaskConfig, result: SecAggResult, participantId: string, scale?: number): ClientUpdate {
  return {
    participantId,
    numExamples: Math.max(1, Math.round(result.examples)),
    update: secureSumUpdate(layout, result.mean),
    metrics: {},
    ...(centralDp(config) ? { meanOf: result.included.length } : {}),
    ...(scale !== undefined ? { scale } : {}),
  };
}

/** Each survivor's receipt: no norm and no byte count of its own, only what the protocol did. */
export function secureReceiptNote(result: SecAggResult): string {
  return `securely aggregated (SecAgg+, ${result.report.bitsPerCoordinate} bits per value, ${result.report.recoveredDropouts} dropouts recovered)`;
}

import type { Capabilities } from '@chorus/core';
import type { ParticipantHistory, SelectionReason } from '../storage/selection-records.js';

export interface SelectionCandidate {
  readonly participantId: string;
  readonly capabilities: Capabilities;
}

export interface SelectionInput<T extends SelectionCandidate> {
  /** The eligible, connected participants not busy elsewhere. */
  readonly candidates: readonly T[];
  readonly count: number;
  readonly round: number;
  readonly random: () => number;
  readonly history: ReadonlyMap<string, ParticipantHistory>;
  /** The task's round deadline: the longest a round may take. */
  readonly deadlineMs: number;
  /** Examples each participant trains on per round at most (training.maxExamples × localEpochs; 0 = all). */
  readonly examplesPerRound: (c: T) => number;
}

export interface Selection<T> {
  readonly picked: T[];
  readonly reasons: SelectionReason[];
}

/** One task's selector: made from the task's options, may keep state between rounds (Oort's ε). */
export interface Selector {
  select<T extends SelectionCandidate>(input: SelectionInput<T>): Selection<T>;
  /** Whether it ranks by coverage: the tracker then keeps each participant's update signature (ParticipantHistory.signature). */
  readonly usesSignatures?: boolean;
  /** State to keep across a restart (JSON). */
  exportState?(): unknown;
  importState?(state: unknown): void;
}

/**
 * How a round picks whom to invite among the eligible. One shape with every other extension point
 * (core's createRegistry): register, get, unregister by id. `create` validates the options and
 * throws INVALID_CONFIG naming the bad one.
 */
export interface SelectionPolicy {
  readonly id: string;
  readonly description: string;
  create(options: Readonly<Record<string, unknown>>): Selector;
}

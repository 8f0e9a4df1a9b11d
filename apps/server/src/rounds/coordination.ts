import type { Capabilities, SecAggClientMessage, UpdateBegin, UpdateReceipt } from '@chorus/core';
import type { TaskSummary } from './task-summary.js';

/** A participant of the task on some process, as a new coordinator finds it in the presence registry. */
export interface PresentMember {
  readonly participantId: string;
  readonly connectionId: string;
  readonly capabilities: Capabilities;
}

/** A participant event that only the task's coordinator acts on (it holds the round's bookkeeping). */
export type CoordinatorEvent =
  | { readonly kind: 'member-add'; readonly participantId: string; readonly connectionId: string; readonly capabilities: Capabilities }
  | { readonly kind: 'member-remove'; readonly participantId: string; readonly connectionId: string }
  | { readonly kind: 'member-caps'; readonly participantId: string; readonly connectionId: string; readonly capabilities: Capabilities }
  | { readonly kind: 'decline'; readonly participantId: string; readonly roundId: string; readonly reason: string }
  | { readonly kind: 'refuse'; readonly participantId: string; readonly roundId: string; readonly code: string; readonly message: string }
  | { readonly kind: 'download'; readonly bytes: number };

/**
 * A question for the task's coordinator whose answer the asking process waits for.
 *
 * `inFlight` (check, admit, slots): the asking process's uploads for the round running now, not
 * counting one being admitted. The coordinator holds the others' counts against what each process
 * may run at once, so the processes together run no more uploads than the round still needs.
 */
export type CoordinatorRequest =
  | { readonly kind: 'check'; readonly participantId: string; readonly roundId: string; readonly version: number; readonly inFlight?: number }
  | { readonly kind: 'submit'; readonly participantId: string; readonly begin: UpdateBegin; readonly bytes: Uint8Array }
  | { readonly kind: 'admin'; readonly action: AdminAction }
  /** An upload this process validated for a linear round: the coordinator's bookkeeping; folded here once accepted. */
  | { readonly kind: 'admit'; readonly participantId: string; readonly begin: UpdateBegin; readonly bytes: number; readonly verdict: UploadVerdict; readonly inFlight?: number }
  /** How many uploads for the round may run on the asking process now (asked again while begins wait there). */
  | { readonly kind: 'slots'; readonly roundId: string; readonly inFlight: number }
  /**
   * To a process, from the coordinator closing the round: its partial sum of the round's uploads.
   * `admitted`: how many of this process's uploads the coordinator accepted; the answer need not wait for the rest.
   */
  | { readonly kind: 'partial'; readonly roundId: string; readonly admitted?: number }
  /** Where the task's rounds stand, as its coordinator knows (a read on another process). */
  | { readonly kind: 'summary' }
  /** A participant's message in a stage of a secure round (SecAgg+ runs on the coordinator). */
  | { readonly kind: 'secagg'; readonly participantId: string; readonly message: SecAggClientMessage };

/** The part of a task summary only the coordinator knows: its round loop and every process's participants. */
export type LiveSummary = Pick<TaskSummary, 'status' | 'phase' | 'version' | 'lastRound' | 'currentRound' | 'connected' | 'byBackend'>;

/** What an upload for the open round must meet, as the coordinator tells the process that receives it. */
export interface RoundRules {
  /** The round's L2 bound on an update (null: none). */
  readonly bound: number | null;
  /** Whether that process folds the upload into its own partial sum (linear strategies). */
  readonly partial: boolean;
  /**
   * Uploads the asking process may run at once: the updates the round still needs (its target −
   * accepted) less the uploads the other processes reported running; null: no limit (not
   * collecting). The asking process's upload gate lets no more of its own uploads run at once, so
   * over-selected participants there wait at update:begin instead of uploading for a full round.
   */
  readonly openSlots?: number | null;
  /** Whether the coordinator's selection policy keeps update signatures: the asking process then sends one with its verdict. */
  readonly signature?: boolean;
}

/**
 * What the process that received an upload found: its L2 norm (and its coverage signature when the
 * round's rules ask for one), or why it refused it.
 */
export type UploadVerdict = { readonly l2Norm: number; readonly signature?: number[] } | { readonly code: string; readonly message: string };

/** One process's partial sum of a round's uploads: Σ nᵢuᵢ, Σ nᵢ, and example-weighted metric sums. */
export interface PartialSum {
  readonly count: number;
  /** Whose updates it holds (a coordinator adopting it after a failover must not count them twice). */
  readonly participants: readonly string[];
  readonly examples: number;
  readonly sum: Float32Array;
  readonly metrics: Readonly<Record<string, { readonly sum: number; readonly weight: number }>>;
}

export type AdminAction = 'start' | 'pause' | 'resume' | 'stop';

/** What each CoordinatorRequest kind answers. */
export interface CoordinatorAnswers {
  check: RoundRules;
  slots: { readonly openSlots: number | null };
  submit: UpdateReceipt;
  admin: string;
  admit: UpdateReceipt;
  partial: PartialSum;
  summary: LiveSummary;
  secagg: { readonly received: true };
}

/**
 * Which process runs each task's rounds, for a RoundEngine on several processes (Redis: see
 * cluster/cluster-coordination.ts). Without it the engine is the coordinator of every task.
 * Participants stay on the process they connected to; their events reach the coordinator through
 * `tell` (fire and forget) and `ask` (an answer or a typed error).
 */
export interface Coordination {
  /** Whether this process holds the task's lease now. */
  coordinates(taskId: string): boolean;
  tell(taskId: string, event: CoordinatorEvent): void;
  /** `onAnswer` runs in the turn the answer arrives, before anything else this process hears. */
  ask<K extends CoordinatorRequest['kind']>(taskId: string, request: Extract<CoordinatorRequest, { kind: K }>, onAnswer?: (answer: CoordinatorAnswers[K]) => void): Promise<CoordinatorAnswers[K]>;
  /** Asks one process for its partial sum of a round (the coordinator, closing it). */
  partialOf(processId: string, taskId: string, roundId: string, admitted?: number): Promise<PartialSum>;
  /** A participant connected to this process joined or left the task (the presence registry). */
  present(taskId: string, participantId: string, connectionId: string, joined: boolean): void;
  /** The coordinator changed the task's stored state (status, version): followers reload it. */
  changed(taskId: string): void;
  /**
   * Resolves once every live process has written `version` of the task to its participants (the
   * next round's invites wait for it, as one process's emit queue makes them), or after a bounded wait.
   */
  delivered(taskId: string, version: number): Promise<void>;
  /** A round committed a version: followers take it in place. */
  committed(taskId: string, committed: { version: number; round: number; global: Float32Array; strategyState: Uint8Array | null }): void;
  /** A task was created here: the other processes load it. */
  created(taskId: string): void;
}

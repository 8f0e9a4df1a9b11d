/**
 * What client selection keeps in storage: each participant's round history (pseudonymous ids only,
 * nothing about the person or device beyond what the selection policy needs) and why each round's
 * participants were picked (the console shows it).
 */

/** What the server remembers of one participant's rounds. */
export interface ParticipantHistory {
  readonly participantId: string;
  /** Rounds (or asynchronous assignments) it was invited to. */
  invited: number;
  /** Updates it delivered and the server accepted. */
  completed: number;
  /**
   * Invitations that came to nothing through it: disconnected, declined, missed the deadline, update
   * refused. Not those cut short because the round closed at its target, cancelled by the server, or
   * still in flight: so invited ≥ completed + dropped.
   */
  dropped: number;
  /** Training loss it last reported (the client's `loss` metric), null before its first update. */
  lastLoss: number | null;
  /** Examples its last update trained on. */
  lastExamples: number;
  /** Invitation to delivery of its last update, ms; or how long it had worked when a round closed without it (a lower bound). */
  lastDurationMs: number | null;
  /** The round it was last invited to (0: never). */
  lastRound: number;
  /**
   * Its last accepted update's coverage signature (`updateSignature`: the output layer's change, at
   * most 64 values, unit length), kept only while the task's policy asks for it (Oort's
   * `diversity`); null otherwise or before its first update. It says roughly which labels the
   * participant trains on, so it is kept under the pseudonymous id like the rest.
   */
  signature: number[] | null;
}

/** Why a participant was picked, for the console: what the policy saw. */
export interface SelectionReason {
  readonly participantId: string;
  /** uniform: random; exploit: by utility; explore: not seen before. */
  /** `resume`: invited again by the round that restarts one a dead coordinator left open (it holds the version). */
  readonly kind: 'uniform' | 'exploit' | 'explore' | 'resume';
  /** The score it was ranked by (statistical × system × reliability, with fairness), when the policy ranks. */
  readonly utility?: number;
  /** Training speed it reported, examples/s. */
  readonly speed?: number;
  /** Share of its finished invitations it completed, (completed + 1) / (completed + dropped + 2). */
  readonly reliability?: number;
  /** How long the policy expects its round to take, ms. */
  readonly expectedMs?: number;
}

export interface RoundSelection {
  readonly policy: string;
  readonly reasons: SelectionReason[];
}

/**
 * A round's picks after more are added (an asynchronous buffer dispatches many times): earlier
 * reasons stay, a participant picked again keeps only its latest reason (its latest pick, last).
 */
export function mergeReasons(earlier: readonly SelectionReason[], added: readonly SelectionReason[]): SelectionReason[] {
  const again = new Set(added.map((r) => r.participantId));
  return [...earlier.filter((r) => !again.has(r.participantId)), ...added];
}

/** Optional part of a storage: without it, history lives in memory for the life of the process. */
export interface SelectionStorage {
  loadParticipantHistory(taskId: string): Promise<ParticipantHistory[]>;
  saveParticipantHistory(taskId: string, rows: readonly ParticipantHistory[]): Promise<void>;
  /** The selector's own state (Oort's ε and the round it belongs to), JSON; null before the first save. */
  loadSelectorState(taskId: string): Promise<unknown>;
  saveSelectorState(taskId: string, state: unknown): Promise<void>;
  /** Replaces the round's picks (a synchronous round selects once). */
  saveRoundSelection(taskId: string, round: number, selection: RoundSelection): Promise<void>;
  /** Adds picks to the round's record, merged by `mergeReasons` in one transaction. */
  addRoundSelection(taskId: string, round: number, selection: RoundSelection): Promise<void>;
  getRoundSelection(taskId: string, round: number): Promise<RoundSelection | null>;
}

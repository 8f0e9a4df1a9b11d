import type { ClientFailure, RoundRecord, TaskConfig, TaskStatus, TensorSpec } from '@chorus/core';
import type { AuditLog } from '../admin/audit-log.js';
import type { AuthStore } from '../auth/auth-store.js';
import type { ParticipantTokenStore } from '../auth/participant-token-store.js';
import type { PartnerKeyStore } from '../partners/partner-key-store.js';
import type { SelectionStorage } from './selection-records.js';

/**
 * Everything the server persists, behind one async interface: the only door to the database
 * (SQLite by default, PostgreSQL with a postgres:// URL). Weights travel as encoded payload bytes
 * (float32 codec): storage never interprets them.
 */

/**
 * Which model versions a commit keeps: the newest `keepLast`, every `keepEvery`-th (version 0
 * included), and always the version any still-collecting round was opened from.
 */
export interface VersionRetention {
  /** Newest versions kept; 0 keeps every version. @default 100 */
  readonly keepLast: number;
  /** Every k-th version is kept as well; 0 keeps none beyond the newest. @default 100 */
  readonly keepEvery: number;
}

export const DEFAULT_RETENTION: VersionRetention = { keepLast: 100, keepEvery: 100 };

export interface StoredTask {
  readonly id: string;
  readonly config: TaskConfig;
  /** Keras topology JSON of the model (what TensorFlow.js needs to rebuild it). */
  readonly topology: unknown;
  readonly layout: readonly TensorSpec[];
  readonly status: TaskStatus;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface VersionSummary {
  readonly taskId: string;
  readonly version: number;
  /** The round that produced it (0 = the initial model). */
  readonly round: number;
  readonly metrics: Readonly<Record<string, number>>;
  readonly byteLength: number;
  readonly createdAt: number;
}

export interface StoredVersion extends VersionSummary {
  /** The global weights as an encoded float32 payload. */
  readonly payload: Uint8Array;
  /** Strategy.exportState() taken with this version; null for stateless strategies. */
  readonly strategyState: Uint8Array | null;
}

export type { RoundState } from '@chorus/core';

/** A round as stored: the API's RoundRecord plus the keys that locate it. */
export interface StoredRound extends RoundRecord {
  readonly taskId: string;
  readonly roundId: string;
}

export interface StoredReceipt {
  readonly taskId: string;
  readonly round: number;
  readonly participantId: string;
  readonly bytes: number;
  readonly l2Norm: number | null;
  readonly accepted: boolean;
  readonly code: string | null;
  /** Rejection reason, or a note on an accepted update. */
  readonly reason: string | null;
  readonly at: number;
}

export interface StoredParticipant {
  readonly taskId: string;
  readonly id: string;
  readonly capabilities: unknown;
  readonly firstSeen: number;
  readonly lastSeen: number;
  readonly contributions: number;
}

export interface NewVersion {
  readonly taskId: string;
  readonly version: number;
  readonly round: number;
  readonly payload: Uint8Array;
  readonly strategyState: Uint8Array | null;
  readonly metrics: Readonly<Record<string, number>>;
  readonly createdAt: number;
  /**
   * The version's exact difference from version − 1, in the task's download codec (what
   * `GET …/versions/:v/delta` serves). Stored with the version so every server process, and this one
   * after a restart, serves it; null when there is none (version 0, or a codec without one).
   */
  readonly delta?: Uint8Array | null;
}

/** The closing facts of a round (committed or abandoned). */
export interface RoundClose {
  readonly taskId: string;
  readonly round: number;
  readonly closedAt: number;
  readonly participants: number;
  readonly failures: readonly ClientFailure[];
  readonly bytesUp: number;
  readonly bytesDown: number;
  readonly metrics: Readonly<Record<string, number>>;
  readonly receipts: readonly StoredReceipt[];
}

export interface Storage {
  /** Throws when the database cannot answer (readiness probe). */
  ping(): Promise<void>;
  /** The task and its version 0 in one transaction. Throws INVALID_CONFIG when the id exists. */
  createTask(task: Omit<StoredTask, 'updatedAt'>, initial: NewVersion): Promise<void>;
  getTask(id: string): Promise<StoredTask | null>;
  listTasks(): Promise<StoredTask[]>;
  setTaskStatus(id: string, status: TaskStatus, at: number): Promise<void>;

  latestVersion(taskId: string): Promise<StoredVersion | null>;
  getVersion(taskId: string, version: number): Promise<StoredVersion | null>;
  /** A version's stored difference from the version before (NewVersion.delta); null when none is kept. */
  getVersionDelta(taskId: string, version: number): Promise<Uint8Array | null>;
  /** Newest first. */
  listVersions(taskId: string, limit: number): Promise<VersionSummary[]>;
  /** Merges metrics (e.g. central evaluation) into a version and the round that produced it. */
  addVersionMetrics(taskId: string, version: number, metrics: Readonly<Record<string, number>>): Promise<void>;

  openRound(round: Omit<StoredRound, 'state' | 'closedAt' | 'participants' | 'failures' | 'bytesUp' | 'bytesDown' | 'metrics' | 'abandonReason'>): Promise<void>;
  /**
   * New version + round closed as committed + receipts + contribution counts, and the versions the
   * retention policy lets go deleted: one transaction.
   */
  commitRound(close: RoundClose, version: NewVersion, fence?: number): Promise<void>;
  /**
   * Raises the task's fence to `token` (a lease's fencing token, increasing with every new owner).
   * Throws NOT_TASK_OWNER when a newer token already holds it. A commit that names a fence
   * (`commitRound(…, fence)`) lands only while the task's fence still equals it, checked inside the
   * commit's transaction: a process that lost its lease can never commit a version.
   */
  raiseFence(taskId: string, token: number): Promise<void>;
  /** The task's fence now (0: never raised): where a lease's token counter must resume after Redis lost it. */
  fenceToken(taskId: string): Promise<number>;
  /** Round closed as abandoned with its reason; receipts kept. One transaction. */
  abandonRound(close: RoundClose, reason: string): Promise<void>;
  /** Marks every still-collecting round of the task abandoned (after a restart). Returns how many. */
  abandonOpenRounds(taskId: string, reason: string, at: number): Promise<number>;
  /** Newest first. */
  listRounds(taskId: string, limit: number): Promise<StoredRound[]>;
  lastRoundNumber(taskId: string): Promise<number>;
  listReceipts(taskId: string, round: number): Promise<StoredReceipt[]>;
  /** A receipt outside a round's close (e.g. an update that arrived after it closed). */
  addReceipt(receipt: StoredReceipt): Promise<void>;

  upsertParticipant(taskId: string, id: string, capabilities: unknown, at: number): Promise<void>;
  getParticipant(taskId: string, id: string): Promise<StoredParticipant | null>;
  /** Those of `ids` the task knows, in one query (a new coordinator looks up thousands at once); unknown ids are left out. */
  getParticipants(taskId: string, ids: readonly string[]): Promise<StoredParticipant[]>;

  /** Admin accounts, sessions and server settings. */
  readonly auth: AuthStore;
  /** Every admin action. */
  readonly audit: AuditLog;
  /** Partner keys, their visitor quota and usage. */
  readonly partnerKeys: PartnerKeyStore;
  /** Participant token generations (replay detection). */
  readonly participantTokens: ParticipantTokenStore;
  /** Client-selection history and picks; optional: a storage without them keeps history in memory. */
  loadParticipantHistory?: SelectionStorage['loadParticipantHistory'];
  saveParticipantHistory?: SelectionStorage['saveParticipantHistory'];
  loadSelectorState?: SelectionStorage['loadSelectorState'];
  saveSelectorState?: SelectionStorage['saveSelectorState'];
  saveRoundSelection?: SelectionStorage['saveRoundSelection'];
  addRoundSelection?: SelectionStorage['addRoundSelection'];
  getRoundSelection?: SelectionStorage['getRoundSelection'];

  close(): Promise<void>;
}

import type { ModelUpdated, TaskInfo } from '@chorus/core';
import type { SessionStatus } from '../session/session-events.js';
import type { ExampleCounts } from '../storage/example-store.js';
import type { ContributionSummary } from '../storage/contribution-log.js';
import type { BackendChoice } from '../worker/trainer-protocol.js';
import type { PauseReason } from './participation-policy.js';

/** Where the participant is, for the page's headline. */
export type ParticipantPhase = 'idle' | 'waiting-for-tab' | 'connecting' | 'preparing' | 'running' | 'paused' | 'stopped' | 'failed';

export interface RoundProgress {
  readonly roundId?: string;
  readonly round?: number;
  /** 0…1 per phase. */
  readonly download: number;
  readonly train: number;
  readonly upload: number;
  readonly epoch: number;
  readonly epochs: number;
  readonly batch: number;
  readonly batchesPerEpoch: number;
  /** A securely aggregated round: the participants whose updates only the server sees the sum of. */
  readonly secureParticipants?: number;
}

/** The server's answer to this device's latest update, as the page shows it. */
export interface LastReceipt {
  readonly round: number;
  readonly accepted: boolean;
  /** The receipt's words (why it was refused, or how it was aggregated). */
  readonly note?: string;
  /** Securely aggregated: the server saw only the sum of this many participants' updates. */
  readonly securelyAggregatedWith?: number;
}

/** Everything the participant page shows; immutable snapshots (fit for React's useSyncExternalStore). */
export interface ParticipantState {
  readonly phase: ParticipantPhase;
  readonly sessionStatus: SessionStatus;
  readonly pauseReasons: readonly PauseReason[];
  readonly task?: TaskInfo;
  readonly participantId?: string;
  readonly backend?: BackendChoice;
  /** Latest training throughput on this device, examples per second. */
  readonly samplesPerSecond: number;
  readonly examples: ExampleCounts;
  readonly progress: RoundProgress;
  readonly contributions: ContributionSummary;
  /** The latest global model the server announced, with its held-out metrics. */
  readonly globalModel?: ModelUpdated;
  readonly lastError?: { readonly code: string; readonly message: string; readonly at: number };
  /** The latest receipt for an update of this device. */
  readonly lastReceipt?: LastReceipt;
  /** Rounds answered from a saved update after a reload. */
  readonly resumedRounds: number;
  /**
   * A personalized task: this device's latest round scored on its own held-out examples, with the
   * shared model as downloaded and with its own model after training (0–1).
   */
  readonly personalAccuracy?: { readonly round: number; readonly shared: number; readonly personal: number; readonly heldOut: number };
}

export const EMPTY_PROGRESS: RoundProgress = { download: 0, train: 0, upload: 0, epoch: 0, epochs: 0, batch: 0, batchesPerEpoch: 0 };

export const INITIAL_STATE: ParticipantState = {
  phase: 'idle',
  sessionStatus: 'idle',
  pauseReasons: [],
  samplesPerSecond: 0,
  examples: { total: 0, bySource: { shard: 0, drawn: 0, imported: 0, partner: 0, typed: 0 }, byLabel: [] },
  progress: EMPTY_PROGRESS,
  contributions: { roundsJoined: 0, updatesAccepted: 0, bytesSent: 0 },
  resumedRounds: 0,
};

/** A minimal external store: replace-on-write snapshots and change listeners. */
export class StateStore<T> {
  private listeners = new Set<() => void>();
  constructor(private state: T) {}
  get = (): T => this.state;
  update(patch: Partial<T> | ((s: T) => Partial<T>)): void {
    const p = typeof patch === 'function' ? patch(this.state) : patch;
    this.state = { ...this.state, ...p };
    for (const l of [...this.listeners]) l();
  }
  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };
}

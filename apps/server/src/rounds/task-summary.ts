import type { Capabilities, TaskConfig, TaskStatus } from '@chorus/core';
import type { StoredTask } from '../storage/storage.js';

/** Where a task's round loop stands. Committed/abandoned are outcomes that lead back to 'waiting'. */
export type RoundPhase = 'idle' | 'waiting-for-clients' | 'collecting' | 'aggregating';

/** The round being collected (or closed, until its outcome is applied). */
export interface OpenRoundSummary {
  readonly round: number;
  readonly roundId: string;
  /** The version its updates are deltas from. */
  readonly version: number;
  readonly selected: number;
  readonly accepted: number;
  readonly startedAt: number;
  readonly deadline: number;
}

/**
 * The read model of one task: what routes, the admin feed, metrics, the simulator and tests see. A
 * snapshot, built on each call; the task runner alone writes the state it is built from.
 */
export interface TaskSummary {
  readonly id: string;
  readonly config: TaskConfig;
  readonly status: TaskStatus;
  readonly phase: RoundPhase;
  /** The global model's version: the latest committed one. */
  readonly version: number;
  /** The last round opened (0: none yet). */
  readonly lastRound: number;
  readonly currentRound: OpenRoundSummary | null;
  /** Connected participants. */
  readonly connected: number;
  /** Connected participants by the training backend they reported. */
  readonly byBackend: Readonly<Record<string, number>>;
  readonly createdAt: number;
}

/** The summary either runner (rounds or FedBuff) builds from its own state. */
export function buildTaskSummary(
  stored: StoredTask,
  state: { readonly status: TaskStatus; readonly phase: RoundPhase; readonly version: number; readonly lastRound: number; readonly currentRound: OpenRoundSummary | null },
  members: Iterable<{ readonly capabilities: Capabilities }>,
): TaskSummary {
  const byBackend: Record<string, number> = {};
  let connected = 0;
  for (const m of members) {
    byBackend[m.capabilities.backend] = (byBackend[m.capabilities.backend] ?? 0) + 1;
    connected++;
  }
  return { id: stored.id, config: stored.config, ...state, connected, byBackend, createdAt: stored.createdAt };
}

/**
 * What closing a round came to. The round closer computes it; the task runner, the only writer of a
 * task's round state, applies it (Flower's `fit_round` returns a result that `fit` assigns).
 */
export type RoundOutcome = RoundCommitted | RoundAbandoned;

/** The checkpoint landed: `version` is now the task's global model. */
export interface RoundCommitted {
  readonly kind: 'committed';
  readonly round: number;
  readonly version: number;
  readonly global: Float32Array;
  /** The strategy's state as checkpointed with the version (server optimizer moments, DP accountant). */
  readonly strategyState: Uint8Array | null;
  /** Round metrics as committed with the version (central evaluation comes later). */
  readonly metrics: Readonly<Record<string, number>>;
  /**
   * The checkpoint landed after the watchdog had abandoned its round: the runner adopts the version
   * only if it directly follows the one it holds, and abandons any round opened meanwhile.
   */
  readonly late: boolean;
}

/** The round ended without a new version; the last good version stays. */
export interface RoundAbandoned {
  readonly kind: 'abandoned';
  readonly round: number;
  readonly reason: string;
  /** Open the next round after the retry delay (false: operator pause/stop, shutdown). */
  readonly retry: boolean;
}

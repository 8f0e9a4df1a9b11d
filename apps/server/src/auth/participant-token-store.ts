/** What the server remembers about one participant's token: which generation is current. */
export interface TokenGeneration {
  /** The generation the next join must present. */
  readonly generation: number;
  /** The connection that was issued the current generation (it may retry a join whose ack it lost). */
  readonly connectionId: string | null;
  readonly revoked: boolean;
}

/**
 * Participant token generations, persisted (part of `Storage`: `storage.participantTokens`) so that
 * a restart does not make an old, replayed token valid again.
 */
export interface ParticipantTokenStore {
  get(taskId: string, participantId: string): Promise<TokenGeneration | null>;
  /**
   * Moves the participant from generation `from` (null: no row yet) to `from + 1`, recording the
   * connection. Compare-and-set: false when another join got there first (the token was used twice).
   */
  advance(taskId: string, participantId: string, from: number | null, connectionId: string): Promise<boolean>;
  /** After a replay: no token of this participant works any more; its browser joins afresh. */
  revoke(taskId: string, participantId: string, at: number): Promise<void>;
}

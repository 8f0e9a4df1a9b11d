import type { ParticipantSession } from '@chorus/client';

/** Per-round counts gathered from what each simulated participant saw. */
export interface RoundTally {
  invited: number;
  accepted: number;
  failed: number;
}

/**
 * Listens to every session and tallies, per round number, how many clients were invited, how
 * many updates the server accepted and how many failed (rejected, cancelled, errored).
 */
export function createRoundTracker(sessions: readonly ParticipantSession[]) {
  const rounds = new Map<number, RoundTally>();
  const tally = (round: number): RoundTally => {
    let t = rounds.get(round);
    if (!t) {
      t = { invited: 0, accepted: 0, failed: 0 };
      rounds.set(round, t);
    }
    return t;
  };
  const offs = sessions.flatMap((s) => [
    s.on('roundJoined', (invite) => void tally(invite.round).invited++),
    s.on('receipt', (r) => void (r.receipt.accepted ? tally(r.round).accepted++ : tally(r.round).failed++)),
    s.on('roundFailed', (f) => void tally(f.round).failed++),
  ]);
  return {
    get(round: number): RoundTally {
      return { ...tally(round) };
    },
    /** Total payload bytes moved by all sessions so far. */
    bytes(): { up: number; down: number } {
      let up = 0;
      let down = 0;
      for (const s of sessions) {
        up += s.stats.bytesUp;
        down += s.stats.bytesDown;
      }
      return { up, down };
    },
    dispose(): void {
      for (const off of offs) off();
    },
  };
}

/** A one-consumer async queue with a timeout, to turn pushed events into an awaited sequence. */
export function createInbox<T>() {
  const items: T[] = [];
  let waiter: ((item: T) => void) | undefined;
  return {
    push(item: T): void {
      if (waiter) {
        const w = waiter;
        waiter = undefined;
        w(item);
      } else items.push(item);
    },
    next(timeoutMs: number, onTimeout: () => Error): Promise<T> {
      if (items.length > 0) return Promise.resolve(items.shift()!);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiter = undefined;
          reject(onTimeout());
        }, timeoutMs);
        waiter = (item) => {
          clearTimeout(timer);
          resolve(item);
        };
      });
    },
  };
}

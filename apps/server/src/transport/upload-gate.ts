import { ChorusError } from '@chorus/core';

/** What the gate asks the round engine and the assembler before letting an upload begin. */
export interface UploadGateHost {
  /** Uploads the round may run at once (target − accepted while it collects; unlimited otherwise). */
  openSlots(taskId: string, roundId: string): number;
  /** Whether `bytes` more fit in the memory budget for uploads in progress. */
  fits(bytes: number): boolean;
  /**
   * How many of this process's uploads for the round are running (on every change). Several
   * processes: the round's coordinator counts them against what the others may run at once.
   */
  inFlightChanged?(taskId: string, roundId: string, count: number): void;
  /**
   * Called every REFRESH_MS while begins wait for the round, before they are let in again: a round
   * coordinated on another process asks it afresh how many uploads may run here (slots freed
   * elsewhere send nothing to this process).
   */
  refresh?(taskId: string, roundId: string): Promise<void>;
}

/** How often waiting begins are looked at again when nothing here changed (another process's uploads may have). */
export const REFRESH_MS = 500;

interface Waiter {
  readonly connectionId: string;
  readonly bytes: number;
  readonly resolve: () => void;
  readonly reject: (e: ChorusError) => void;
  readonly timer: NodeJS.Timeout;
}

interface RoundUploads {
  readonly taskId: string;
  readonly inFlight: Set<string>;
  readonly waiting: Waiter[];
  /** Looks at the waiters again every REFRESH_MS while there are any. */
  refresher?: NodeJS.Timeout;
}

/**
 * Back-pressure for update uploads, per round. A round lets as many uploads run at once as it still
 * needs updates; over-selected participants beyond that wait for their `update:begin` answer instead
 * of sending bytes. When an upload fails a waiter takes its place; when the round closes every
 * waiter is told ROUND_CLOSED at once (the round:cancel the engine sends), so the over-selected send
 * nothing that would be refused. Under load this was ~60 MB per 1,000-update round. The same wait
 * covers the assembler's memory budget. A waiter that outlasts `maxWaitMs` gets UNAVAILABLE, which
 * the client retries with backoff.
 */
export class UploadGate {
  private readonly rounds = new Map<string, RoundUploads>();

  constructor(
    private readonly host: UploadGateHost,
    /** Longest a begin waits for a slot, below the client's ack timeout (15 s). @default 10_000 */
    private readonly maxWaitMs = 10_000,
  ) {}

  /** Resolves when this connection may upload `bytes` for the round; a retried begin keeps its slot. */
  admit(connectionId: string, taskId: string, roundId: string, bytes: number): Promise<void> {
    const r = this.round(taskId, roundId);
    if (r.inFlight.has(connectionId) || (r.waiting.length === 0 && this.hasRoom(r, roundId, bytes))) {
      this.start(r, roundId, connectionId);
      return Promise.resolve();
    }
    this.drop(r, connectionId, new ChorusError('UNAVAILABLE', 'update:begin: replaced by a newer begin from the same connection'));
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.drop(r, connectionId, new ChorusError('UNAVAILABLE', `update:begin: the server is taking all the updates it can for round "${roundId}"; try again in a moment`));
      }, this.maxWaitMs);
      timer.unref();
      r.waiting.push({ connectionId, bytes, resolve, reject, timer });
      this.watch(r, roundId);
    });
  }

  /** The connection's upload for the round ended (accepted, refused, cut short): its slot goes to a waiter. */
  release(connectionId: string, roundId: string): void {
    const r = this.rounds.get(roundId);
    if (r?.inFlight.delete(connectionId)) this.host.inFlightChanged?.(r.taskId, roundId, r.inFlight.size);
    // Every round: the memory budget it frees is shared by all of them.
    for (const id of [...this.rounds.keys()]) this.pump(id);
  }

  /** The round is over for this connection (round:cancel): a waiting begin is answered ROUND_CLOSED now. */
  roundOver(connectionId: string, roundId: string, reason: string): void {
    const r = this.rounds.get(roundId);
    if (!r) return;
    this.drop(r, connectionId, roundClosedError(roundId, reason));
    this.pump(roundId);
  }

  /** A closed connection: its slots and waits everywhere are freed. */
  dropConnection(connectionId: string): void {
    for (const [roundId, r] of this.rounds) {
      if (r.inFlight.delete(connectionId)) this.host.inFlightChanged?.(r.taskId, roundId, r.inFlight.size);
      this.drop(r, connectionId, new ChorusError('UNAVAILABLE', 'the connection closed'));
      this.pump(roundId);
    }
  }

  /**
   * The round is over (its coordinator, on another process, said so): every begin waiting for it is
   * answered ROUND_CLOSED. Several processes: the coordinator's round:cancel reaches a socket here
   * through the Redis adapter, past this process's transport, so the bus carries this instead.
   */
  roundClosed(roundId: string, reason: string): void {
    const r = this.rounds.get(roundId);
    if (!r) return;
    const error = roundClosedError(roundId, reason);
    for (const w of r.waiting.splice(0)) {
      clearTimeout(w.timer);
      w.reject(error);
    }
    this.pump(roundId);
  }

  /** Lets waiters in while there is room; forgets a round with nobody left in it. */
  private pump(roundId: string): void {
    const r = this.rounds.get(roundId);
    if (!r) return;
    while (r.waiting.length > 0 && this.hasRoom(r, roundId, r.waiting[0]!.bytes)) {
      const w = r.waiting.shift()!;
      clearTimeout(w.timer);
      this.start(r, roundId, w.connectionId);
      w.resolve();
    }
    this.watch(r, roundId);
    if (r.inFlight.size === 0 && r.waiting.length === 0) this.rounds.delete(roundId);
  }

  private unwatch(r: RoundUploads): void {
    clearInterval(r.refresher);
    r.refresher = undefined;
  }

  private start(r: RoundUploads, roundId: string, connectionId: string): void {
    if (r.inFlight.has(connectionId)) return;
    r.inFlight.add(connectionId);
    this.host.inFlightChanged?.(r.taskId, roundId, r.inFlight.size);
  }

  /** Keeps the refresher running exactly while begins wait for the round. */
  private watch(r: RoundUploads, roundId: string): void {
    if (r.waiting.length === 0) return this.unwatch(r);
    if (r.refresher) return;
    let busy = false;
    r.refresher = setInterval(() => {
      if (busy) return;
      busy = true;
      // A failed refresh keeps the last answer; the waiters' own maxWaitMs still bounds their wait.
      void (this.host.refresh?.(r.taskId, roundId) ?? Promise.resolve())
        .catch(() => undefined)
        .finally(() => {
          busy = false;
          this.pump(roundId);
        });
    }, REFRESH_MS);
    r.refresher.unref();
  }

  private hasRoom(r: RoundUploads, roundId: string, bytes: number): boolean {
    // With nothing in flight a lone upload always fits: the budget must never stall a round outright.
    return r.inFlight.size < this.host.openSlots(r.taskId, roundId) && (r.inFlight.size === 0 || this.host.fits(bytes));
  }

  private drop(r: RoundUploads, connectionId: string, error: ChorusError): void {
    const i = r.waiting.findIndex((w) => w.connectionId === connectionId);
    if (i < 0) return;
    const [w] = r.waiting.splice(i, 1);
    clearTimeout(w!.timer);
    w!.reject(error);
    if (r.waiting.length === 0) this.unwatch(r);
  }

  private round(taskId: string, roundId: string): RoundUploads {
    let r = this.rounds.get(roundId);
    if (!r) {
      r = { taskId, inFlight: new Set(), waiting: [] };
      this.rounds.set(roundId, r);
    }
    return r;
  }

  /** Uploads running and waiting for a round (tests, metrics). */
  state(roundId: string): { inFlight: number; waiting: number } {
    const r = this.rounds.get(roundId);
    return { inFlight: r?.inFlight.size ?? 0, waiting: r?.waiting.length ?? 0 };
  }
}

const roundClosedError = (roundId: string, reason: string): ChorusError => new ChorusError('ROUND_CLOSED', `round "${roundId}" is over: ${reason}`);
